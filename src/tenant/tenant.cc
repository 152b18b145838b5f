#include "tenant/tenant.h"

#include <algorithm>
#include <filesystem>
#include <functional>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "storage/timeline_manifest.h"
#include "tenant/remote_timelines.h"

namespace pageserver::tenant {

namespace fs = std::filesystem;

// A timeline and what it needs: its ancestor stays open while it is (declared first, so that it
// is released after the timeline closes). A deleted node removes its objects from the bucket and
// then its directory when the last holder lets go (the directory last: while it exists, no new
// timeline of the same name can be made, whose objects the removal would take too).
struct Tenant::Node {
  std::shared_ptr<Node> ancestor;
  std::unique_ptr<storage::Timeline> timeline;
  std::string dir;
  remote::RemoteStorage* remote = nullptr;  // with the timeline's prefix in it
  std::string remote_prefix;
  bool deleted = false;  // set under the tenant's mu_, read when the last reference goes

  ~Node() {
    timeline.reset();  // its uploads stop first
    if (deleted && remote != nullptr) {
      if (absl::Status s = DeleteRemoteTimeline(*remote, remote_prefix); !s.ok()) {
        log::Warn("removing the deleted timeline {} from the bucket: {}", dir, std::string(s.message()));
      }
    }
    if (deleted) {
      // Renamed first: a crash in the middle of the removal leaves a .tmp directory, which the
      // next open removes, never a timeline without its manifest.
      std::error_code ec;
      fs::rename(dir, dir + ".tmp", ec);
      if (!ec) fs::remove_all(dir + ".tmp", ec);
      if (ec) log::Warn("removing the deleted timeline {}: {}", dir, ec.message());
    }
  }
};

absl::Status Tenant::CheckName(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 63 && std::isalnum(static_cast<uint8_t>(name[0])) &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<uint8_t>(c)) || c == '_' || c == '-';
                  });
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "\"%s\" is no timeline name: 1 to 63 of A-Z a-z 0-9 _ -, starting with a letter or digit",
      name));
}

std::string Tenant::DirOf(const std::string& name) const {
  return data_dir_ + "/timelines/" + name;
}

absl::StatusOr<std::unique_ptr<Tenant>> Tenant::Open(const std::string& data_dir,
                                                     storage::TimelineOptions options) {
  std::unique_ptr<Tenant> tenant(new Tenant(data_dir, std::move(options)));
  const std::string root = data_dir + "/timelines";
  std::error_code ec;
  fs::create_directories(root + "/" + kMainTimeline, ec);
  if (ec) return absl::InternalError(absl::StrFormat("creating %s: %s", root, ec.message()));
  // Every timeline's identity, from its manifest (none: an empty root timeline).
  struct Found {
    std::string name;
    storage::TimelineIdentity identity;
  };
  std::vector<Found> found;
  // With remote storage, the bucket's timelines too: one this node lacks is restored from it
  // (an empty directory makes storage::Timeline::Open restore), and one whose directory holds
  // no manifest yet takes its identity from the bucket.
  std::map<std::string, storage::TimelineIdentity> in_bucket;
  if (tenant->options_.remote != nullptr && !tenant->options_.remote_prefix.empty()) {
    ASSIGN_OR_RETURN(in_bucket,
                     ListRemoteTimelines(*tenant->options_.remote, tenant->options_.remote_prefix));
    for (const auto& [name, identity] : in_bucket) {
      if (!CheckName(name).ok()) continue;
      fs::create_directories(root + "/" + name, ec);
      if (ec) return absl::InternalError(absl::StrFormat("creating %s/%s: %s", root, name, ec.message()));
    }
  }
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory()) continue;
    if (name.ends_with(".tmp")) {  // a branch a crash left half made (storage::CreateBranch)
      fs::remove_all(entry.path(), ec);
      continue;
    }
    if (!CheckName(name).ok()) continue;
    ASSIGN_OR_RETURN(std::optional<storage::Manifest> manifest,
                     storage::ReadManifest(entry.path().string()));
    storage::TimelineIdentity identity;
    if (manifest) {
      identity = manifest->identity;
    } else if (auto remote = in_bucket.find(name); remote != in_bucket.end()) {
      identity = remote->second;
    }
    found.push_back({name, identity});
  }
  if (ec) return absl::InternalError(absl::StrFormat("listing %s: %s", root, ec.message()));
  // Ancestors first: open a timeline once its ancestor is open, with its branches' LSNs.
  std::lock_guard<std::mutex> lock(tenant->mu_);
  std::map<std::string, std::string> name_of_id;
  for (const Found& f : found) {
    if (!f.identity.id.empty()) name_of_id[f.identity.id] = f.name;
  }
  std::map<std::string, std::vector<Lsn>> branch_points;  // by ancestor name
  for (const Found& f : found) {
    if (!f.identity.is_branch()) continue;
    auto parent = name_of_id.find(f.identity.ancestor_id);
    if (parent == name_of_id.end()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "timeline %s is a branch of timeline %s at LSN %d, which is not in %s", f.name,
          f.identity.ancestor_id, f.identity.ancestor_lsn.value(), root));
    }
    branch_points[parent->second].push_back(f.identity.ancestor_lsn);
  }
  std::vector<const Found*> waiting;
  for (const Found& f : found) waiting.push_back(&f);
  while (!waiting.empty()) {
    const size_t before = waiting.size();
    absl::Status failed;
    std::erase_if(waiting, [&](const Found* f) {
      std::shared_ptr<Node> ancestor;
      if (!failed.ok()) return false;
      if (f->identity.is_branch()) {
        auto parent = tenant->nodes_.find(name_of_id[f->identity.ancestor_id]);
        if (parent == tenant->nodes_.end()) return false;  // not open yet
        ancestor = parent->second;
      }
      failed = tenant->OpenLocked(f->name, ancestor, branch_points[f->name]);
      return true;
    });
    RETURN_IF_ERROR(failed);
    if (waiting.size() == before) {
      return absl::DataLossError(
          absl::StrFormat("the timelines in %s name each other as ancestors", root));
    }
  }
  return tenant;
}

