#include "storage/timeline.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <unistd.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/byte_order.h"
#include "common/status_macros.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "redo/tablespace_format.h"
#include "storage/delta_layer.h"
#include "storage/image_layer.h"
#include "storage/in_memory_layer.h"
#include "storage/remote_restore.h"
#include "storage/remote_timeline_client.h"
#include "storage/page_reconstruct.h"
#include "storage/page_snippet.h"
#include "storage/timeline_manifest.h"
#include "storage/wal_log.h"
#include "wal/mtr_decoder.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;

// A layer file read more recently than this is not evicted to download another: under a working
// set larger than the disk budget, the evicted ones are read from the bucket instead.
constexpr absl::Duration kHotLayer = absl::Seconds(2);

// The layers a read consults, taken under the lock and used without it (layers are immutable;
// the in-memory ones are read under the lock before it is released). Never changed once
// published: a flush publishes a new one, so a read takes one reference, not one per layer.
struct LayerSnapshot {
  std::vector<std::shared_ptr<const ImageLayer>> images;  // ascending LSN
  std::vector<std::shared_ptr<const DeltaLayer>> deltas;  // ascending LSN
};

// A reconstructed page before the checksum step.
struct RawPage {
  std::vector<uint8_t> frame;
  bool from_image_only = false;  // no record applied: the stored image as it was written
  bool freed = false;
  uint32_t applied = 0;
};

class TimelineImpl;

class ImportSessionImpl : public ImportSession {
 public:
  ImportSessionImpl(TimelineImpl* timeline, std::unique_lock<std::mutex> lock, Lsn lsn,
                    uint32_t page_size, std::vector<TablespaceInfo> catalog,
                    std::unique_ptr<ImageLayerWriter> writer)
      : timeline_(timeline),
        lock_(std::move(lock)),
        lsn_(lsn),
        page_size_(page_size),
        catalog_(std::move(catalog)),
        writer_(std::move(writer)) {
    for (const TablespaceInfo& t : catalog_) sizes_[t.space.value()] = t.pages;
  }
  absl::Status AddPage(PageId id, std::span<const uint8_t> image) override;
  absl::Status Finish() override;

 private:
  TimelineImpl* timeline_;
  std::unique_lock<std::mutex> lock_;  // the timeline's ingest lock, for the whole import
  Lsn lsn_;
  uint32_t page_size_;
  std::vector<TablespaceInfo> catalog_;
  absl::flat_hash_map<uint32_t, uint32_t> sizes_;
  std::map<uint32_t, uint32_t> fsp_sizes_;  // FSP_SIZE of each imported page 0
  std::unique_ptr<ImageLayerWriter> writer_;
  uint64_t pages_ = 0;
  bool finished_ = false;
};

class TimelineImpl : public Timeline {
 public:
  TimelineImpl(std::string dir, TimelineOptions options)
      : dir_(std::move(dir)), options_(options) {}
  ~TimelineImpl() override;

  absl::Status Load();
  void StartFlusher();
  // With remote storage: ingests the WAL a restore planned, then starts the uploads.
  absl::Status StartRemote();

  absl::StatusOr<std::unique_ptr<ImportSession>> BeginImport(
      Lsn lsn, uint32_t page_size, std::vector<TablespaceInfo> catalog) override;
  absl::StatusOr<IngestResult> WriteWalAs(uint64_t writer_generation, Lsn start,
                                          std::span<const uint8_t> bytes) override;
  absl::StatusOr<Lsn> MakeWalDurable(Lsn lsn) override;
  absl::StatusOr<WriterLease> AcquireWriter(const std::string& holder) override;
  absl::Status PutAuxFile(const std::string& path, Lsn lsn, std::span<const uint8_t> content,
                          bool deleted, uint64_t writer_generation) override;
  absl::StatusOr<std::vector<uint8_t>> GetAuxFile(const std::string& path, Lsn lsn,
                                                  absl::Time deadline,
                                                  AuxFileVersion* version) override;
  absl::StatusOr<std::vector<AuxFileVersion>> ListAuxFiles(Lsn lsn,
                                                           absl::Time deadline) override;
  absl::StatusOr<Lsn> TruncateWal(Lsn lsn, uint64_t writer_generation) override;
  absl::StatusOr<PageVersion> GetPage(PageId id, Lsn lsn, absl::Time deadline) override;
  absl::StatusOr<TablespaceInfo> GetTablespace(SpaceId space, Lsn lsn,
                                               absl::Time deadline) override;
  absl::StatusOr<std::vector<TablespaceInfo>> ListTablespaces(Lsn lsn,
                                                              absl::Time deadline) override;
  TimelineStatus Status() const override;
  absl::Status Flush() override;
  absl::Status WaitUntilUploaded(absl::Time deadline) override {
    return remote_client_ ? remote_client_->WaitUntilUploaded(deadline) : absl::OkStatus();
  }

  // Called by ImportSessionImpl::Finish with the ingest lock held.
  absl::Status CompleteImport(Lsn lsn, uint32_t page_size,
                              const std::vector<TablespaceInfo>& catalog,
                              const std::map<uint32_t, uint32_t>& fsp_sizes);
  std::string LayerPath(const std::string& name) const { return dir_ + "/layers/" + name; }

