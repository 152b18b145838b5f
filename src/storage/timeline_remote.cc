// TimelineImpl (timeline_impl.h) over remote storage: the generation and restore at open, the
// uploads, and the local disk budget.
#include <unistd.h>

#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "storage/timeline_impl.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;

// A layer file read more recently than this is not evicted to download another: under a working
// set larger than the disk budget, the evicted ones are read from the bucket instead.
constexpr absl::Duration kHotLayer = absl::Seconds(2);

}  // namespace

absl::Status TimelineImpl::PrepareRemote() {
  remote::RemoteStorage& remote = *options_.remote;
  const std::string& prefix = options_.remote_prefix;
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  ASSIGN_OR_RETURN(
      generation_,
      ClaimGeneration(remote, prefix, absl::StrFormat("%s pid %d %s", host, getpid(), dir_)));
  ASSIGN_OR_RETURN(std::optional<Manifest> local, ReadManifest(dir_));
  if (!local) {
    // Nothing of a timeline here but what a crashed import or restore left: gone, then the
    // bucket's timeline, if it holds one.
    std::error_code ec;
    for (const char* leftover : {"layers", "aux", "wal"}) fs::remove_all(dir_ + "/" + leftover, ec);
    fs::remove(dir_ + "/writer.json", ec);
    fs::create_directories(dir_ + "/layers", ec);
    ASSIGN_OR_RETURN(restored_, RestoreTimelineFiles(remote, prefix, dir_, generation_ - 1));
    if (restored_) start_index_ = restored_->index;
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const std::optional<IndexName> newest,
                   NewestIndex(remote, prefix, generation_ - 1));
  if (!newest) return absl::OkStatus();
  ASSIGN_OR_RETURN(start_index_, DownloadRemoteIndex(remote, prefix, *newest));
  const Manifest& bucket = start_index_->manifest;
  // A bucket ahead of the directory holds what another node stored after this one stopped: the
  // directory is stale, and serving it would hide that.
  if (bucket.base_lsn != local->base_lsn ||
      bucket.disk_consistent_lsn > local->disk_consistent_lsn) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s holds a timeline (base LSN %d, layers up to LSN %d) that %s/%s does not continue: its "
        "newest index, of generation %d, has base LSN %d and layers up to LSN %d. Move the "
        "directory away to restore the timeline from the bucket",
        dir_, local->base_lsn.value(), local->disk_consistent_lsn.value(), remote.Describe(),
        prefix, newest->gen, bucket.base_lsn.value(), bucket.disk_consistent_lsn.value()));
  }
  return absl::OkStatus();
}

absl::Status TimelineImpl::StartRemote() {
  if (restored_) {
    // The WAL after the restored layers, ingested as a writer would send it: checked, indexed
    // and made durable. An incomplete mini-transaction at the end stays unacknowledged.
    const uint64_t writer = writer_ ? writer_->generation : kNoWriterLease;
    for (const WalPiece& piece : restored_->wal) {
      if (piece.end == piece.start) continue;
      ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes,
                       options_.remote->Get(piece.key, {piece.offset, piece.end - piece.start}));
      absl::StatusOr<IngestResult> ingested = IngestWalAs(writer, piece.start, bytes);
      if (!ingested.ok()) {
        return absl::DataLossError(absl::StrFormat("restoring the WAL at LSN %d..%d from %s/%s: %s",
                                                   piece.start.value(), piece.end.value(),
                                                   options_.remote->Describe(), piece.key,
                                                   ingested.status().message()));
      }
    }
    if (!restored_->wal.empty()) {
      log::Info("restored the WAL up to LSN {}", last_record_lsn_.load());
    }
  }
  RemoteTimelineClientOptions client;
  client.storage = options_.remote;
  client.prefix = options_.remote_prefix;
  client.layers_dir = dir_ + "/layers";
  client.generation = generation_;
  client.read_wal = [this](Lsn lsn, std::span<uint8_t> out) {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    return wal_->Read(lsn, out);
  };
  client.aux_file = [this](uint64_t seq) { return aux_->FilePath(seq); };
  client.layer_in_use = [this](const std::string& name) { return RetiredAndHeld(name); };
  client.aux_held = [this](uint64_t seq) { return aux_->Holds(seq); };
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    client.aux_collection_cutoff = gc_cutoff_;  // the aux store collected at most that far
  }
  client.wal_upload_interval = options_.remote_wal_upload_interval;
  // A restore's WAL is in the bucket already; after a restart, the local log is uploaded again
  // from its start (objects of this generation; the same bytes as the older ones).
  Lsn wal_uploaded;
  std::optional<Manifest> manifest;
  {
    std::lock_guard<std::mutex> lock(ingest_mu_);
    // No flush of the restored WAL is running (the flusher reads remote_client_), and none can
    // start: only ingest, which waits for ingest_mu_, starts one.
    RETURN_IF_ERROR(WaitForFlush());
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    if (wal_) wal_uploaded = restored_ ? wal_->end_lsn() : wal_->start_lsn();
    if (has_base_) {
      std::shared_lock<std::shared_mutex> read(mu_);
      manifest = ManifestLocked(layer_names_);
    }
    const Lsn wal_chain_start =
        restored_ ? restored_->index.manifest.disk_consistent_lsn : wal_uploaded;
    remote_client_ = std::make_unique<RemoteTimelineClient>(std::move(client), start_index_,
                                                            wal_chain_start, wal_uploaded);
    if (wal_) remote_client_->WalDurable(wal_->durable_lsn());
  }
  // Whatever an earlier run may not have uploaded.
  if (manifest) remote_client_->ScheduleIndex(std::move(*manifest));
  EnforceDiskBudget();
  for (const uint64_t seq : aux_->Sequences()) remote_client_->ScheduleAux(seq);
  if (writer_) remote_client_->ScheduleLease(*writer_);
  restored_.reset();
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<LayerFile>> TimelineImpl::OpenLayerFile(const std::string& name) {
  const std::string path = LayerPath(name);
  std::error_code ec;
  if (options_.remote == nullptr || fs::exists(path, ec)) return LayerFile::Open(path);
  Generation gen = 0;
  if (start_index_) {
    if (auto it = start_index_->layer_generations.find(name);
        it != start_index_->layer_generations.end()) {
      gen = it->second;
    }
  }
  if (gen == 0) {
    ASSIGN_OR_RETURN(gen, FindLayerGeneration(*options_.remote, options_.remote_prefix, name));
  }
  RETURN_IF_ERROR(DownloadLayerFile(*options_.remote, options_.remote_prefix, name, gen, path));
  layer_downloads_.fetch_add(1);
  ASSIGN_OR_RETURN(std::shared_ptr<LayerFile> file, LayerFile::Open(path));
  // The bucket has it: it may go again.
  MakeEvictable(*file, name, gen);
  return file;
}

