// Tenant: the timelines of one database — `main` and its branches (issue 11), after Neon's
// tenant. Each timeline lives in DATA/timelines/<name>/ (storage::Timeline) under a name unique
// in the tenant; a branch's manifest names its ancestor by id and its branch LSN, and the tenant
// opens ancestors before their branches, tells each timeline where its branches start (GC keeps
// that history), and closes branches before their ancestors.
//
// Names: 1 to 63 of [A-Za-z0-9_-], starting with a letter or digit. The default timeline is
// `main`, created empty on first open (a base is imported into it).
//
// Lifetime: Get hands out shared references; a timeline deleted while a request holds it stays
// open until the request lets go, and its directory goes then. A branch holds its ancestor.
//
// Thread-safety: every method may be called from any thread; mu_ guards the map of timelines,
// and is not held during a timeline's reads or writes, nor while a branch is made and opened.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/timeline.h"

namespace pageserver::tenant {

inline constexpr char kMainTimeline[] = "main";

struct TimelineInfo {
  std::string name;
  storage::TimelineIdentity identity;
  std::string ancestor_name;  // empty for a root timeline
  storage::TimelineStatus status;
};

struct BranchRequest {
  std::string name;                          // the new timeline's
  std::string from = kMainTimeline;          // its ancestor
  Lsn lsn;                                   // 0, with no `at`: the ancestor's last LSN
  std::optional<absl::Time> at;              // instead of `lsn`: the LSN that had arrived then
};

// What the services need of a tenant: a timeline by name (`main` when the name is empty).
class TimelineResolver {
 public:
  virtual ~TimelineResolver() = default;
  // NotFound naming `name` when there is no such timeline.
  virtual absl::StatusOr<std::shared_ptr<storage::Timeline>> Get(const std::string& name) const = 0;
};

// One timeline served as `main`: for tools and tests that serve a single timeline.
class SingleTimeline final : public TimelineResolver {
 public:
  // `timeline` must outlive the resolver and what it hands out.
  explicit SingleTimeline(storage::Timeline& timeline)
      : timeline_(&timeline, [](storage::Timeline*) {}) {}
  absl::StatusOr<std::shared_ptr<storage::Timeline>> Get(const std::string& name) const override {
    if (name.empty() || name == kMainTimeline) return timeline_;
    return absl::NotFoundError("no timeline named \"" + name + "\"");
  }

 private:
  std::shared_ptr<storage::Timeline> timeline_;
};

class Tenant : public TimelineResolver {
 public:
  // Opens every timeline under `data_dir`/timelines, each with `options` (remote_prefix gets
  // "/<name>" appended). DataLoss or FailedPrecondition naming the timeline when one cannot be
  // opened (a branch whose ancestor is missing, among others).
  static absl::StatusOr<std::unique_ptr<Tenant>> Open(const std::string& data_dir,
                                                      storage::TimelineOptions options);
  ~Tenant();  // branches close before their ancestors

  // The timeline named `name` (`main` when empty); NotFound naming it otherwise.
  absl::StatusOr<std::shared_ptr<storage::Timeline>> Get(const std::string& name) const override;
  // Creates and opens a branch. Refused, with nothing created: InvalidArgument for a bad name,
  // AlreadyExists for a name taken, NotFound for an unknown ancestor, OutOfRange for an LSN (or a
  // time) outside the ancestor's retained history (below its GC cutoff, before its base, above
  // its last LSN), FailedPrecondition for an ancestor without a base.
  absl::StatusOr<TimelineInfo> CreateBranch(const BranchRequest& request);
  // Deletes a timeline and its files. FailedPrecondition while branches depend on it (naming
  // them), unless `cascade`: then they go first. `main` cannot be deleted.
  absl::Status Delete(const std::string& name, bool cascade);
  // Every timeline, ancestors before their branches, then by name.
  std::vector<TimelineInfo> List() const;

  // Why `name` cannot name a timeline, or OK.
  static absl::Status CheckName(const std::string& name);

 private:
  struct Node;
  Tenant(std::string data_dir, storage::TimelineOptions options)
      : data_dir_(std::move(data_dir)), options_(std::move(options)) {}
  std::string DirOf(const std::string& name) const;
  // Opens timeline `name` whose ancestor is `ancestor` (null for a root); mu_ held.
  absl::Status OpenLocked(const std::string& name, std::shared_ptr<Node> ancestor,
                          std::vector<Lsn> branch_points);
  // The same without the lock: the node, not yet in nodes_.
  absl::StatusOr<std::shared_ptr<Node>> OpenNode(const std::string& name,
                                                 std::shared_ptr<Node> ancestor,
                                                 std::vector<Lsn> branch_points) const;
  // Makes the branch's directory and opens it (CreateBranch, without the lock).
  absl::StatusOr<std::shared_ptr<Node>> MakeBranch(const BranchRequest& request,
                                                   std::shared_ptr<Node> parent) const;
  std::vector<std::string> BranchesOfLocked(const std::string& name) const;
  TimelineInfo InfoLocked(const std::string& name) const;

  const std::string data_dir_;
  const storage::TimelineOptions options_;
  mutable std::mutex mu_;  // guards nodes_ and creating_
  std::map<std::string, std::shared_ptr<Node>> nodes_;
  // Branches being made (outside mu_), by name -> the name of their ancestor: their names are
  // taken, and their ancestors cannot be deleted.
  std::map<std::string, std::string> creating_;
};

}  // namespace pageserver::tenant
