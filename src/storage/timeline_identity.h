// TimelineIdentity: who a timeline is (issue 11): its id, and for a branch its ancestor's id and
// the LSN it starts from. Kept in the manifest (timeline_manifest.h).
#pragma once

#include <string>

#include "common/types.h"

namespace pageserver::storage {

struct TimelineIdentity {
  std::string id;           // 32 hex digits, given at creation (NewTimelineId)
  std::string ancestor_id;  // empty for a root timeline (one with an imported base)
  Lsn ancestor_lsn;         // the branch LSN; 0 for a root timeline

  bool is_branch() const { return !ancestor_id.empty(); }
};

// A new random timeline id: 32 lowercase hex digits.
std::string NewTimelineId();

}  // namespace pageserver::storage
