#include "logship/log_follower.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace pageserver::logship {
namespace {

// How far past a checkpoint's end_lsn its FILE_CHECKPOINT mini-transaction is looked for (its
// FILE_MODIFY records name every tablespace changed since the previous checkpoint).
constexpr uint64_t kCheckpointRecordsWindow = 16 << 20;

// The mini-transaction of `log` that contains `lsn` strictly inside it, scanning from `anchor`
// (a boundary) up to `bound`.
struct Spanning {
  Lsn start, end;
};
std::optional<Spanning> FindSpanning(const wal::LogFile& log, Lsn anchor, Lsn bound, Lsn lsn) {
  std::optional<Spanning> found;
  (void)wal::ScanLog(log, anchor, bound, [&](wal::Mtr& mtr) {
    if (mtr.start_lsn < lsn && mtr.end_lsn > lsn) found = Spanning{mtr.start_lsn, mtr.end_lsn};
    if (mtr.end_lsn >= lsn) return absl::CancelledError("found");
    return absl::OkStatus();
  });
  return found;
}

}  // namespace

absl::StatusOr<Lsn> CheckpointBound(const wal::LogFile& log) {
  const wal::Checkpoint& c = log.checkpoint();
  Lsn bound = c.end_lsn;
  absl::StatusOr<wal::ScanEnd> scan =
      wal::ScanLog(log, c.end_lsn, c.end_lsn + kCheckpointRecordsWindow, [&](wal::Mtr& mtr) {
        for (const wal::Record& rec : mtr.records) {
          if (rec.type == wal::RecordType::kFileCheckpoint &&
              mtr.CheckpointLsn(rec) == c.checkpoint_lsn) {
            bound = mtr.end_lsn;
            return absl::CancelledError("found");
          }
        }
        return absl::OkStatus();
      });
  if (!scan.ok() && !absl::IsCancelled(scan.status())) return scan.status();
  return bound;
}

LogFollower::LogFollower(client::PageServerClient& client, std::string log_path,
                         std::unique_ptr<LogPositionSource> source, Lsn server_lsn,
                         FollowerOptions options)
    : client_(client),
      path_(std::move(log_path)),
      source_(std::move(source)),
      sender_(client, options.send),
      pos_(server_lsn) {}

absl::Status LogFollower::Resync() {
  ASSIGN_OR_RETURN(client::ServerStatus status, client_.GetStatus());
  pos_ = status.last_record_lsn;
  return absl::OkStatus();
}

absl::StatusOr<Lsn> LogFollower::Bound(const wal::LogFile& log, Lsn* current) {
  // The checkpoint's bound changes only with the checkpoint: look for it once per checkpoint.
  const CheckpointKey key{log.header().first_lsn, log.checkpoint().checkpoint_lsn,
                          log.checkpoint().end_lsn};
  if (!checkpoint_key_ || !(*checkpoint_key_ == key)) {
    ASSIGN_OR_RETURN(checkpoint_bound_, CheckpointBound(log));
    checkpoint_key_ = key;
  }
  const Lsn bound = checkpoint_bound_;
  const Lsn bound_then = std::max(bound, flushed_seen_);
  *current = std::max(bound_then, current_seen_);
  return bound_then;
}

absl::Status LogFollower::VerifyPosition(const wal::LogFile& log, Lsn bound, Lsn current) {
  const Lsn checkpoint = log.checkpoint().checkpoint_lsn;
  const Lsn first = log.header().first_lsn;
  const uint64_t capacity = log.geometry().capacity;
  auto not_written = [&](const std::string& what, Lsn anchor) {
    std::string inside;
    if (std::optional<Spanning> s = FindSpanning(log, anchor, bound, pos_)) {
      inside = absl::StrFormat(" LSN %d lies inside MariaDB's mini-transaction %d..%d.",
                               pos_.value(), s->start.value(), s->end.value());
    }
    return absl::DataLossError(absl::StrFormat(
        "the server holds redo MariaDB did not write: the server's last LSN %d is not a "
        "mini-transaction boundary of %s (MariaDB has written up to LSN %d): %s.%s The server's "
        "pages after the last LSN it shares with MariaDB are not MariaDB's; drop its tail with "
        "`pagectl truncate-wal` (it names the LSNs it can go back to) or re-bootstrap it",
        pos_.value(), path_, bound.value(), what, inside));
  };
  if (pos_ >= checkpoint) {
    bool boundary = pos_ == checkpoint;
    auto end = wal::ScanLog(log, checkpoint, bound, [&](wal::Mtr& mtr) {
      if (mtr.end_lsn == pos_) boundary = true;
      if (mtr.end_lsn >= pos_) return absl::CancelledError("reached");
      return absl::OkStatus();
    });
    if (boundary) return absl::OkStatus();
    if (!end.ok() && !absl::IsCancelled(end.status())) {
      return absl::AbortedError(absl::StrFormat("reading %s from its checkpoint at LSN %d: %s",
                                                path_, checkpoint.value(), end.status().message()));
    }
    if (end.ok() && end->end_lsn < pos_) {
      return absl::AbortedError(absl::StrFormat(
          "%s read from its checkpoint at LSN %d stops at LSN %d (%s), before the server's LSN "
          "%d, although MariaDB reports LSN %d written",
          path_, checkpoint.value(), end->end_lsn.value(), end->reason, pos_.value(),
          bound.value()));
    }
    return not_written(absl::StrFormat("the log read from its checkpoint at LSN %d passes over it",
                                       checkpoint.value()),
                       checkpoint);
  }
  // Below the checkpoint: the bytes at pos_ are gone once the writer is a capacity past them.
  if (current.value() >= pos_.value() + capacity) {
    return absl::DataLossError(absl::StrFormat(
        "MariaDB overwrote redo the follower had not read: the server holds LSN %d, the log's "
        "checkpoint is at LSN %d, and MariaDB's log has reached LSN %d, a whole capacity of %d "
        "bytes past it. The pages the server has are exact up to LSN %d; re-bootstrap it, and "
        "give mariadbd a larger innodb_log_file_size for its write rate",
        pos_.value(), checkpoint.value(), current.value(), capacity, pos_.value()));
  }
  bool reached_checkpoint = false;
  auto end = wal::ScanLog(log, pos_, bound, [&](wal::Mtr& mtr) {
    if (mtr.end_lsn == checkpoint) reached_checkpoint = true;
    if (mtr.end_lsn >= checkpoint) return absl::CancelledError("reached");
    return absl::OkStatus();
  });
  if (reached_checkpoint) return absl::OkStatus();
  if (!end.ok() && !absl::IsCancelled(end.status())) {
    return absl::AbortedError(absl::StrFormat("reading %s from LSN %d: %s", path_, pos_.value(),
                                              end.status().message()));
  }
  // The file has not wrapped since `first` when the writer is less than a capacity past it: then
  // `first` is a boundary to look for the mini-transaction around pos_ from.
  const Lsn anchor = current.value() < first.value() + capacity ? first : pos_;
  return not_written(
      absl::StrFormat("read from there the log %s, short of the checkpoint at LSN %d, and the "
                      "writer (at LSN %d) has not wrapped over it",
                      end.ok() ? absl::StrFormat("stops at LSN %d (%s)", end->end_lsn.value(),
                                                 end->reason)
                               : std::string("passes over the checkpoint"),
                      checkpoint.value(), current.value()),
      anchor);
}