 private:
  // With remote storage, before anything is loaded: claims this node's generation, and restores
  // an empty directory from the bucket, or checks that the bucket is not ahead of the directory.
  absl::Status PrepareRemote();
  // A layer file of the manifest: downloaded first when it is missing and remote storage has it
  // (a previous run evicted it).
  absl::StatusOr<std::shared_ptr<LayerFile>> OpenLayerFile(const std::string& name);
  // Evicts the least recently read layer files the bucket holds until the local ones fit in
  // local_disk_budget_bytes. Takes eviction_mu_; called with no other lock held.
  void EnforceDiskBudget();
  // Lets `file` (layer `name`, which the bucket holds in generation `gen`'s object) be evicted,
  // read from the bucket, and downloaded again.
  void MakeEvictable(LayerFile& file, const std::string& name, Generation gen);
  // Whether evicted `file` may be downloaded now: when it fits in the budget, after evicting
  // files nobody read in the last kHotLayer, least recently read first.
  bool MakeRoomFor(const LayerFile& file);
  // The current layers' files, least recently read first, and the bytes of those on local disk.
  std::vector<std::shared_ptr<LayerFile>> LayerFiles(uint64_t* resident_bytes) const;
  absl::StatusOr<Lsn> WaitFor(Lsn lsn, absl::Time deadline);
  void Index(const wal::Mtr& mtr);  // exclusive lock held
  absl::Status CheckOverlap(Lsn start, std::span<const uint8_t> bytes);
  absl::Status CheckWriter(uint64_t generation) const;  // ingest_mu_ held
  // Background flush: IngestWal freezes the open layer and hands it to the flusher thread.
  void FlusherLoop();
  bool Freeze();                // ingest_mu_ held; false when there is nothing to freeze
  absl::Status WaitForFlush();  // until no frozen layer is being written; its error if any
  absl::Status FlushError() {
    std::lock_guard<std::mutex> l(flush_mu_);
    return flush_error_;
  }
  absl::Status WriteOut(std::shared_ptr<InMemoryLayer> frozen);
  absl::Status WriteCompactionImage(const InMemoryLayer& frozen, std::string* name);
  absl::StatusOr<RawPage> ReadRaw(PageId id, Lsn lsn, const TablespaceAt& space);
  absl::StatusOr<PageVersion> ReadPage(PageId id, Lsn lsn);
  absl::StatusOr<uint32_t> FlagsOf(const TablespaceAt& space, Lsn lsn);
  absl::StatusOr<TablespaceAt> FindSpace(SpaceId space, Lsn lsn) const;

  const std::string dir_;
  const TimelineOptions options_;

  // Lock order: ingest_mu_, sync_mu_, eviction_mu_, mu_, wal_mu_, wait_mu_; a layer file's own
  // lock (layer_file.h) after any of them.
  // Serialises WriteWal, TruncateWal, Flush and import.
  std::mutex ingest_mu_;
  // Held by the one thread running a group commit's fdatasync (MakeWalDurable), and by
  // TruncateWal, so that no sync is in flight while the log's tail changes.
  std::mutex sync_mu_;
  std::atomic<uint64_t> wal_syncs_{0};
  // wal_ is appended under ingest_mu_, synced under sync_mu_ and trimmed by the flusher:
  // wal_mu_ covers every access (but a SyncTicket's fdatasync, which touches no WalLog state).
  std::mutex wal_mu_;
  std::unique_ptr<WalLog> wal_;
  std::vector<uint8_t> pending_;  // ingest_mu_: received bytes after the last whole mtr
  // Written under ingest_mu_ and mu_ (exclusive); read under either.
  std::optional<WriterLease> writer_;
  // Opened by Load before anything else; thread-safe itself.
  std::unique_ptr<AuxFileStore> aux_;

  // Guards what readers share with ingest.
  mutable std::shared_mutex mu_;
  bool has_base_ = false;
  Lsn base_lsn_;
  uint32_t page_size_ = redo::kSupportedPageSize;
  Catalog catalog_;
  std::shared_ptr<InMemoryLayer> open_;
  std::shared_ptr<InMemoryLayer> frozen_;  // being written out; still read
  std::shared_ptr<const LayerSnapshot> layers_ = std::make_shared<LayerSnapshot>();
  std::vector<std::string> layer_names_;
  Lsn disk_consistent_lsn_;
  // Records per page since its newest image (compaction's trigger). One entry per page written
  // since the last image of it.
  absl::flat_hash_map<PageId, uint32_t, std::hash<PageId>> chain_;
  // Index's scratch space (exclusive lock held).
  std::vector<uint8_t> snippet_buffer_;
  std::vector<PageId> index_pages_;
  std::vector<std::vector<uint32_t>> index_records_;
  absl::flat_hash_map<PageId, size_t, std::hash<PageId>> index_slot_;

  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  bool flush_pending_ = false;  // a frozen layer waits for or is in the flusher
  bool stopping_ = false;
  absl::Status flush_error_;  // a failed flush stops ingest (the data stays in the WAL log)
  std::thread flusher_;

  std::atomic<uint64_t> last_record_lsn_{0};
  std::atomic<uint64_t> received_lsn_{0};
  // Remote storage, when there is one: this node's generation, the newest index in the bucket
  // when it started and what a restore left to ingest (PrepareRemote), and the uploads (set by
  // StartRemote before any caller sees the timeline; const afterwards).
  Generation generation_ = 0;
  std::optional<RemoteIndex> start_index_;
  std::optional<RestoredTimeline> restored_;
  std::unique_ptr<RemoteTimelineClient> remote_client_;
  // One budget enforcement at a time. Lock order: after ingest_mu_ (Flush), before mu_ and the
  // layer files' locks.
  std::mutex eviction_mu_;
  std::atomic<uint64_t> layer_downloads_{0};
  std::atomic<uint64_t> layer_evictions_{0};
  absl::Mutex wait_mu_;  // readers waiting for an LSN
};

absl::Status ImportSessionImpl::AddPage(PageId id, std::span<const uint8_t> image) {
  if (finished_) return absl::FailedPreconditionError("import already finished");
  auto size = sizes_.find(id.space.value());
  if (size == sizes_.end()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("import: %s is in no tablespace of the catalog", ToString(id)));
  }
  if (id.page.value() >= size->second) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "import: %s is past the end of its tablespace (%d pages)", ToString(id), size->second));
  }
  if (image.size() != page_size_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "import: %s has %d bytes, the page size is %d", ToString(id), image.size(), page_size_));
  }
  // The size of the space is FSP_SIZE, which the catalog follows from here (it may exceed the
  // file: the pages past its end are zero). A page 0 naming another space is no header of this.
  if (id.page.value() == 0 && ReadBe32(image.data() + redo::kFspSpaceId) == id.space.value()) {
    fsp_sizes_[id.space.value()] = ReadBe32(image.data() + redo::kFspSize);
  }
  ++pages_;
  return writer_->Add(id, image);
}

absl::Status ImportSessionImpl::Finish() {
  if (finished_) return absl::FailedPreconditionError("import already finished");
  finished_ = true;
  RETURN_IF_ERROR(writer_->Finish());
  const absl::Status s = timeline_->CompleteImport(lsn_, page_size_, catalog_, fsp_sizes_);
  lock_.unlock();  // the timeline takes redo from here on
  return s;
}

