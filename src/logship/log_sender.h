// Sending redo from an ib_logfile0 to a page server: shared by `pagectl push` (a log file, once)
// and `pagectl follow` (a live MariaDB's log, continuously).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "client/page_server_client.h"
#include "common/types.h"
#include "wal/log_file.h"

namespace pageserver::logship {

// The redo to send: [from, to) of a log, both mini-transaction boundaries.
struct PushRange {
  Lsn from;
  Lsn to;
  Lsn log_end;  // end of the valid log (to, unless a --to-lsn limit cut it short)
};

// What of `log` follows `server_lsn`: checks that the server's LSN is a mini-transaction boundary
// still held by the log (refusing, naming both LSNs, when the redo between is gone), up to the
// end of the valid log or the last mini-transaction ending at or before `to_lsn`.
absl::StatusOr<PushRange> FindRange(const wal::LogFile& log, Lsn server_lsn,
                                    std::optional<Lsn> to_lsn);

struct SendOptions {
  uint64_t max_chunk = 1 << 20;    // bytes of a stream message (at most)
  std::optional<uint64_t> seed;    // random chunk sizes in [1, max_chunk]
  uint64_t batch_bytes = 8 << 20;  // bytes of one StreamWAL call (at most)
  bool print_acks = false;         // "acked LSN" lines on stdout
};

// One mini-transaction as a scan of the log saw it.
struct MtrMark {
  Lsn end_lsn;
  uint32_t crc;
};

// Streams log ranges in StreamWAL calls of at most batch_bytes, each an acknowledgement. Before
// sending, the bytes read are decoded again with the file's geometry, and must decode to `to`
// exactly and to the mini-transactions the caller's scan saw (`expected`, when given). A live
// MariaDB may have overwritten the bytes between the scan and the read, or the scan may have
// read a block MariaDB was rewriting (a torn read can join a finished mini-transaction to stale
// bytes that happen to frame an old one: MariaDB writes stale buffer contents after the end of
// its log). Either way the read is refused here, not sent (Aborted: a reader racing the writer;
// the caller may look again).
class LogSender {
 public:
  LogSender(client::PageServerClient& client, SendOptions options);
  // Sends [from, to); returns the last acknowledged LSN (== to on success).
  absl::StatusOr<Lsn> Send(const wal::LogFile& log, Lsn from, Lsn to,
                           std::optional<client::SourcePosition> source = std::nullopt,
                           std::span<const MtrMark> expected = {});
  uint64_t bytes_sent() const { return sent_; }
  uint64_t calls() const { return calls_; }

 private:
  client::PageServerClient& client_;
  SendOptions options_;
  std::mt19937_64 rng_;
  std::vector<uint8_t> buffer_;
  uint64_t sent_ = 0;
  uint64_t calls_ = 0;
};

}  // namespace pageserver::logship
