// RedoShipper: the compute's ib_logfile0. mariadbd's writes to the log land in a local file (the
// "shadow" log, which holds nothing that must survive), and every complete mini-transaction a
// write adds is sent to the page server at once, without waiting for its answer; an fsync of
// the log sends whatever is left and returns only once the server has answered that everything
// sent is durable. So a commit that returned to a client is on the page server, and the server
// writes a flush's redo while mariadbd is still on its way from its write to its fsync.
//
// Redo travels on one WalSession stream (proto WalSession: each message answered once durable,
// in order; messages sent before the answers arrive share the server's fdatasyncs). "Sent" and
// "durable" differ only between a write and the fsync after it. A session that breaks is
// replaced at the next fsync, which sends again everything not answered.
//
// The rules:
//   - What is shipped: the mini-transactions from the server's LSN to the end of the valid log
//     as the shadow file holds it. MariaDB writes whole blocks, ending its last complete
//     mini-transaction with a 0x00 byte and leaving stale bytes after it (spec 1.6); the scan
//     stops at that byte. Writes and scans exclude each other (bytes_mu_), so a scan never sees
//     half a write.
//   - The tail of a write's last block is not always MariaDB's. When its log buffer holds less
//     than a block, MariaDB 10.11 writes that buffer while other threads go on appending to it,
//     so the bytes past its write position are a race: the 0x00 it put there, new
//     mini-transactions being copied in, or stale ones from the buffer's earlier use, which can
//     be CRC-valid and start exactly where real data ends. (ib_logfile0 is written through the
//     kernel's page cache, as on a local file system, so the bytes are taken during the write
//     call: the same race MariaDB's own crash recovery is exposed to, no wider.) Hence:
//       * confirmed_lsn: bytes below the start of MariaDB's latest write are final (a write
//         starts at the block holding the previous write position). Reads and aux-file
//         versions use it, never a possibly stale tail.
//       * A later write that changes bytes already sent shows that they were stale: the
//         shipper waits until everything sent is stored, drops them on the server (TruncateWal
//         to the last sent mini-transaction boundary before the change), and sends MariaDB's
//         bytes instead. If the server cannot
//         drop them (already in a layer), the shipper fails: every later Flush returns that
//         error and mariadbd stops.
//   - The server refusing redo (another compute took the writer lease, a corrupt stream) fails
//     the shipper the same way; mariadbd gets EIO on the fsync and stops, with nothing that the
//     server acknowledged lost. An unreachable server is waited for, up to `patience`, asking
//     it where it stands before sending again (a shipment it stored before the connection
//     broke is not sent twice).
//
// Thread-safety: all methods may be called from any thread. Locks, in order: ship_mu_ (the
// session, one write or flush at a time) before bytes_mu_ (the shadow log's bytes and what of
// them was sent) before fail_mu_ (a leaf).
#pragma once

#include <algorithm>
#include <atomic>
#include <deque>
#include <optional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/page_server_client.h"
#include "common/types.h"
#include "wal/log_file.h"

namespace pageserver::compute {

struct RedoShipperStats {
  uint64_t flushes = 0;     // shipments that sent redo
  uint64_t bytes = 0;       // redo shipped
  uint64_t retries = 0;     // sends repeated after the server was unreachable
  uint64_t stale_tails = 0;  // shipped tails found stale by a later write, dropped on the server
  uint64_t flush_micros = 0;  // time spent in shipping flushes (scan, send, acknowledgement)
};

class RedoShipper {
 public:
  // `log_path`: the shadow log, already written (WriteStartingLog); `shipped`: the server's LSN,
  // a mini-transaction boundary of that log.
  static absl::StatusOr<std::unique_ptr<RedoShipper>> Open(client::PageServerClient& client,
                                                           const std::string& log_path,
                                                           Lsn shipped, absl::Duration patience);

  ~RedoShipper();
  RedoShipper(const RedoShipper&) = delete;
  RedoShipper& operator=(const RedoShipper&) = delete;