absl::Status TimelineImpl::Load() {
  std::error_code ec;
  fs::create_directories(dir_ + "/layers", ec);
  if (ec) return absl::InternalError(absl::StrFormat("creating %s: %s", dir_, ec.message()));
  if (options_.remote != nullptr) RETURN_IF_ERROR(PrepareRemote());
  ASSIGN_OR_RETURN(aux_, AuxFileStore::Open(dir_ + "/aux"));
  ASSIGN_OR_RETURN(std::optional<Manifest> manifest, ReadManifest(dir_));
  // Files the manifest does not name are what a crash left between writing a layer and the
  // manifest that would have named it: never part of the timeline.
  std::vector<std::string> named = manifest ? manifest->layers : std::vector<std::string>();
  for (const auto& entry : fs::directory_iterator(dir_ + "/layers", ec)) {
    const std::string name = entry.path().filename().string();
    if (std::find(named.begin(), named.end(), name) == named.end()) fs::remove(entry.path(), ec);
  }
  if (!manifest) {
    // No base was ever committed: a WAL directory is left from an import that crashed.
    fs::remove_all(dir_ + "/wal", ec);
    return absl::OkStatus();
  }
  if (manifest->page_size != redo::kSupportedPageSize) {
    return absl::DataLossError(
        absl::StrFormat("%s/timeline.json: page size %d is not 16384", dir_, manifest->page_size));
  }
  ASSIGN_OR_RETURN(writer_, ReadWriterLease(dir_));
  has_base_ = true;
  base_lsn_ = manifest->base_lsn;
  page_size_ = manifest->page_size;
  disk_consistent_lsn_ = manifest->disk_consistent_lsn;
  catalog_ = std::move(manifest->catalog);
  layer_names_ = manifest->layers;
  auto layers = std::make_shared<LayerSnapshot>();
  const bool show_progress = isatty(STDERR_FILENO) != 0;
  for (const std::string& name : layer_names_) {
    ASSIGN_OR_RETURN(std::shared_ptr<LayerFile> file, OpenLayerFile(name));
    if (IsImageLayerName(name)) {
      ASSIGN_OR_RETURN(auto layer, ImageLayer::Open(file));
      layers->images.push_back(std::move(layer));
    } else {
      ASSIGN_OR_RETURN(auto layer, DeltaLayer::Open(file));
      layers->deltas.push_back(std::move(layer));
    }
    // A layer downloaded here (a restore, or one a previous run evicted) has given what is kept
    // in memory (summary, indexes, page filter); with a budget it goes again at once, so that a
    // restore never needs more disk than the budget, and reads download it on demand.
    if (file->evictable() && options_.local_disk_budget_bytes > 0 && file->Evict().ok()) {
      layer_evictions_.fetch_add(1);
    }
    if (file->evictable() && show_progress) {  // a download: long, shown on a terminal
      absl::FPrintF(stderr, "\r  layers downloaded: %d of %d", layer_downloads_.load(),
                    layer_names_.size());
    }
  }
  if (show_progress && layer_downloads_.load() > 0) absl::FPrintF(stderr, "\n");
  std::sort(layers->images.begin(), layers->images.end(),
            [](const auto& a, const auto& b) { return a->lsn() < b->lsn(); });
  std::sort(layers->deltas.begin(), layers->deltas.end(),
            [](const auto& a, const auto& b) { return a->lsn_start() < b->lsn_start(); });
  layers_ = layers;
  // Chain counts: records in delta layers after each page's newest image.
  absl::flat_hash_map<PageId, Lsn, std::hash<PageId>> newest_image;
  for (const auto& image : layers->images) {
    if (image->lsn() == base_lsn_) continue;  // the base: older than every delta
    RETURN_IF_ERROR(image->ForEachPage([&](PageId id) { newest_image[id] = image->lsn(); }));
  }
  for (const auto& delta : layers->deltas) {
    RETURN_IF_ERROR(delta->ForEachKey([&](PageId id, Lsn lsn, bool will_init) {
      auto img = newest_image.find(id);
      if (img != newest_image.end() && lsn <= img->second) return;
      chain_[id] = will_init ? 1 : chain_[id] + 1;
    }));
  }
  WalLogOptions wal_options;
  wal_options.segment_bytes = options_.wal_segment_bytes;
  wal_options.sync = options_.sync;
  ASSIGN_OR_RETURN(wal_, WalLog::Open(dir_ + "/wal", base_lsn_, wal_options));
  if (wal_->start_lsn() > disk_consistent_lsn_ || wal_->end_lsn() < disk_consistent_lsn_) {
    return absl::DataLossError(absl::StrFormat(
        "%s: the WAL log holds LSN %d..%d, but the layers end at LSN %d", dir_,
        wal_->start_lsn().value(), wal_->end_lsn().value(), disk_consistent_lsn_.value()));
  }
  open_ = std::make_shared<InMemoryLayer>(disk_consistent_lsn_);
  RETURN_IF_ERROR(wal_->Scan(disk_consistent_lsn_, [&](wal::Mtr& mtr) {
    Index(mtr);
    return absl::OkStatus();
  }));
  last_record_lsn_ = wal_->end_lsn().value();
  received_lsn_ = wal_->end_lsn().value();
  return absl::OkStatus();
}

absl::Status TimelineImpl::PrepareRemote() {
  remote::RemoteStorage& remote = *options_.remote;
  const std::string& prefix = options_.remote_prefix;
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  ASSIGN_OR_RETURN(generation_,
                   ClaimGeneration(remote, prefix,
                                   absl::StrFormat("%s pid %d %s", host, getpid(), dir_)));
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
  if (bucket.base_lsn != local->base_lsn || bucket.disk_consistent_lsn > local->disk_consistent_lsn) {
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
        return absl::DataLossError(absl::StrFormat(
            "restoring the WAL at LSN %d..%d from %s/%s: %s", piece.start.value(),
            piece.end.value(), options_.remote->Describe(), piece.key,
            ingested.status().message()));
      }
    }
    if (!restored_->wal.empty()) {
      absl::FPrintF(stderr, "pageserver: restored the WAL up to LSN %d\n", last_record_lsn_.load());
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
      manifest.emplace();
      manifest->base_lsn = base_lsn_;
      manifest->page_size = page_size_;
      manifest->disk_consistent_lsn = disk_consistent_lsn_;
      manifest->layers = layer_names_;
      manifest->catalog = catalog_;
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
          return absl::DataLossError(absl::StrFormat(
              "%s/%s: %d bytes at offset %d, expected %d", remote->Describe(), key, bytes.size(),
              offset, size));
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

bool TimelineImpl::MakeRoomFor(const LayerFile& file) {
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
      absl::FPrintF(stderr, "pageserver: evicting %s: %s\n", f->path(), evicted.message());
      continue;
    }
    resident -= f->size();
    layer_evictions_.fetch_add(1);
  }
}

