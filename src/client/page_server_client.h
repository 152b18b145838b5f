// PageServerClient: the C++ client of the page server's gRPC data plane (pageserver.PageServer,
// proto/page_service.proto), for compute nodes and tools.
//
// Connections: `Options::channels` gRPC channels to one address, each with its own TCP
// connection; unary calls take them in turn (round-robin), and each retry takes the next one.
// Channels connect lazily: creating a client never waits for the server.
//
// Deadlines and retries (rule in client/retry.h): a unary call, StreamWAL included, has
// `Options::deadline` in all, for all of its attempts and the waits between them. A failure
// with UNAVAILABLE is retried up to `max_retries` times after an exponential backoff with
// jitter, as long as the wait ends before the deadline; any other failure is returned at once.
// The streaming sessions (PageStream, ImportWriter) are never retried and have no deadline:
// they live as long as their owner keeps them.
//
// Answers are checked before they are returned: a page whose size is not the page size, an
// answer about another page than the one asked, a batch answer with a different count, are
// DataLoss errors naming the page and the LSN, never a crash. gRPC errors keep their code and
// message (client/grpc_status.h).
//
// Thread-safety: PageServerClient may be used from any number of threads at once. A
// PageStream allows one thread sending while another receives; an ImportWriter belongs to one
// thread. Both must be destroyed before the client that opened them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "auth/tls.h"
#include "common/types.h"

namespace pageserver::client {

inline constexpr uint32_t kDefaultPageSize = 16384;

struct Options {
  std::string address;  // "host:port"
  int channels = 4;
  absl::Duration deadline = absl::Seconds(30);
  int max_retries = 5;
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  // Every page the server returns must have this size.
  uint32_t page_size = kDefaultPageSize;
  // The timeline every call is on (gRPC metadata `timeline`); empty: the server's main.
  std::string timeline;
  // A token every call carries ("authorization: Bearer", auth/token.h); empty: none.
  std::string token;
  // TLS (auth/tls.h): with a CA, the channels are TLS, the server's certificate checked against
  // it (and its name against the address's host); a certificate and key for mTLS. Empty:
  // plaintext.
  auth::TlsFiles tls;
};

struct PageRequest {
  PageId id;
  Lsn lsn;  // Lsn(0): the latest
};

struct Page {
  PageId id;
  Lsn lsn;  // the LSN the page was read at
  // The page as MariaDB writes it, `page_size` bytes (a freed page included: its last image,
  // stamped and checksummed).
  std::vector<uint8_t> data;
  bool freed = false;  // free at `lsn`: `data` is the last image before it was freed
  uint32_t records_applied = 0;
};

// One answer of a batch or a stream: the page, or the error the server gave for that page.
using PageOrError = absl::StatusOr<Page>;

struct WalChunkRef {
  Lsn start;
  std::span<const uint8_t> bytes;
};

// What a follower of a live log reports to the server with its redo.
struct SourcePosition {
  Lsn end_lsn;             // end of the valid log the sender sees in its source
  double lag_seconds = 0;  // how long its oldest unacknowledged byte has waited
};

// An aux file version (content empty in a listing).
struct AuxFile {
  std::string path;
  Lsn lsn;  // the version's
  uint64_t size = 0;
  std::vector<uint8_t> content;
};

// AcquireWriter's answer.
struct WriterGrant {
  uint64_t generation = 0;
  Lsn last_record_lsn;  // where the new writer's redo continues
};

// StreamWAL's acknowledgement.
struct WalAck {
  Lsn last_record_lsn;  // end of the last complete mini-transaction stored (durable)
  Lsn received_lsn;     // end of the bytes received, incomplete tail included
  uint64_t bytes_stored = 0;
};

struct Tablespace {
  SpaceId space;
  std::string path;  // relative to the datadir, "test/t1.ibd"
  uint32_t flags = 0;
  uint32_t pages = 0;
};

struct TablespaceList {
  Lsn lsn;
  std::vector<Tablespace> tablespaces;
};

struct ServerStatus {
  Lsn base_lsn;
  Lsn last_record_lsn;
  Lsn durable_lsn;
  Lsn received_lsn;
  Lsn disk_consistent_lsn;
  uint32_t image_layers = 0;
  uint32_t delta_layers = 0;
  uint64_t in_memory_bytes = 0;
  uint32_t tablespaces = 0;
  uint64_t writer_generation = 0;  // 0: no writer lease was ever granted
  std::string writer_holder;
  Lsn remote_consistent_lsn;  // 0: no remote storage, or nothing uploaded yet
  uint64_t wal_syncs = 0;
  Lsn gc_cutoff_lsn;  // reads below are refused (0: nothing garbage-collected)
};

struct ImportCatalog {
  Lsn lsn;  // the datadir's checkpoint LSN
  uint32_t page_size = kDefaultPageSize;
  std::vector<Tablespace> tablespaces;
};

struct ImportPage {
  PageId id;
  std::span<const uint8_t> data;  // page_size bytes
};

struct ImportResult {
  Lsn lsn;
  uint64_t pages = 0;
};

// A StreamGetPages session: requests are answered one each, in order, so that many can be in
// flight on one stream.
class PageStream {
 public:
  virtual ~PageStream() = default;
  // Sends one request. An error means the stream is broken (Finish says why).
  virtual absl::Status Send(const PageRequest& request) = 0;
  // The answer to the oldest request not yet received. The outer status is the stream's
  // failure (no more answers will come); the inner one the server's answer for that page.
  virtual absl::StatusOr<PageOrError> Receive() = 0;
  // Ends the stream: no more requests; answers not yet received are dropped. The call's status.
  virtual absl::Status Finish() = 0;
};

// An Import session: the catalog went first (when the session was opened), pages follow in
// ascending (space, page) order, checked here.
class ImportWriter {
 public:
  virtual ~ImportWriter() = default;
  // Sends the pages as one message. An error means the import failed; Finish says why.
  virtual absl::Status Write(std::span<const ImportPage> pages) = 0;
  // Ends the import; the server stores the base and answers.
  virtual absl::StatusOr<ImportResult> Finish() = 0;
};

// A WalSession (proto WalSession): one stream for a writer's redo. Send sends bytes (in messages
// of at most 1 MiB) without waiting; the server answers every message, in order, once it is
// durable, and AwaitAll waits for the answers to everything sent. A writer may send its next
// bytes before the previous ones are answered: the server writes them meanwhile, and syncs them
// together (group commit). Never retried: after an error the session is over (the error says
// why), and the writer opens a new one and sends again what was not answered. Belongs to one
// thread at a time.
class WalSession {
 public:
  virtual ~WalSession() = default;
  virtual absl::Status Send(Lsn start, std::span<const uint8_t> bytes) = 0;
  // The answer to the last message sent (an empty one, "where do you stand", when every message
  // was answered already).
  virtual absl::StatusOr<WalAck> AwaitAll() = 0;
  // Messages sent and not answered yet.
  virtual size_t unanswered() const = 0;
  // Send, then AwaitAll.
  absl::StatusOr<WalAck> Flush(Lsn start, std::span<const uint8_t> bytes) {
    if (absl::Status sent = Send(start, bytes); !sent.ok()) return sent;
    return AwaitAll();
  }
};

class PageServerClient {
 public:
  // InvalidArgument for unusable options (empty address, no channel, negative durations).
  static absl::StatusOr<std::unique_ptr<PageServerClient>> Create(const Options& options);
  ~PageServerClient();
  PageServerClient(const PageServerClient&) = delete;
  PageServerClient& operator=(const PageServerClient&) = delete;