Tenant::~Tenant() {
  std::lock_guard<std::mutex> lock(mu_);
  // Branches first: a node holds its ancestor, so dropping the map's references deepest first
  // closes every timeline before the one it reads from.
  while (!nodes_.empty()) {
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      it = BranchesOfLocked(it->first).empty() ? nodes_.erase(it) : std::next(it);
    }
  }
}

absl::Status Tenant::OpenLocked(const std::string& name, std::shared_ptr<Node> ancestor,
                                std::vector<Lsn> branch_points) {
  ASSIGN_OR_RETURN(nodes_[name], OpenNode(name, std::move(ancestor), std::move(branch_points)));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Tenant::Node>> Tenant::OpenNode(const std::string& name,
                                                               std::shared_ptr<Node> ancestor,
                                                               std::vector<Lsn> branch_points) const {
  auto node = std::make_shared<Node>();
  node->ancestor = std::move(ancestor);
  node->dir = DirOf(name);
  storage::TimelineOptions options = options_;
  options.ancestor = node->ancestor ? node->ancestor->timeline.get() : nullptr;
  options.branch_points = std::move(branch_points);
  if (!options.remote_prefix.empty()) {
    options.remote_prefix += "/" + name;
    node->remote = options.remote;  // a deletion removes what is under the prefix: never ""
    node->remote_prefix = options.remote_prefix;
  }
  absl::StatusOr<std::unique_ptr<storage::Timeline>> timeline =
      storage::Timeline::Open(node->dir, options);
  if (!timeline.ok()) {
    return absl::Status(timeline.status().code(),
                        absl::StrFormat("opening timeline %s: %s", name,
                                        timeline.status().message()));
  }
  node->timeline = std::move(*timeline);
  return node;
}

absl::StatusOr<std::shared_ptr<storage::Timeline>> Tenant::Get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(name.empty() ? std::string(kMainTimeline) : name);
  if (it == nodes_.end()) {
    return absl::NotFoundError(absl::StrFormat("no timeline named \"%s\"", name));
  }
  // Shares the node's ownership: the timeline stays open while the caller holds it.
  return std::shared_ptr<storage::Timeline>(it->second, it->second->timeline.get());
}

std::vector<std::string> Tenant::BranchesOfLocked(const std::string& name) const {
  std::vector<std::string> out;
  auto self = nodes_.find(name);
  if (self == nodes_.end()) return out;
  for (const auto& [other, node] : nodes_) {
    if (node->ancestor == self->second) out.push_back(other);
  }
  return out;
}

TimelineInfo Tenant::InfoLocked(const std::string& name) const {
  const Node& node = *nodes_.at(name);
  TimelineInfo info;
  info.name = name;
  info.status = node.timeline->Status();
  info.identity = info.status.identity;
  if (node.ancestor) {
    for (const auto& [other, n] : nodes_) {
      if (n == node.ancestor) info.ancestor_name = other;
    }
  }
  return info;
}