absl::StatusOr<std::unique_ptr<ImportSession>> TimelineImpl::BeginImport(
    Lsn lsn, uint32_t page_size, std::vector<TablespaceInfo> catalog) {
  std::unique_lock<std::mutex> lock(ingest_mu_);
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    if (has_base_) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "the timeline already has a base at LSN %d; import needs an empty timeline",
          base_lsn_.value()));
    }
  }
  if (page_size != redo::kSupportedPageSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("import: page size %d is not supported (only 16384)", page_size));
  }
  if (lsn == Lsn(0)) return absl::InvalidArgumentError("import: the base LSN must not be 0");
  for (const TablespaceInfo& t : catalog) {
    if (absl::StatusOr<redo::TablespaceFormat> f = redo::ParseSpaceFlags(t.flags, t.space);
        !f.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("import of %s: %s", t.path, f.status().message()));
    }
  }
  ASSIGN_OR_RETURN(auto writer,
                   ImageLayerWriter::Create(LayerPath(ImageLayerName(lsn)), lsn, page_size));
  return std::unique_ptr<ImportSession>(new ImportSessionImpl(
      this, std::move(lock), lsn, page_size, std::move(catalog), std::move(writer)));
}

absl::Status TimelineImpl::CompleteImport(Lsn lsn, uint32_t page_size,
                                          const std::vector<TablespaceInfo>& catalog,
                                          const std::map<uint32_t, uint32_t>& fsp_sizes) {
  const std::string name = ImageLayerName(lsn);
  ASSIGN_OR_RETURN(std::shared_ptr<ImageLayer> image, ImageLayer::Open(LayerPath(name)));
  Manifest m;
  m.base_lsn = lsn;
  m.page_size = page_size;
  m.disk_consistent_lsn = lsn;
  m.layers = {name};
  m.catalog.AddBase(lsn, catalog, fsp_sizes);
  WalLogOptions wal_options;
  wal_options.segment_bytes = options_.wal_segment_bytes;
  wal_options.sync = options_.sync;
  // The manifest is the commit point; the WAL directory is created (empty, starting at the base
  // LSN) after it — Load does the same if a crash comes in between, and wipes a WAL directory
  // that has no manifest.
  RETURN_IF_ERROR(WriteManifest(dir_, m));
  if (remote_client_) {
    remote_client_->WalStartsAt(lsn);
    remote_client_->ScheduleIndex(m);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<WalLog> wal, WalLog::Open(dir_ + "/wal", lsn, wal_options));
  wal_ = std::move(wal);  // from here on IngestWal accepts redo
  std::unique_lock<std::shared_mutex> write(mu_);
  has_base_ = true;
  base_lsn_ = lsn;
  page_size_ = page_size;
  disk_consistent_lsn_ = lsn;
  catalog_ = std::move(m.catalog);
  auto layers = std::make_shared<LayerSnapshot>();
  layers->images = {std::move(image)};
  layers_ = std::move(layers);
  layer_names_ = {name};
  open_ = std::make_shared<InMemoryLayer>(lsn);
  last_record_lsn_ = lsn.value();
  received_lsn_ = lsn.value();
  return absl::OkStatus();
}

void TimelineImpl::Index(const wal::Mtr& mtr) {
  catalog_.Apply(mtr);
  // One snippet per page the mini-transaction touches, in the order of first touch. One pass
  // groups the records by page (a mini-transaction may touch thousands of pages).
  index_pages_.clear();
  index_records_.clear();
  index_slot_.clear();
  for (uint32_t i = 0; i < mtr.records.size(); ++i) {
    const wal::Record& rec = mtr.records[i];
    if (rec.IsFileOp() || rec.type == wal::RecordType::kOption ||
        (rec.type == wal::RecordType::kExtended && rec.subtype == wal::ExtendedType::kTrimPages)) {
      continue;
    }
    auto [slot, added] = index_slot_.try_emplace(rec.page, index_pages_.size());
    if (added) {
      index_pages_.push_back(rec.page);
      index_records_.emplace_back();
    }
    index_records_[slot->second].push_back(i);
  }
  for (size_t p = 0; p < index_pages_.size(); ++p) {
    const PageId id = index_pages_[p];
    const bool will_init =
        mtr.records[index_records_[p].front()].type == wal::RecordType::kInitPage;
    EncodeSnippetRecords(mtr, id, index_records_[p], &snippet_buffer_);
    open_->Add(id, mtr.end_lsn, will_init, snippet_buffer_);
    uint32_t& chain = chain_[id];
    chain = will_init ? 1 : chain + 1;
  }
  open_->AdvanceTo(mtr.end_lsn);
}

absl::Status TimelineImpl::CheckOverlap(Lsn start, std::span<const uint8_t> bytes) {
  const Lsn wal_end = wal_->end_lsn();
  if (start < wal_->start_lsn()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "WAL at LSN %d overlaps log that is no longer kept as WAL (it starts at LSN %d); "
        "send from LSN %d on",
        start.value(), wal_->start_lsn().value(), wal_end.value()));
  }
  const size_t overlap = static_cast<size_t>(std::min<uint64_t>(bytes.size(), wal_end - start));
  std::vector<uint8_t> stored(overlap);
  RETURN_IF_ERROR(wal_->Read(start, stored));
  auto diff = std::mismatch(stored.begin(), stored.end(), bytes.begin());
  if (diff.first != stored.end()) {
    const Lsn at = start + static_cast<uint64_t>(diff.first - stored.begin());
    return absl::InvalidArgumentError(absl::StrFormat(
        "WAL at LSN %d overlaps stored log and differs from it at LSN %d; nothing stored",
        start.value(), at.value()));
  }
  return absl::OkStatus();
}