  const Options& options() const { return options_; }

  absl::StatusOr<Page> GetPage(PageId id, Lsn lsn);
  // The outer status is the call's; each answer carries its page's own error.
  absl::StatusOr<std::vector<PageOrError>> GetPages(std::span<const PageRequest> requests);
  absl::StatusOr<std::unique_ptr<PageStream>> OpenPageStream();

  // Sends `bytes`, whose first byte is at `start`, in chunks of at most `chunk_bytes`.
  absl::StatusOr<WalAck> StreamWal(Lsn start, std::span<const uint8_t> bytes,
                                   size_t chunk_bytes = size_t{1} << 20);
  // A WalSession carrying this client's writer generation (AcquireWriter first).
  absl::StatusOr<std::unique_ptr<WalSession>> OpenWalSession();

  // Sends the chunks as given, one stream message each, in one call.
  // `source`: what a follower of a live log reports with each chunk (WalChunk.source_*); with
  // no chunks, one empty chunk carries it (a heartbeat).
  absl::StatusOr<WalAck> StreamWal(std::span<const WalChunkRef> chunks,
                                   std::optional<SourcePosition> source = std::nullopt);

  absl::StatusOr<uint32_t> GetTablespaceSize(SpaceId space, Lsn lsn);
  absl::StatusOr<TablespaceList> ListTablespaces(Lsn lsn);
  absl::StatusOr<ServerStatus> GetStatus();
  // The server's last_record_lsn.
  absl::StatusOr<Lsn> Ping();
  // Drops the server's stored redo after `lsn` (see proto TruncateWal); returns its new LSN.
  absl::StatusOr<Lsn> TruncateWal(Lsn lsn);
  // Takes the database's writer lease for `holder`; this client's StreamWal calls carry the
  // new generation from then on, and those of any earlier holder are refused by the server.
  absl::StatusOr<WriterGrant> AcquireWriter(const std::string& holder);
  uint64_t writer_generation() const { return writer_generation_.load(); }

  // Aux files (proto PutAuxFile / GetAuxFile / ListAuxFiles): whole files versioned by LSN.
  absl::Status PutAuxFile(const std::string& path, Lsn lsn, std::span<const uint8_t> content);
  absl::Status DeleteAuxFile(const std::string& path, Lsn lsn);
  absl::StatusOr<AuxFile> GetAuxFile(const std::string& path, Lsn lsn);
  // The files that exist at `lsn` (0: the latest), without their content.
  absl::StatusOr<std::vector<AuxFile>> ListAuxFiles(Lsn lsn);

  // Opens an Import session and sends `catalog` as its first message.
  absl::StatusOr<std::unique_ptr<ImportWriter>> Import(const ImportCatalog& catalog);

 private:
  struct Channel;
  explicit PageServerClient(const Options& options);
  Channel& NextChannel();
  absl::Status PutAuxVersion(const std::string& path, Lsn lsn, std::span<const uint8_t> content,
                             bool deleted);
  // Runs `attempt` until it succeeds, fails with a code that is not retried, or the retries or
  // the deadline run out.
  template <typename Attempt>
  absl::Status CallWithRetries(Attempt&& attempt);

  Options options_;
  std::vector<std::unique_ptr<Channel>> channels_;
  std::atomic<uint64_t> next_channel_{0};
  std::atomic<uint64_t> writer_generation_{0};  // 0: no lease (see AcquireWriter)
};

}  // namespace pageserver::client
