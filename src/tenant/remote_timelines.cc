#include "tenant/remote_timelines.h"

#include <limits>
#include <set>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "storage/remote_index.h"
#include "storage/remote_layout.h"

namespace pageserver::tenant {

absl::StatusOr<std::map<std::string, storage::TimelineIdentity>> ListRemoteTimelines(
    remote::RemoteStorage& remote, const std::string& prefix) {
  ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> objects, remote.List(prefix + "/"));
  std::set<std::string> names;
  for (const remote::ObjectInfo& o : objects) {
    const std::string rest = o.key.substr(prefix.size() + 1);
    const size_t slash = rest.find('/');
    if (slash != std::string::npos && slash > 0) names.insert(rest.substr(0, slash));
  }
  std::map<std::string, storage::TimelineIdentity> found;
  for (const std::string& name : names) {
    const std::string timeline_prefix = prefix + "/" + name;
    ASSIGN_OR_RETURN(std::optional<storage::IndexName> newest,
                     storage::NewestIndex(remote, timeline_prefix,
                                          std::numeric_limits<storage::Generation>::max()));
    if (!newest) continue;
    ASSIGN_OR_RETURN(storage::RemoteIndex index,
                     storage::DownloadRemoteIndex(remote, timeline_prefix, *newest));
    found[name] = index.manifest.identity;
  }
  return found;
}

absl::Status DeleteRemoteTimeline(remote::RemoteStorage& remote,
                                  const std::string& timeline_prefix) {
  ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> objects,
                   remote.List(timeline_prefix + "/"));
  for (const bool indexes : {true, false}) {
    for (const remote::ObjectInfo& o : objects) {
      if (storage::ParseIndexKey(timeline_prefix, o.key).has_value() != indexes) continue;
      if (absl::Status s = remote.Delete(o.key); !s.ok() && !absl::IsNotFound(s)) {
        return absl::Status(s.code(), absl::StrFormat("deleting %s from %s: %s", o.key,
                                                      remote.Describe(), s.message()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace pageserver::tenant