absl::StatusOr<WriterLease> TimelineImpl::AcquireWriter(const std::string& holder) {
  // Under the ingest lock: once the new generation is returned, no append of an older one is
  // in progress or can start.
  std::lock_guard<std::mutex> lock(ingest_mu_);
  if (!wal_) return absl::FailedPreconditionError("the timeline has no base yet: import first");
  WriterLease lease;
  lease.generation = (writer_ ? writer_->generation : kNoWriterLease) + 1;
  lease.holder = holder;
  lease.granted_at = wal_->end_lsn();
  RETURN_IF_ERROR(WriteWriterLease(dir_, lease));
  if (remote_client_) remote_client_->ScheduleLease(lease);
  std::unique_lock<std::shared_mutex> write(mu_);
  writer_ = lease;
  return lease;
}

absl::Status TimelineImpl::PutAuxFile(const std::string& path, Lsn lsn,
                                      std::span<const uint8_t> content, bool deleted,
                                      uint64_t writer_generation) {
  // The ingest lock orders the put after any lease grant, as for redo.
  std::lock_guard<std::mutex> ingest(ingest_mu_);
  RETURN_IF_ERROR(CheckWriter(writer_generation));
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    if (!has_base_) {
      return absl::FailedPreconditionError("the timeline has no base yet: import first");
    }
    if (lsn < base_lsn_) {
      return absl::OutOfRangeError(
          absl::StrFormat("aux file \"%s\" at LSN %d: below the timeline's base LSN %d", path,
                          lsn.value(), base_lsn_.value()));
    }
  }
  if (lsn.value() > last_record_lsn_.load()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "aux file \"%s\" at LSN %d: the timeline holds redo only up to LSN %d; send the redo "
        "first",
        path, lsn.value(), last_record_lsn_.load()));
  }
  uint64_t seq = 0;
  RETURN_IF_ERROR(aux_->Put(path, lsn, content, deleted, &seq));
  if (remote_client_) remote_client_->ScheduleAux(seq);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> TimelineImpl::GetAuxFile(const std::string& path, Lsn lsn,
                                                              absl::Time deadline,
                                                              AuxFileVersion* version) {
  ASSIGN_OR_RETURN(const Lsn at, WaitFor(lsn, deadline));
  return aux_->Get(path, at, version);
}

absl::StatusOr<std::vector<AuxFileVersion>> TimelineImpl::ListAuxFiles(Lsn lsn,
                                                                       absl::Time deadline) {
  ASSIGN_OR_RETURN(const Lsn at, WaitFor(lsn, deadline));
  return aux_->List(at);
}

absl::Status TimelineImpl::CheckWriter(uint64_t generation) const {
  if (!writer_ || generation == writer_->generation) {
    if (!writer_ && generation != kNoWriterLease) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "writer generation %d was never granted: the timeline has no writer lease; nothing "
          "from this call was stored",
          generation));
    }
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrFormat(
      "%s is fenced: the writer lease is generation %d, held by \"%s\" since LSN %d; nothing "
      "from this call was stored",
      generation == kNoWriterLease ? std::string("a writer without a lease")
                                   : absl::StrFormat("writer generation %d", generation),
      writer_->generation, writer_->holder, writer_->granted_at.value()));
}

absl::StatusOr<IngestResult> TimelineImpl::WriteWalAs(uint64_t writer_generation, Lsn start,
                                                      std::span<const uint8_t> bytes) {
  std::lock_guard<std::mutex> lock(ingest_mu_);
  if (!wal_) return absl::FailedPreconditionError("the timeline has no base yet: import first");
  RETURN_IF_ERROR(CheckWriter(writer_generation));
  RETURN_IF_ERROR(FlushError());
  const Lsn wal_end = wal_->end_lsn();  // only ingest moves it
  const Lsn received = wal_end + pending_.size();
  IngestResult result;
  result.last_record_lsn = wal_end;
  result.received_lsn = received;
  if (start > received) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "WAL at LSN %d leaves a gap: the timeline has received up to LSN %d; send from there",
        start.value(), received.value()));
  }
  // Stored bytes may be sent again but must not change. Received bytes after the last whole
  // mini-transaction are not stored (nor acknowledged): a request that overlaps them replaces them.
  if (start < wal_end) {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    RETURN_IF_ERROR(CheckOverlap(start, bytes));
  }
  std::span<const uint8_t> fresh;
  std::vector<uint8_t> tail;  // what follows wal_end: kept pending bytes, then the new ones
  if (start + bytes.size() <= wal_end) return result;
  if (start <= wal_end) {
    fresh = bytes.subspan(static_cast<size_t>(wal_end - start));
  } else {
    tail.assign(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(start - wal_end));
    fresh = bytes;
  }
  tail.insert(tail.end(), fresh.begin(), fresh.end());

  // Decode everything before storing anything: a request is stored whole or not at all.
  wal::MtrDecoderOptions decoder_options;
  decoder_options.page_size = page_size_;
  wal::MtrDecoder decoder(wal_end, decoder_options);
  decoder.Feed(tail);
  std::vector<wal::Mtr> mtrs;
  for (;;) {
    wal::Mtr mtr;
    absl::StatusOr<bool> next = decoder.Next(&mtr);
    if (!next.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "corrupt WAL in the request starting at LSN %d: %s; nothing from this request was "
          "stored",
          start.value(), next.status().message()));
    }
    if (!*next) break;
    mtrs.push_back(std::move(mtr));
  }
  const Lsn new_end = decoder.next_lsn();
  const size_t whole = static_cast<size_t>(new_end - wal_end);
  uint64_t records = 0;
  if (whole > 0) {
    // Indexed before it is written, so that a group commit's sync, which may come from another
    // thread as soon as the bytes are in the log, never publishes an LSN whose records are not
    // indexed yet. Readers do not look past last_record_lsn. Should the write fail, the log
    // refuses everything from then on, and what was indexed here is never published.
    std::unique_lock<std::shared_mutex> write(mu_);
    for (const wal::Mtr& mtr : mtrs) {
      Index(mtr);
      records += mtr.records.size();
    }
  }
  if (whole > 0) {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    RETURN_IF_ERROR(wal_->WriteDecoded(wal_end, std::span<const uint8_t>(tail.data(), whole)));
  }
  pending_.assign(tail.begin() + static_cast<ptrdiff_t>(whole), tail.end());
  {
    absl::MutexLock wake(&wait_mu_);
    received_lsn_ = (new_end + pending_.size()).value();  // >= anything a sync published
  }
  result.last_record_lsn = new_end;
  result.received_lsn = new_end + pending_.size();
  result.bytes_stored = whole;
  result.records_stored = records;
  if (open_->bytes() >= options_.in_memory_layer_bytes) {
    // A layer file never holds redo the WAL log could still lose: sync first.
    RETURN_IF_ERROR(MakeWalDurable(new_end).status());
    // One frozen layer at a time: memory stays within about twice the threshold.
    // A failed earlier flush is reported by the next call: this one's redo is stored.
    if (WaitForFlush().ok() && Freeze()) {
      std::lock_guard<std::mutex> l(flush_mu_);
      flush_pending_ = true;
      flush_cv_.notify_all();
    }
  }
  return result;
}

