// Branches of TimelineImpl (timeline_impl.h), after Neon's timelines with an ancestor: a branch
// starts with no layers, at an LSN of its ancestor (the branch LSN, its base_lsn). A read of a
// page the branch's own layers do not reconstruct whole starts from the ancestor's page at the
// branch LSN (ReadRaw); an aux file the branch has no version of is the ancestor's at the branch
// LSN; the catalog is the ancestor's at the branch LSN, copied at creation (it is small: GC keeps
// only the window's history). Nothing else is copied, so a branch is made in the time it takes
// to write its manifest.
//
// The ancestor keeps each branch LSN as a branch point: its GC removes nothing that a read at a
// branch point needs (timeline_gc.cc), whatever the PITR window says, until the branch is
// deleted (RemoveBranchPoint).
#include <filesystem>
#include <random>

#include "absl/strings/str_format.h"
#include "common/file_io.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "storage/timeline_impl.h"

namespace pageserver::storage {

namespace fs = std::filesystem;

std::string NewTimelineId() {
  std::random_device seed;
  std::mt19937_64 rng((static_cast<uint64_t>(seed()) << 32) ^ seed());
  return absl::StrFormat("%016x%016x", rng(), rng());
}

absl::StatusOr<Lsn> Timeline::CreateBranch(const std::string& dir, Timeline& ancestor, Lsn lsn,
                                           const std::string& id) {
  auto* parent = dynamic_cast<TimelineImpl*>(&ancestor);
  if (parent == nullptr) return absl::InvalidArgumentError("the ancestor is no stored timeline");
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    return absl::AlreadyExistsError(absl::StrFormat("%s exists already", dir));
  }
  ASSIGN_OR_RETURN(Manifest m, parent->StartBranch(lsn));
  m.identity.id = id;
  m.identity.ancestor_id = parent->identity().id;
  m.identity.ancestor_lsn = m.base_lsn;
  // Made under a temporary name and renamed: a crash leaves no half-made branch under `dir`.
  const std::string tmp = dir + ".tmp";
  fs::remove_all(tmp, ec);
  absl::Status made = absl::OkStatus();
  fs::create_directories(tmp + "/layers", ec);
  if (ec) made = absl::InternalError(absl::StrFormat("creating %s: %s", tmp, ec.message()));
  if (made.ok()) made = WriteManifest(tmp, m);
  if (made.ok()) {
    fs::rename(tmp, dir, ec);
    if (ec) made = absl::InternalError(absl::StrFormat("renaming %s: %s", tmp, ec.message()));
  }
  if (made.ok()) made = SyncDirectory(fs::path(dir).parent_path().string());
  if (!made.ok()) {
    fs::remove_all(tmp, ec);
    fs::remove_all(dir, ec);
    parent->RemoveBranchPoint(m.base_lsn);
    return made;
  }
  return m.base_lsn;
}

absl::StatusOr<Manifest> TimelineImpl::StartBranch(Lsn lsn) {
  std::lock_guard<std::mutex> commit(commit_mu_);
  std::unique_lock<std::shared_mutex> write(mu_);
  if (!has_base_) {
    return absl::FailedPreconditionError("the timeline has no base yet: nothing to branch from");
  }
  const Lsn last(last_record_lsn_.load());
  if (lsn == Lsn(0)) lsn = last;
  if (lsn > last) {
    return absl::OutOfRangeError(absl::StrFormat(
        "LSN %d is above the timeline's last LSN %d: a branch starts at stored history",
        lsn.value(), last.value()));
  }
  if (lsn < base_lsn_) {
    return absl::OutOfRangeError(absl::StrFormat(
        "LSN %d is below the timeline's base LSN %d", lsn.value(), base_lsn_.value()));
  }
  if (lsn < gc_cutoff_) {
    return absl::OutOfRangeError(absl::StrFormat(
        "LSN %d is below the GC cutoff, LSN %d: the history before it was garbage-collected",
        lsn.value(), gc_cutoff_.value()));
  }
  Manifest m;
  m.base_lsn = lsn;
  m.page_size = page_size_;
  m.disk_consistent_lsn = lsn;
  ASSIGN_OR_RETURN(m.catalog, Catalog::FromJson(catalog_.ToJson(lsn)));
  // No full image set of its own: the ancestor at the branch LSN stands for it.
  branch_points_.insert(lsn);
  return m;
}

