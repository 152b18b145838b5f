// Flushes of TimelineImpl (timeline_impl.h): the in-memory layer frozen and written out as layer
// files, and CommitLayers, the commit point of every change of the layer set (a flush, a
// compaction, a full image set, GC): the manifest replaced, then the change published. And the
// timeline's background threads: the flusher, the maintenance thread it wakes after each flush
// (compaction, full image sets, GC), and the materializer (timeline_materialize.cc).
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "storage/timeline_impl.h"

namespace pageserver::storage {

void TimelineImpl::StartFlusher() {
  flusher_ = std::thread([this] { FlusherLoop(); });
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
  materializer_ = std::thread([this] { MaterializerLoop(); });
}

void TimelineImpl::MaintenanceLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> l(maintenance_mu_);
      maintenance_cv_.wait(l, [&] { return maintenance_stopping_ || maintenance_requested_; });
      if (maintenance_stopping_) return;
      maintenance_requested_ = false;
      maintenance_running_ = true;
    }
    CompactAndCollect();
    {
      std::lock_guard<std::mutex> l(maintenance_mu_);
      maintenance_running_ = false;
    }
    maintenance_cv_.notify_all();
  }
}

void TimelineImpl::WaitForMaintenance() {
  std::unique_lock<std::mutex> l(maintenance_mu_);
  maintenance_cv_.wait(l, [&] {
    return maintenance_stopping_ || (!maintenance_requested_ && !maintenance_running_);
  });
}

void TimelineImpl::FlusherLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> l(flush_mu_);
      flush_cv_.wait(l, [&] { return stopping_ || flush_pending_; });
      if (!flush_pending_) return;  // stopping, nothing frozen: the WAL log has everything
    }
    std::shared_ptr<InMemoryLayer> frozen;
    {
      std::shared_lock<std::shared_mutex> read(mu_);
      frozen = frozen_;
    }
    const absl::Status s = WriteOut(std::move(frozen));
    if (s.ok()) {
      std::lock_guard<std::mutex> l(maintenance_mu_);
      maintenance_requested_ = true;
    }
    maintenance_cv_.notify_all();
    {
      std::lock_guard<std::mutex> l(flush_mu_);
      if (!s.ok()) flush_error_ = s;
      flush_pending_ = false;
    }
    flush_cv_.notify_all();
  }
}

absl::Status TimelineImpl::WaitForFlush() {
  std::unique_lock<std::mutex> l(flush_mu_);
  flush_cv_.wait(l, [&] { return !flush_pending_; });
  return flush_error_;
}

bool TimelineImpl::Freeze() {
  std::unique_lock<std::shared_mutex> write(mu_);
  if (frozen_ || open_->end_lsn() == open_->start_lsn()) return false;
  frozen_ = open_;
  open_ = std::make_shared<InMemoryLayer>(frozen_->end_lsn());
  return true;
}

absl::Status TimelineImpl::Flush() {
  std::lock_guard<std::mutex> lock(ingest_mu_);
  if (!wal_) return absl::OkStatus();
  Lsn written;
  {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    written = wal_->end_lsn();
  }
  RETURN_IF_ERROR(MakeWalDurable(written).status());  // a layer holds only durable redo
  RETURN_IF_ERROR(WaitForFlush());
  if (Freeze()) {
    {
      std::lock_guard<std::mutex> l(flush_mu_);
      flush_pending_ = true;
    }
    flush_cv_.notify_all();
    RETURN_IF_ERROR(WaitForFlush());
  }
  // What the flush started (compaction, images, GC) is done too when Flush returns, and the
  // hot pages queued so far are materialized.
  WaitForMaintenance();
  WaitForMaterializer();
  EnforceDiskBudget();  // layers uploaded since the last flush may be evicted now
  return absl::OkStatus();
}

absl::Status TimelineImpl::WriteOut(std::shared_ptr<InMemoryLayer> frozen) {
  const Lsn end = frozen->end_lsn();
  std::vector<std::string> added;
  std::shared_ptr<DeltaLayer> delta;
  if (!frozen->empty()) {
    const std::string name = DeltaLayerName(frozen->start_lsn(), end);
    const std::vector<PageId> pages = frozen->SortedPages();
    RETURN_IF_ERROR(frozen->WriteDeltaLayer(LayerPath(name), pages));
    ASSIGN_OR_RETURN(delta, DeltaLayer::Open(LayerPath(name), pages));
    added.push_back(name);
  }
  std::string image_name;
  RETURN_IF_ERROR(WriteCompactionImage(*frozen, &image_name));
  std::shared_ptr<ImageLayer> image;
  if (!image_name.empty()) {
    ASSIGN_OR_RETURN(image, ImageLayer::Open(LayerPath(image_name)));
    added.push_back(image_name);
  }
  if (delta) delta_bytes_since_full_image_.fetch_add(delta->file_bytes());
  std::vector<std::shared_ptr<ImageLayer>> images;
  if (image) images.push_back(std::move(image));
  std::vector<std::shared_ptr<DeltaLayer>> deltas;
  if (delta) deltas.push_back(std::move(delta));
  RETURN_IF_ERROR(CommitLayers(std::move(images), std::move(deltas), [&](Manifest& m) {
    m.layers.insert(m.layers.end(), added.begin(), added.end());
    m.lsn_times.emplace_back(absl::ToUnixSeconds(absl::Now()), end);
    m.disk_consistent_lsn = end;  // ToJson keeps only the catalog's history up to `end`
  }));

  // With remote storage, a segment goes only once the bucket has it too.
  const Lsn removable = remote_client_ ? std::min(end, remote_client_->wal_uploaded_lsn()) : end;
  {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    RETURN_IF_ERROR(wal_->RemoveSegmentsBefore(removable));
  }
  EnforceDiskBudget();
  return absl::OkStatus();
}

