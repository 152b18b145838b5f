// LogFollower: one step at a time, streams the new redo of a running mariadbd's ib_logfile0 to a
// page server. `pagectl follow` drives it in a loop and shows its progress; tests drive it over
// synthetic log files.
//
// The rules (docs/follow.md):
//   - Read only what MariaDB has finished writing. A step's bound is the larger of the LSN
//     MariaDB reports as flushed (LogPositionSource; remembered while mariadbd is down: flushed
//     bytes stay) and the end of the latest checkpoint's FILE_CHECKPOINT mini-transaction (the
//     checkpoint header is written only after that mini-transaction is durable, so that bound
//     needs no socket, but it moves only at checkpoints). Bytes below the bound are final: a
//     rewrite of their block repeats them. Past it the file may hold stale mini-transactions
//     with valid CRCs, or a torn mix of old and new bytes.
//   - The position P is the server's last_record_lsn. It must be a mini-transaction boundary of
//     the log as it decodes now. This is checked when the follower starts and whenever the log
//     does not continue from P although MariaDB has written past it; a P inside a
//     mini-transaction means the server holds redo MariaDB did not write (an error naming the
//     LSNs; `pagectl truncate-wal` drops it).
//   - MariaDB keeps [checkpoint, end) and overwrites older LSNs once its log wraps. "Overwritten"
//     is reported only when P is below the checkpoint and the writer is a whole log capacity
//     past P.
//   - A log rebuilt with a new first LSN F (a resize) continues only if P == F.
//   - The bytes read for sending are decoded again and must be the mini-transactions the scan
//     saw (LogSender); a header or checkpoint block read mid-write is DataLoss at open. Both are
//     a reader racing the writer: Aborted, the caller steps again.
//
// Thread-safety: none.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/page_server_client.h"
#include "common/types.h"
#include "logship/log_sender.h"
#include "logship/mariadb_log_position.h"
#include "wal/log_file.h"

namespace pageserver::logship {

struct FollowStep {
  bool log_missing = false;  // ib_logfile0 is absent (mariadbd restarting): nothing read
  Lsn server_lsn;            // the server's LSN after the step
  Lsn written_lsn;           // the step's bound: what MariaDB has finished writing
  Lsn current_lsn;           // MariaDB's log end as far as known (>= written_lsn)
  uint64_t bytes_sent = 0;   // redo acknowledged by the server in this step
  std::optional<std::string> rebuilt;  // a note when the log was rebuilt with a new first LSN
};

struct FollowerOptions {
  SendOptions send;
  // Without a LogPositionSource the bound is the checkpoint's alone; the caller must ask for
  // that explicitly (--checkpointed-only), since the follower then lags by a checkpoint interval.
};

class LogFollower {
 public:
  // `source` may be null: checkpoint bound only.
  LogFollower(client::PageServerClient& client, std::string log_path,
              std::unique_ptr<LogPositionSource> source, Lsn server_lsn, FollowerOptions options);

  // One round: open the log, find the bound, verify the position when needed, send what lies
  // between. `lag_seconds` is passed on to the server with the redo.
  absl::StatusOr<FollowStep> Step(double lag_seconds);

  // After an Aborted step: the server's LSN is asked again before the next one.
  absl::Status Resync();

  Lsn server_lsn() const { return pos_; }

 private:
  absl::StatusOr<Lsn> Bound(const wal::LogFile& log, Lsn* current);
  absl::Status VerifyPosition(const wal::LogFile& log, Lsn bound, Lsn current);

  client::PageServerClient& client_;
  std::string path_;
  std::unique_ptr<LogPositionSource> source_;
  LogSender sender_;
  Lsn pos_;
  Lsn flushed_seen_;              // the highest Innodb_lsn_flushed seen (0: none yet)
  Lsn current_seen_;              // the Innodb_lsn_current seen with it
  std::optional<Lsn> first_lsn_;  // of the log file, to notice a rebuilt log
  bool position_verified_ = false;
  struct CheckpointKey {
    Lsn first, checkpoint, end;
    bool operator==(const CheckpointKey&) const = default;
  };
  std::optional<CheckpointKey> checkpoint_key_;  // the checkpoint checkpoint_bound_ belongs to
  Lsn checkpoint_bound_;
  std::vector<MtrMark> marks_;  // what this step's scan saw; the sender must read the same
};

// The bound a checkpoint alone proves: the end of the FILE_CHECKPOINT mini-transaction of the
// latest checkpoint (found from its end_lsn), or end_lsn itself when it cannot be decoded.
absl::StatusOr<Lsn> CheckpointBound(const wal::LogFile& log);

}  // namespace pageserver::logship