void TimelineImpl::RemoveBranchPoint(Lsn lsn) {
  std::lock_guard<std::mutex> commit(commit_mu_);
  std::unique_lock<std::shared_mutex> write(mu_);
  if (auto it = branch_points_.find(lsn); it != branch_points_.end()) branch_points_.erase(it);
}

void TimelineImpl::RecordArrivalLocked(Lsn lsn) {
  const int64_t second = absl::ToUnixSeconds(absl::Now());
  if (!arrivals_.empty() && arrivals_.back().first == second) {
    arrivals_.back().second = lsn;
    return;
  }
  arrivals_.emplace_back(second, lsn);
  if (arrivals_.size() > kArrivalSeconds) arrivals_.pop_front();
}

absl::StatusOr<Lsn> TimelineImpl::LsnAt(absl::Time time) const {
  // Seconds wholly before `time`'s: a time given to the second means its start.
  const int64_t before = absl::ToUnixSeconds(time);
  std::optional<Lsn> found;
  auto consider = [&](int64_t second, Lsn lsn) {
    if (second < before && (!found || lsn > *found)) found = lsn;
  };
  std::optional<int64_t> earliest;
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    for (const auto& [second, lsn] : lsn_times_) consider(second, lsn);
    if (!lsn_times_.empty()) earliest = lsn_times_.front().first;
  }
  {
    absl::MutexLock lock(&wait_mu_);
    for (const auto& [second, lsn] : arrivals_) consider(second, lsn);
    if (!arrivals_.empty()) {
      earliest = std::min(earliest.value_or(arrivals_.front().first), arrivals_.front().first);
    }
  }
  if (!found) {
    return absl::OutOfRangeError(absl::StrFormat(
        "no redo of the timeline is known to have arrived before %s%s",
        absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone()),
        earliest ? absl::StrFormat(" (the earliest known is at %s)",
                                   absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                                                    absl::FromUnixSeconds(*earliest),
                                                    absl::UTCTimeZone()))
                 : std::string()));
  }
  return *found;
}

Lsn TimelineImpl::KeptFromLocked(Lsn cutoff) const {
  return branch_points_.empty() ? cutoff : std::min(cutoff, *branch_points_.begin());
}

absl::StatusOr<std::optional<PageVersion>> TimelineImpl::ReadForBranch(PageId id, Lsn lsn) {
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    const std::optional<TablespaceAt> space = catalog_.Find(id.space, lsn);
    if (!space || id.page.value() >= space->pages) return std::optional<PageVersion>();
  }
  ASSIGN_OR_RETURN(PageVersion page, ReadPage(id, lsn));
  return std::optional<PageVersion>(std::move(page));
}

absl::StatusOr<std::vector<uint8_t>> TimelineImpl::AuxAt(const std::string& path, Lsn lsn,
                                                        AuxFileVersion* version) const {
  if (ancestor_ != nullptr && !aux_->VersionAt(path, lsn)) {
    return ancestor_->AuxAt(path, std::min(lsn, identity_.ancestor_lsn), version);
  }
  return aux_->Get(path, lsn, version);
}

std::vector<AuxFileVersion> TimelineImpl::AuxListAt(Lsn lsn) const {
  if (ancestor_ == nullptr) return aux_->List(lsn);
  std::map<std::string, AuxFileVersion> by_path;
  for (AuxFileVersion& v : ancestor_->AuxListAt(std::min(lsn, identity_.ancestor_lsn))) {
    by_path[v.path] = std::move(v);
  }
  // This timeline's versions, deletions included, override the ancestor's.
  for (AuxFileVersion& v : aux_->List(lsn, /*with_deletions=*/true)) {
    if (v.deleted) {
      by_path.erase(v.path);
    } else {
      by_path[v.path] = std::move(v);
    }
  }
  std::vector<AuxFileVersion> out;
  for (auto& [path, v] : by_path) out.push_back(std::move(v));
  return out;
}

}  // namespace pageserver::storage