Manifest TimelineImpl::ManifestLocked(std::vector<std::string> layers) const {
  Manifest m;
  m.base_lsn = base_lsn_;
  m.page_size = page_size_;
  m.disk_consistent_lsn = disk_consistent_lsn_;
  m.layers = std::move(layers);
  m.catalog = catalog_;
  m.gc_cutoff_lsn = gc_cutoff_;
  m.full_image_lsns = full_image_lsns_;
  m.lsn_times = lsn_times_;
  m.identity = identity_;
  return m;
}

absl::Status TimelineImpl::WriteCompactionImage(const InMemoryLayer& frozen, std::string* name) {
  const Lsn lsn = frozen.end_lsn();
  std::vector<PageId> long_chains;
  if (options_.image_chain_threshold == 0) return absl::OkStatus();
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    for (const PageId& id : frozen.SortedPages()) {
      auto it = chain_.find(id);
      if (it != chain_.end() && it->second.since_image > options_.image_chain_threshold) {
        long_chains.push_back(id);
      }
    }
  }
  if (long_chains.empty()) return absl::OkStatus();
  *name = ImageLayerName(lsn);
  ASSIGN_OR_RETURN(auto writer, ImageLayerWriter::Create(LayerPath(*name), lsn, page_size_));
  std::vector<PageId> written, skipped;
  for (const PageId& id : long_chains) {
    absl::StatusOr<PageVersion> page = ReadPage(id, lsn);
    // Compaction is an optimisation: a page that is free, whose tablespace is gone or that
    // cannot be rebuilt here (reads will report why) keeps its chain; its count restarts so that
    // it is not retried at every flush.
    if (!page.ok() || page->freed) {
      skipped.push_back(id);
      continue;
    }
    RETURN_IF_ERROR(writer->Add(id, page->image));
    written.push_back(id);
  }
  if (written.empty()) {
    name->clear();  // the writer's destructor removes its temporary file
  } else {
    RETURN_IF_ERROR(writer->Finish());
  }
  std::unique_lock<std::shared_mutex> write(mu_);
  for (const PageId& id : skipped) chain_.erase(id);
  for (const PageId& id : written) {
    // The records after `lsn` are exactly the open layer's (one frozen layer at a time).
    const uint32_t after = open_->CountEntries(id);
    if (after == 0) {
      chain_.erase(id);
    } else {
      ChainCounts& chain = chain_[id];
      chain.since_image = after;
      chain.since_materialized = std::min(chain.since_materialized, after);
    }
  }
  return absl::OkStatus();
}

absl::Status TimelineImpl::CommitLayers(std::vector<std::shared_ptr<ImageLayer>> images,
                                        std::vector<std::shared_ptr<DeltaLayer>> deltas,
                                        const std::function<void(Manifest&)>& edit) {
  std::lock_guard<std::mutex> commit(commit_mu_);
  Manifest manifest;
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    manifest = ManifestLocked(layer_names_);
  }
  edit(manifest);
  std::vector<std::string> removed;
  for (const std::string& name : layer_names_) {  // only commits change it, under commit_mu_
    if (std::find(manifest.layers.begin(), manifest.layers.end(), name) == manifest.layers.end()) {
      removed.push_back(name);
    }
  }
  RETURN_IF_ERROR(WriteManifest(dir_, manifest));
  {
    std::unique_lock<std::shared_mutex> write(mu_);
    auto layers = std::make_shared<LayerSnapshot>();
    auto gone = [&](const std::string& path) {
      const std::string name = std::filesystem::path(path).filename().string();
      return std::find(removed.begin(), removed.end(), name) != removed.end();
    };
    for (const auto& l : layers_->images) {
      if (!gone(l->file()->path())) {
        layers->images.push_back(l);
      } else {
        Retire(l->file());
      }
    }
    for (const auto& l : layers_->deltas) {
      if (!gone(l->file()->path())) {
        layers->deltas.push_back(l);
      } else {
        Retire(l->file());
      }
    }
    for (auto& l : images) layers->images.push_back(std::move(l));
    for (auto& l : deltas) layers->deltas.push_back(std::move(l));
    SortLayers(*layers);
    layers_ = std::move(layers);
    layer_names_ = manifest.layers;
    disk_consistent_lsn_ = manifest.disk_consistent_lsn;
    // The layers now hold what the frozen layer held.
    if (frozen_ && frozen_->end_lsn() <= disk_consistent_lsn_) frozen_.reset();
    gc_cutoff_ = manifest.gc_cutoff_lsn;
    full_image_lsns_ = manifest.full_image_lsns;
    lsn_times_ = manifest.lsn_times;
  }
  // Readers that took the old snapshot keep their open files; the names go now.
  std::error_code ec;
  for (const std::string& name : removed) std::filesystem::remove(LayerPath(name), ec);
  if (remote_client_) remote_client_->ScheduleIndex(std::move(manifest));
  return absl::OkStatus();
}

}  // namespace pageserver::storage