absl::StatusOr<TimelineInfo> Tenant::CreateBranch(const BranchRequest& request) {
  RETURN_IF_ERROR(CheckName(request.name));
  std::shared_ptr<Node> parent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (nodes_.contains(request.name) || creating_.contains(request.name)) {
      return absl::AlreadyExistsError(
          absl::StrFormat("a timeline named \"%s\" exists already", request.name));
    }
    auto found = nodes_.find(request.from);
    if (found == nodes_.end()) {
      return absl::NotFoundError(absl::StrFormat("no timeline named \"%s\" to branch from",
                                                 request.from));
    }
    parent = found->second;
    creating_[request.name] = request.from;  // Delete refuses `from` until the branch is in
  }
  // Made and opened without the lock (a few milliseconds of fsyncs and an open): every other
  // request's Get goes on meanwhile.
  absl::StatusOr<std::shared_ptr<Node>> made = MakeBranch(request, parent);
  std::lock_guard<std::mutex> lock(mu_);
  creating_.erase(request.name);
  if (!made.ok()) return made.status();
  nodes_[request.name] = *std::move(made);
  return InfoLocked(request.name);
}

absl::StatusOr<std::shared_ptr<Tenant::Node>> Tenant::MakeBranch(const BranchRequest& request,
                                                                 std::shared_ptr<Node> parent) const {
  storage::Timeline& ancestor = *parent->timeline;
  Lsn lsn = request.lsn;
  if (request.at) {
    ASSIGN_OR_RETURN(lsn, ancestor.LsnAt(*request.at));
  }
  ASSIGN_OR_RETURN(const Lsn branch_lsn,
                   storage::Timeline::CreateBranch(DirOf(request.name), ancestor, lsn,
                                                   storage::NewTimelineId()));
  absl::StatusOr<std::shared_ptr<Node>> opened = OpenNode(request.name, parent, {});
  if (!opened.ok()) {
    std::error_code ec;
    fs::remove_all(DirOf(request.name), ec);
    ancestor.RemoveBranchPoint(branch_lsn);
    return opened.status();
  }
  log::Info("timeline {}: a branch of {} at LSN {}", request.name, request.from,
            branch_lsn.value());
  return opened;
}

absl::Status Tenant::Delete(const std::string& name, bool cascade) {
  if (name == kMainTimeline) {
    return absl::FailedPreconditionError("the main timeline cannot be deleted");
  }
  // Released after the lock (declared first): closing a timeline and removing its files must not
  // hold up every request's Get.
  std::vector<std::shared_ptr<Node>> dropped;
  std::lock_guard<std::mutex> lock(mu_);
  if (!nodes_.contains(name)) {
    return absl::NotFoundError(absl::StrFormat("no timeline named \"%s\"", name));
  }
  const std::vector<std::string> branches = BranchesOfLocked(name);
  if (!branches.empty() && !cascade) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "timeline %s has branches (%s): delete them first, or ask for a cascade", name,
        absl::StrJoin(branches, ", ")));
  }
  // Nothing goes while a branch of what would go is being made (it would lose its ancestor).
  std::function<absl::Status(const std::string&)> check = [&](const std::string& n) {
    for (const auto& [made, from] : creating_) {
      if (from == n) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "a branch of timeline %s (%s) is being made: delete it once it is", n, made));
      }
    }
    for (const std::string& b : BranchesOfLocked(n)) RETURN_IF_ERROR(check(b));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check(name));
  // The branches (and theirs) first, deepest first.
  std::function<void(const std::string&)> remove = [&](const std::string& n) {
    for (const std::string& b : BranchesOfLocked(n)) remove(b);
    std::shared_ptr<Node> node = nodes_.at(n);
    if (node->ancestor) {
      node->ancestor->timeline->RemoveBranchPoint(node->timeline->Status().identity.ancestor_lsn);
    }
    node->deleted = true;  // its directory goes with the last reference
    dropped.push_back(std::move(node));
    nodes_.erase(n);
    log::Info("timeline {} deleted", n);
  };
  remove(name);
  return absl::OkStatus();
}

std::vector<TimelineInfo> Tenant::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TimelineInfo> out;
  std::function<void(const std::shared_ptr<Node>&)> add = [&](const std::shared_ptr<Node>& parent) {
    for (const auto& [name, node] : nodes_) {
      if (node->ancestor == parent) {
        out.push_back(InfoLocked(name));
        add(node);
      }
    }
  };
  add(nullptr);
  return out;
}

}  // namespace pageserver::tenant