absl::StatusOr<Lsn> TimelineImpl::MakeWalDurable(Lsn lsn) {
  if (Lsn(last_record_lsn_.load()) >= lsn) return Lsn(last_record_lsn_.load());
  // Group commit: whoever holds sync_mu_ syncs everything written so far; those who queued
  // behind it find their bytes covered, or become the next one to sync.
  std::lock_guard<std::mutex> sync(sync_mu_);
  if (Lsn(last_record_lsn_.load()) >= lsn) return Lsn(last_record_lsn_.load());
  WalLog::SyncTicket ticket;
  {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    if (!wal_) return absl::FailedPreconditionError("the timeline has no base yet: import first");
    if (lsn > wal_->end_lsn()) {
      return absl::OutOfRangeError(absl::StrFormat(
          "cannot make LSN %d durable: the WAL is written up to LSN %d", lsn.value(),
          wal_->end_lsn().value()));
    }
    ASSIGN_OR_RETURN(ticket, wal_->BeginSync());
  }
  // Without wal_mu_: the next requests are written meanwhile, and share the next sync.
  const absl::Status synced = ticket.Sync();
  {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    RETURN_IF_ERROR(wal_->EndSync(ticket, synced));
  }
  wal_syncs_.fetch_add(1, std::memory_order_relaxed);
  if (remote_client_) remote_client_->WalDurable(ticket.end());
  absl::MutexLock wake(&wait_mu_);
  last_record_lsn_ = std::max(last_record_lsn_.load(), ticket.end().value());
  received_lsn_ = std::max(received_lsn_.load(), ticket.end().value());
  return Lsn(last_record_lsn_.load());
}

absl::StatusOr<Lsn> TimelineImpl::TruncateWal(Lsn lsn, uint64_t writer_generation) {
  std::lock_guard<std::mutex> lock(ingest_mu_);
  std::lock_guard<std::mutex> no_sync(sync_mu_);  // the tail changes under no sync in flight
  if (!wal_) return absl::FailedPreconditionError("the timeline has no base yet: import first");
  RETURN_IF_ERROR(CheckWriter(writer_generation));
  // No layer may be half written: a frozen layer absorbs the WAL below its end.
  RETURN_IF_ERROR(WaitForFlush());
  const Lsn floor = disk_consistent_lsn_;  // ingest_mu_ held and no flush running: stable
  const Lsn end = wal_->end_lsn();
  if (lsn > end) {
    return absl::OutOfRangeError(absl::StrFormat(
        "cannot truncate the WAL at LSN %d: it ends at LSN %d", lsn.value(), end.value()));
  }
  if (lsn < floor) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot truncate the WAL at LSN %d: layer files hold its redo up to LSN %d "
        "(disk_consistent_lsn); only a tail above that can be dropped",
        lsn.value(), floor.value()));
  }
  // The LSN must be a boundary of the stored mini-transactions.
  Lsn below = floor, above = end;
  {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    absl::Status scan = wal_->Scan(floor, [&](wal::Mtr& mtr) {
      if (mtr.end_lsn <= lsn) below = mtr.end_lsn;
      if (mtr.end_lsn >= lsn) {
        above = mtr.end_lsn;
        return absl::CancelledError("past the LSN");
      }
      return absl::OkStatus();
    });
    if (!scan.ok() && !absl::IsCancelled(scan)) return scan;
  }
  if (below != lsn) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cannot truncate the WAL at LSN %d: it lies inside the stored mini-transaction %d..%d; "
        "truncate at LSN %d or %d",
        lsn.value(), below.value(), above.value(), below.value(), above.value()));
  }
  ASSIGN_OR_RETURN(std::optional<Manifest> manifest, ReadManifest(dir_));
  if (!manifest) return absl::DataLossError(absl::StrFormat("%s: the manifest is gone", dir_));
  {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    RETURN_IF_ERROR(wal_->TruncateAfter(lsn));
  }
  if (remote_client_) remote_client_->WalTruncated(lsn);
  pending_.clear();
  {
    // The in-memory layer and the catalog as a restart would rebuild them: the manifest's
    // catalog (as of disk_consistent_lsn) and the WAL after it. Readers wait meanwhile.
    std::unique_lock<std::shared_mutex> write(mu_);
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    catalog_ = std::move(manifest->catalog);
    open_ = std::make_shared<InMemoryLayer>(floor);
    RETURN_IF_ERROR(wal_->Scan(floor, [&](wal::Mtr& mtr) {
      Index(mtr);
      return absl::OkStatus();
    }));
  }
  absl::MutexLock wake(&wait_mu_);
  last_record_lsn_ = lsn.value();
  received_lsn_ = lsn.value();
  return lsn;
}