  // mariadbd's write of `data` at file offset `offset`.
  absl::Status Write(uint64_t offset, std::span<const uint8_t> data);
  // mariadbd's read: bytes of the shadow file (short at its end).
  absl::StatusOr<size_t> Read(uint64_t offset, std::span<uint8_t> out);
  // Ships what was written and not yet shipped; returns the server's durable LSN.
  absl::StatusOr<Lsn> Flush();
  // Makes sure the server holds redo up to `lsn` (shipping what was written); FailedPrecondition
  // when the log holds no complete mini-transaction ending there or later.
  absl::Status EnsureDurable(Lsn lsn);

  // The LSN up to which the server has acknowledged this compute's redo.
  Lsn durable_lsn() const { return Lsn(durable_.load(std::memory_order_acquire)); }
  // The LSN up to which the acknowledged redo is certainly MariaDB's (see above).
  Lsn confirmed_lsn() const {
    return Lsn(std::min(confirmed_.load(std::memory_order_acquire),
                        durable_.load(std::memory_order_acquire)));
  }
  RedoShipperStats stats() const;

  // The LSN of a change to an aux file made now: durable_lsn. `hold` keeps a stale tail from
  // being dropped until the version is stored, so that the server's lowering of the versions
  // above the cut finds it.
  struct AuxStamp {
    Lsn lsn;
    std::shared_lock<std::shared_mutex> hold;
  };
  AuxStamp StampAuxChange();

 private:
  RedoShipper(client::PageServerClient& client, wal::LogFile log, int fd, Lsn shipped,
              absl::Duration patience);
  // Flush with ship_mu_ held: sends what is unsent and waits for every answer.
  absl::StatusOr<Lsn> FlushLocked();
  // After a write: sends what it completed, opening a session if there is none; a failure only
  // drops the session (the next Flush sends again, with patience). ship_mu_ held.
  void SendEagerly();
  // Sends the complete mini-transactions after sent_ on session_. ship_mu_ held.
  absl::Status SendUnsent();
  // A new session starts from what the server acknowledged. ship_mu_ held.
  void ResendFromDurable();
  // Where a write at `offset` starts, as an LSN near the sent one; nullopt when it starts
  // past the sent LSN's block (nothing sent is rewritten). bytes_mu_ held.
  std::optional<Lsn> RewriteStart(uint64_t offset) const;
  // The first shipped LSN the write changes, if any. bytes_mu_ held.
  absl::StatusOr<std::optional<Lsn>> FirstChangedShippedByte(uint64_t offset,
                                                             std::span<const uint8_t> data);
  // Drops the shipped redo from the last boundary at or below `changed`. ship_mu_ and
  // bytes_mu_ held.
  absl::Status DropStaleTail(Lsn changed);
  // Advances confirmed_ for a write at `offset`. bytes_mu_ held.
  void Confirm(uint64_t offset);
  // The first failure sticks; returns it.
  absl::Status Fail(absl::Status status);
  absl::Status failure() const;

  client::PageServerClient& client_;
  const absl::Duration patience_;

  std::mutex ship_mu_;  // one shipment at a time (Flush); guards session_
  // The WAL stream to the server, opened on first use and again after it broke.
  std::unique_ptr<client::WalSession> session_;

  mutable std::mutex fail_mu_;  // guards failed_
  absl::Status failed_;

  std::atomic<uint64_t> flushes_{0}, bytes_shipped_{0}, retries_{0}, stale_tails_{0},
      flush_micros_{0};

  std::mutex bytes_mu_;  // the shadow file's bytes (a write and a scan never overlap), and:
  wal::LogFile log_;
  int fd_;
  // Mini-transaction ends sent lately, ascending: where a stale tail is cut.
  std::deque<Lsn> shipped_ends_;
  Lsn sent_;  // the end of what was sent on the session (>= durable_)
  // A write (or a reset of sent_) since the last scan: an fsync after a write that sent
  // everything skips the scan.
  bool unscanned_ = true;

  std::atomic<uint64_t> durable_;
  std::atomic<uint64_t> confirmed_;
  // Shared: an aux version being stored at its stamp; exclusive: DropStaleTail (after ship_mu_
  // and bytes_mu_; holders of it share take no other lock of the shipper).
  std::shared_mutex aux_stamp_mu_;
};

}  // namespace pageserver::compute
