// ContinuityCheck: does a redo log continue the log a base datadir was checkpointed from?
//
// MariaDB's rule (recv_sys_t::find_checkpoint, "Missing FILE_CHECKPOINT"): scanning from the
// checkpoint's end LSN, a FILE_CHECKPOINT record naming the checkpoint LSN comes before any page
// change. Replay checks it on the decoder thread, before any applier sees the mini-transaction,
// so a log of another lineage alters nothing. Not thread-safe.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "wal/log_file.h"
#include "wal/record.h"

namespace pageserver::replay {

class ContinuityCheck {
 public:
  ContinuityCheck(const wal::Checkpoint& base, std::string log_path)
      : base_(base), log_path_(std::move(log_path)) {}

  // Call for every mini-transaction in LSN order from the base's checkpoint LSN.
  absl::Status Check(const wal::Mtr& mtr);
  bool found() const { return found_; }

 private:
  wal::Checkpoint base_;
  std::string log_path_;
  bool found_ = false;
};

}  // namespace pageserver::replay