void TimelineImpl::MakeEvictable(LayerFile& file, const std::string& name, Generation gen) {
  remote::RemoteStorage* remote = options_.remote;
  const std::string prefix = options_.remote_prefix;
  const std::string key = LayerKey(prefix, name, gen);
  file.SetRemote(
      [remote, prefix, name, gen](const std::string& path) {
        return DownloadLayerFile(*remote, prefix, name, gen, path);
      },
      [remote, key](uint64_t offset, size_t size, uint8_t* out) {
        ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, remote->Get(key, {offset, size}));
        if (bytes.size() != size) {
          return absl::DataLossError(absl::StrFormat("%s/%s: %d bytes at offset %d, expected %d",
                                                     remote->Describe(), key, bytes.size(), offset,
                                                     size));
        }
        std::copy(bytes.begin(), bytes.end(), out);
        return absl::OkStatus();
      },
      [this](const LayerFile& f) { return MakeRoomFor(f); },
      [this] {
        layer_downloads_.fetch_add(1);
        EnforceDiskBudget();
      });
}

std::vector<std::shared_ptr<LayerFile>> TimelineImpl::LayerFiles(uint64_t* resident_bytes) const {
  std::shared_ptr<const LayerSnapshot> layers;
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    layers = layers_;
  }
  std::vector<std::shared_ptr<LayerFile>> files;
  for (const auto& l : layers->images) files.push_back(l->file());
  for (const auto& l : layers->deltas) files.push_back(l->file());
  *resident_bytes = 0;
  for (const auto& f : files) *resident_bytes += f->resident() ? f->size() : 0;
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a->last_read() < b->last_read(); });
  return files;
}

void TimelineImpl::Retire(const std::shared_ptr<LayerFile>& file) {
  if (!remote_client_) return;  // only the bucket's copy can be wanted after the local one goes
  std::lock_guard<std::mutex> lock(retired_mu_);
  std::erase_if(retired_, [](const auto& entry) { return entry.second.expired(); });
  retired_[fs::path(file->path()).filename().string()] = file;
}

bool TimelineImpl::RetiredAndHeld(const std::string& name) {
  std::lock_guard<std::mutex> lock(retired_mu_);
  auto it = retired_.find(name);
  if (it == retired_.end()) return false;
  if (!it->second.expired()) return true;
  retired_.erase(it);  // its last reader is done: the object may go
  return false;
}

bool TimelineImpl::MakeRoomFor(const LayerFile& file) {
  if (RetiredAndHeld(fs::path(file.path()).filename().string())) return false;
  const uint64_t budget = options_.local_disk_budget_bytes;
  if (budget == 0) return true;
  std::lock_guard<std::mutex> one(eviction_mu_);
  uint64_t resident = 0;
  const std::vector<std::shared_ptr<LayerFile>> files = LayerFiles(&resident);
  if (resident + file.size() <= budget) return true;
  const absl::Time hot = absl::Now() - kHotLayer;
  for (const auto& f : files) {
    if (f.get() == &file || !f->resident() || !f->evictable()) continue;
    if (f->last_read() > hot) break;  // read recently: evicting it would only move the misses
    if (!f->Evict().ok()) continue;
    layer_evictions_.fetch_add(1);
    resident -= f->size();
    if (resident + file.size() <= budget) return true;
  }
  return false;
}

void TimelineImpl::EnforceDiskBudget() {
  const uint64_t budget = options_.local_disk_budget_bytes;
  if (!remote_client_ || budget == 0) return;
  std::lock_guard<std::mutex> one(eviction_mu_);
  uint64_t resident = 0;
  const std::vector<std::shared_ptr<LayerFile>> files = LayerFiles(&resident);
  if (resident <= budget) return;
  for (const auto& f : files) {
    if (resident <= budget) break;
    if (!f->resident()) continue;
    if (!f->evictable()) {
      const std::string name = fs::path(f->path()).filename().string();
      const std::optional<Generation> gen = remote_client_->LayerGeneration(name);
      if (!gen) continue;  // not in the bucket yet: kept
      MakeEvictable(*f, name, *gen);
    }
    const absl::Status evicted = f->Evict();
    if (!evicted.ok()) {
      log::Warn("evicting {}: {}", f->path(), std::string(evicted.message()));
      continue;
    }
    resident -= f->size();
    layer_evictions_.fetch_add(1);
  }
}

}  // namespace pageserver::storage
