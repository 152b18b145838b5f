// The tenant's timelines in remote storage (issue 11): each timeline uploads under
// <prefix>/<name>/ (storage/remote_layout.h), so the bucket holds every timeline, and a node
// restored from it finds them all by listing <prefix>/ and reading each one's newest index.
//
// A timeline exists in the bucket while it has an index. Deleting one removes its indexes first:
// a deletion cut short by a crash leaves objects that no restore takes for a timeline.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "remote/remote_storage.h"
#include "storage/timeline_identity.h"

namespace pageserver::tenant {

// Every timeline under `prefix` (the tenant's, e.g. "timelines") that has an index, by name,
// with the identity its newest index gives.
absl::StatusOr<std::map<std::string, storage::TimelineIdentity>> ListRemoteTimelines(
    remote::RemoteStorage& remote, const std::string& prefix);

// Removes every object under `timeline_prefix` (e.g. "timelines/dev"), indexes first.
absl::Status DeleteRemoteTimeline(remote::RemoteStorage& remote,
                                  const std::string& timeline_prefix);

}  // namespace pageserver::tenant