TimelineImpl::~TimelineImpl() {
  {
    std::lock_guard<std::mutex> l(flush_mu_);
    stopping_ = true;
  }
  flush_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

void TimelineImpl::StartFlusher() {
  flusher_ = std::thread([this] { FlusherLoop(); });
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
  if (!Freeze()) {
    EnforceDiskBudget();  // layers uploaded since the last flush may be evicted now
    return absl::OkStatus();
  }
  {
    std::lock_guard<std::mutex> l(flush_mu_);
    flush_pending_ = true;
  }
  flush_cv_.notify_all();
  return WaitForFlush();
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
  Manifest m;
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    m.base_lsn = base_lsn_;
    m.page_size = page_size_;
    m.disk_consistent_lsn = end;
    m.layers = layer_names_;
    m.layers.insert(m.layers.end(), added.begin(), added.end());
    m.catalog = catalog_;  // ToJson keeps only what happened up to `end`
  }
  RETURN_IF_ERROR(WriteManifest(dir_, m));
  if (remote_client_) remote_client_->ScheduleIndex(m);
  {
    std::unique_lock<std::shared_mutex> write(mu_);
    auto layers = std::make_shared<LayerSnapshot>(*layers_);
    if (delta) layers->deltas.push_back(std::move(delta));
    if (image) layers->images.push_back(std::move(image));
    layers_ = std::move(layers);
    layer_names_ = std::move(m.layers);
    disk_consistent_lsn_ = end;
    frozen_.reset();
  }
  // With remote storage, a segment goes only once the bucket has it too.
  const Lsn removable = remote_client_ ? std::min(end, remote_client_->wal_uploaded_lsn()) : end;
  {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    RETURN_IF_ERROR(wal_->RemoveSegmentsBefore(removable));
  }
  EnforceDiskBudget();
  return absl::OkStatus();
}

absl::Status TimelineImpl::WriteCompactionImage(const InMemoryLayer& frozen, std::string* name) {
  const Lsn lsn = frozen.end_lsn();
  std::vector<PageId> long_chains;
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    for (const PageId& id : frozen.SortedPages()) {
      auto it = chain_.find(id);
      if (it != chain_.end() && it->second > options_.image_chain_threshold) {
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
      chain_[id] = after;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Lsn> TimelineImpl::WaitFor(Lsn lsn, absl::Time deadline) {
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    if (!has_base_) {
      return absl::FailedPreconditionError("the timeline has no base yet: import first");
    }
    if (lsn == Lsn(0)) return Lsn(last_record_lsn_.load());
    if (lsn < base_lsn_) {
      return absl::OutOfRangeError(absl::StrFormat("LSN %d is below the timeline's base LSN %d",
                                                   lsn.value(), base_lsn_.value()));
    }
  }
  if (last_record_lsn_.load() >= lsn.value()) return lsn;  // the common case: no waiting
  absl::MutexLock lock(&wait_mu_);
  auto reached = [&]() { return last_record_lsn_.load() >= lsn.value(); };
  if (!wait_mu_.AwaitWithDeadline(absl::Condition(&reached), deadline)) {
    return absl::DeadlineExceededError(
        absl::StrFormat("LSN %d not reached in time: the timeline has stored up to LSN %d",
                        lsn.value(), last_record_lsn_.load()));
  }
  return lsn;
}

absl::StatusOr<TablespaceAt> TimelineImpl::FindSpace(SpaceId space, Lsn lsn) const {
  std::shared_lock<std::shared_mutex> read(mu_);
  std::optional<TablespaceAt> t = catalog_.Find(space, lsn);
  if (!t) {
    return absl::NotFoundError(
        absl::StrFormat("tablespace %d does not exist at LSN %d", space.value(), lsn.value()));
  }
  return *t;
}

absl::StatusOr<RawPage> TimelineImpl::ReadRaw(PageId id, Lsn lsn, const TablespaceAt& space) {
  std::vector<DeltaEntry> entries;  // newest first
  bool complete = false;
  std::shared_ptr<const LayerSnapshot> layers;
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    complete = open_->CollectNewestFirst(id, lsn, space.floor, &entries);
    if (!complete && frozen_)
      complete = frozen_->CollectNewestFirst(id, lsn, space.floor, &entries);
    if (!complete) layers = layers_;
  }
  std::optional<std::vector<uint8_t>> base;
  if (!complete) {
    // Newest first; at equal LSN the image goes first (it holds the delta's records).
    auto image = layers->images.rbegin();
    auto delta = layers->deltas.rbegin();
    while (!complete) {
      while (image != layers->images.rend() && (*image)->lsn() > lsn) ++image;
      while (delta != layers->deltas.rend() && (*delta)->lsn_start() >= lsn) ++delta;
      const bool have_image = image != layers->images.rend() && (*image)->lsn() >= space.floor;
      const bool have_delta = delta != layers->deltas.rend() && (*delta)->lsn_end() >= space.floor;
      if (!have_image && !have_delta) break;
      if (have_image && (!have_delta || (*image)->lsn() >= (*delta)->lsn_end())) {
        ASSIGN_OR_RETURN(base, (*image)->Get(id));
        complete = base.has_value();
        ++image;
      } else {
        ASSIGN_OR_RETURN(complete, (*delta)->CollectNewestFirst(id, lsn, space.floor, &entries));
        ++delta;
      }
    }
  }
  RawPage page;
  page.frame = base ? std::move(*base) : std::vector<uint8_t>(page_size_, 0);
  if (entries.empty()) {
    page.from_image_only = base.has_value();
    // Never written since the floor: zeros, as in a file InnoDB extended. After a TRIM_PAGES
    // such a page is undefined (free) in MariaDB too.
    page.freed = !base.has_value() && space.trimmed;
    return page;
  }
  std::vector<std::vector<uint8_t>> snippets;
  snippets.reserve(entries.size());
  for (auto e = entries.rbegin(); e != entries.rend(); ++e)
    snippets.push_back(std::move(e->snippet));
  ReconstructResult result;
  RETURN_IF_ERROR(ReconstructPage(id, page.frame, snippets, &result));
  page.freed = result.freed;
  page.applied = static_cast<uint32_t>(result.applied);
  page.from_image_only = result.applied == 0 && base.has_value();
  return page;
}

absl::StatusOr<uint32_t> TimelineImpl::FlagsOf(const TablespaceAt& space, Lsn lsn) {
  if (space.flags) return *space.flags;
  // A tablespace created after the base: its flags are in its page 0 (FSP_SPACE_FLAGS).
  ASSIGN_OR_RETURN(RawPage page0, ReadRaw(PageId{space.space, PageNo(0)}, lsn, space));
  const uint32_t flags = ReadBe32(page0.frame.data() + redo::kFspSpaceFlags);
  if (ReadBe32(page0.frame.data() + redo::kFilPageSpaceId) != space.space.value()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("tablespace %d has no initialised page 0 at LSN %d, so its format is "
                        "unknown",
                        space.space.value(), lsn.value()));
  }
  std::unique_lock<std::shared_mutex> write(mu_);
  catalog_.SetFlags(space.space, lsn, flags);
  return flags;
}