absl::StatusOr<FollowStep> LogFollower::Step(double lag_seconds) {
  FollowStep step;
  step.server_lsn = pos_;
  // MariaDB is asked before the file is opened: the file read is then at least as new as the
  // answer, so a log rebuilt in between (a new first LSN past every older LSN) cannot be read
  // with a bound that belongs to it.
  if (source_ != nullptr) {
    absl::StatusOr<MariadbLogPosition> p = source_->Position();
    if (p.ok()) {
      flushed_seen_ = std::max(flushed_seen_, p->flushed);
      current_seen_ = p->current;
    } else if (!absl::IsUnavailable(p.status())) {
      return p.status();
    }
  }
  absl::StatusOr<wal::LogFile> log = wal::LogFile::Open(path_);
  if (!log.ok()) {
    // mariadbd may be between removing and renaming its log (a resize), or stopped.
    if (absl::IsNotFound(log.status()) || absl::IsUnavailable(log.status())) {
      step.log_missing = true;
      return step;
    }
    if (absl::IsDataLoss(log.status())) {  // a header or checkpoint block read mid-write
      return absl::AbortedError(log.status().message());
    }
    return log.status();
  }
  const Lsn checkpoint = log->checkpoint().checkpoint_lsn;
  const Lsn first = log->header().first_lsn;
  if (first_lsn_ && first != *first_lsn_) {
    step.rebuilt = absl::StrFormat("%s was rebuilt (first LSN %d, was %d); checkpoint at LSN %d",
                                   path_, first.value(), first_lsn_->value(), checkpoint.value());
    position_verified_ = false;
  }
  first_lsn_ = first;
  if (pos_ < checkpoint && first > pos_) {
    return absl::DataLossError(absl::StrFormat(
        "%s now starts at LSN %d (rebuilt, e.g. resized), but the server holds redo only up to "
        "LSN %d: the redo between was never read; re-bootstrap the server",
        path_, first.value(), pos_.value()));
  }
  Lsn current;
  ASSIGN_OR_RETURN(const Lsn bound, Bound(*log, &current));
  step.written_lsn = bound;
  step.current_lsn = current;
  if (bound <= pos_) return step;
  if (!position_verified_) {
    RETURN_IF_ERROR(VerifyPosition(*log, bound, current));
    position_verified_ = true;
  }
  marks_.clear();
  absl::StatusOr<wal::ScanEnd> end = wal::ScanLog(*log, pos_, bound, [&](wal::Mtr& mtr) {
    marks_.push_back({mtr.end_lsn, mtr.crc});
    return absl::OkStatus();
  });
  if (!end.ok()) return absl::AbortedError(end.status().message());
  if (end->end_lsn == pos_) {
    // MariaDB has written past the server's LSN, yet nothing decodes from there: find out why.
    RETURN_IF_ERROR(VerifyPosition(*log, bound, current));
    return absl::AbortedError(absl::StrFormat(
        "%s read from the server's LSN %d stops there (%s) although MariaDB reports LSN %d "
        "written",
        path_, pos_.value(), end->reason, bound.value()));
  }
  ASSIGN_OR_RETURN(const Lsn acked,
                   sender_.Send(*log, pos_, end->end_lsn,
                                client::SourcePosition{current, lag_seconds}, marks_));
  step.bytes_sent = acked - pos_;
  pos_ = acked;
  step.server_lsn = pos_;
  return step;
}

}  // namespace pageserver::logship
