#include "replay/continuity_check.h"

#include "absl/strings/str_format.h"

namespace pageserver::replay {

absl::Status ContinuityCheck::Check(const wal::Mtr& mtr) {
  if (found_ || mtr.start_lsn < base_.end_lsn) return absl::OkStatus();
  for (const wal::Record& rec : mtr.records) {
    if (rec.type == wal::RecordType::kFileCheckpoint &&
        mtr.CheckpointLsn(rec) == base_.checkpoint_lsn) {
      found_ = true;
      return absl::OkStatus();
    }
    if (!rec.IsFileOp()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s does not continue the base datadir's log: no FILE_CHECKPOINT(%d) record between "
          "LSN %d and the page change at LSN %d",
          log_path_, base_.checkpoint_lsn.value(), base_.end_lsn.value(),
          mtr.start_lsn.value() + rec.first_byte_pos));
    }
  }
  return absl::OkStatus();
}

}  // namespace pageserver::replay