absl::StatusOr<PageVersion> TimelineImpl::ReadPage(PageId id, Lsn lsn) {
  ASSIGN_OR_RETURN(TablespaceAt space, FindSpace(id.space, lsn));
  if (id.page.value() >= space.pages) {
    return absl::OutOfRangeError(
        absl::StrFormat("%s is past the end of tablespace %d (%d pages) at LSN %d", ToString(id),
                        id.space.value(), space.pages, lsn.value()));
  }
  ASSIGN_OR_RETURN(RawPage raw, ReadRaw(id, lsn, space));
  PageVersion out;
  out.lsn = lsn;
  out.freed = raw.freed;
  out.records_applied = raw.applied;
  if (raw.applied > 0) {
    // Freed pages too: a page handed out must be valid, and a freed one is its last image before
    // the free, as MariaDB would have flushed it. A never-written (zero) frame stays zero.
    // Page 0 carries its own flags; other pages take them from the catalog (or page 0).
    uint32_t flags = ReadBe32(raw.frame.data() + redo::kFspSpaceFlags);
    if (id.page.value() != 0) {
      ASSIGN_OR_RETURN(flags, FlagsOf(space, lsn));
    }
    ASSIGN_OR_RETURN(redo::TablespaceFormat format, redo::ParseSpaceFlags(flags, id.space));
    redo::PrepareForWrite(raw.frame, id, format.full_crc32);
  }
  out.image = std::move(raw.frame);
  return out;
}

absl::StatusOr<PageVersion> TimelineImpl::GetPage(PageId id, Lsn lsn, absl::Time deadline) {
  ASSIGN_OR_RETURN(const Lsn at, WaitFor(lsn, deadline));
  absl::StatusOr<PageVersion> page = ReadPage(id, at);
  if (!page.ok() && !absl::IsNotFound(page.status()) && !absl::IsOutOfRange(page.status()) &&
      !absl::IsFailedPrecondition(page.status())) {
    return absl::Status(page.status().code(),
                        absl::StrFormat("reading %s at LSN %d: %s", ToString(id), at.value(),
                                        page.status().message()));
  }
  return page;
}

absl::StatusOr<TablespaceInfo> TimelineImpl::GetTablespace(SpaceId space, Lsn lsn,
                                                           absl::Time deadline) {
  ASSIGN_OR_RETURN(const Lsn at, WaitFor(lsn, deadline));
  ASSIGN_OR_RETURN(TablespaceAt t, FindSpace(space, at));
  absl::StatusOr<uint32_t> flags = FlagsOf(t, at);
  return TablespaceInfo{t.space, t.path, flags.ok() ? *flags : 0, t.pages};
}

absl::StatusOr<std::vector<TablespaceInfo>> TimelineImpl::ListTablespaces(Lsn lsn,
                                                                          absl::Time deadline) {
  ASSIGN_OR_RETURN(const Lsn at, WaitFor(lsn, deadline));
  std::vector<TablespaceAt> spaces;
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    spaces = catalog_.ListFiles(at);
  }
  std::vector<TablespaceInfo> out;
  for (const TablespaceAt& t : spaces) {
    absl::StatusOr<uint32_t> flags = FlagsOf(t, at);
    out.push_back({t.space, t.path, flags.ok() ? *flags : 0, t.pages});
  }
  return out;
}

TimelineStatus TimelineImpl::Status() const {
  TimelineStatus s;
  std::shared_lock<std::shared_mutex> read(mu_);
  s.has_base = has_base_;
  s.base_lsn = base_lsn_;
  s.last_record_lsn = Lsn(last_record_lsn_.load());
  s.durable_lsn = s.last_record_lsn;  // ingest acknowledges only after fdatasync
  s.received_lsn = Lsn(received_lsn_.load());
  s.disk_consistent_lsn = disk_consistent_lsn_;
  s.wal_syncs = wal_syncs_.load(std::memory_order_relaxed);
  if (remote_client_) s.remote_consistent_lsn = remote_client_->remote_consistent_lsn();
  s.writer = writer_;
  s.image_layers = static_cast<uint32_t>(layers_->images.size());
  s.delta_layers = static_cast<uint32_t>(layers_->deltas.size());
  for (const auto& l : layers_->images) {
    s.image_layer_bytes += l->file_bytes();
    s.local_layer_bytes += l->file()->resident() ? l->file_bytes() : 0;
    s.layer_remote_reads += l->file()->remote_reads();
  }
  for (const auto& l : layers_->deltas) {
    s.delta_layer_bytes += l->file_bytes();
    s.local_layer_bytes += l->file()->resident() ? l->file_bytes() : 0;
    s.layer_remote_reads += l->file()->remote_reads();
  }
  s.layer_downloads = layer_downloads_.load();
  s.layer_evictions = layer_evictions_.load();
  if (open_) s.in_memory_bytes += open_->bytes();
  if (frozen_) s.in_memory_bytes += frozen_->bytes();
  s.tablespaces = has_base_ ? static_cast<uint32_t>(catalog_.List(s.last_record_lsn).size()) : 0;
  return s;
}

}  // namespace

absl::StatusOr<IngestResult> Timeline::IngestWalAs(uint64_t writer_generation, Lsn start,
                                                   std::span<const uint8_t> bytes) {
  ASSIGN_OR_RETURN(IngestResult written, WriteWalAs(writer_generation, start, bytes));
  // Also when nothing new was written: a resend of bytes written but not yet synced.
  RETURN_IF_ERROR(MakeWalDurable(written.last_record_lsn).status());
  return written;
}

absl::StatusOr<std::unique_ptr<Timeline>> Timeline::Open(const std::string& dir,
                                                         TimelineOptions options) {
  auto timeline = std::make_unique<TimelineImpl>(dir, options);
  RETURN_IF_ERROR(timeline->Load());
  timeline->StartFlusher();
  if (options.remote != nullptr) RETURN_IF_ERROR(timeline->StartRemote());
  return std::unique_ptr<Timeline>(std::move(timeline));
}

}  // namespace pageserver::storage
