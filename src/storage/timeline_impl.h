// TimelineImpl: the implementation of Timeline (timeline.h), internal to storage/. Its parts,
// each in its own file, share this class:
//   timeline.cc          open and load, import, WAL ingest with group commit, truncation, the
//                        writer lease, status;
//   timeline_read.cc     the read path: waiting for an LSN, the layer map walk, reconstruction;
//   timeline_flush.cc    freezing the in-memory layer, writing delta and image layers;
//                        CommitLayers, the commit point of every change of the layer set; the
//                        background threads;
//   timeline_compaction.cc  level-0 delta layers merged into key-partitioned level-1 ones;
//   timeline_gc.cc       full image sets and garbage collection;
//   timeline_materialize.cc  hot pages reconstructed in the background;
//   timeline_remote.cc   remote storage: generations and restore at open, the uploads, the local
//                        disk budget (eviction and on-demand download);
//   timeline_branch.cc   branches: creation, and a branch's reads of what its ancestor holds.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "redo/tablespace_format.h"
#include "storage/delta_layer.h"
#include "storage/image_layer.h"
#include "storage/in_memory_layer.h"
#include "storage/materialized_pages.h"
#include "storage/remote_restore.h"
#include "storage/remote_timeline_client.h"
#include "storage/timeline.h"
#include "storage/timeline_manifest.h"
#include "storage/wal_log.h"
#include "wal/record.h"

namespace pageserver::storage {

// The layers a read consults, taken under the lock and used without it (layers are immutable;
// the in-memory ones are read under the lock before it is released). Never changed once
// published: a flush publishes a new one, so a read takes one reference, not one per layer.
struct LayerSnapshot {
  std::vector<std::shared_ptr<const ImageLayer>> images;  // ascending LSN
  std::vector<std::shared_ptr<const DeltaLayer>> deltas;  // ascending LSN
};

// The order reads walk: images by LSN; deltas by LSN range, then by keys (the level-1 layers of
// one compaction share their LSN range).
inline void SortLayers(LayerSnapshot& layers) {
  std::stable_sort(layers.images.begin(), layers.images.end(),
                   [](const auto& a, const auto& b) { return a->lsn() < b->lsn(); });
  std::sort(layers.deltas.begin(), layers.deltas.end(), [](const auto& a, const auto& b) {
    return a->lsn_start() != b->lsn_start() ? a->lsn_start() < b->lsn_start()
                                            : a->key_range().start < b->key_range().start;
  });
}

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
      : dir_(std::move(dir)),
        options_(options),
        branch_points_(options.branch_points.begin(), options.branch_points.end()),
        materialized_(std::make_unique<MaterializedPages>(options.materialized_pages_bytes)) {}
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
  absl::StatusOr<std::vector<AuxFileVersion>> ListAuxFiles(Lsn lsn, absl::Time deadline) override;
  absl::StatusOr<Lsn> TruncateWal(Lsn lsn, uint64_t writer_generation) override;
  absl::StatusOr<PageVersion> GetPage(PageId id, Lsn lsn, absl::Time deadline) override;
  void RemoveBranchPoint(Lsn lsn) override;
  absl::StatusOr<Lsn> LsnAt(absl::Time time) const override;
  // Notes that `lsn` is durable now (wait_mu_ held), for LsnAt.
  void RecordArrivalLocked(Lsn lsn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(wait_mu_);

  // Branches (timeline_branch.cc). As an ancestor: checks that a branch may start at `lsn` (0:
  // last_record_lsn) and keeps it as a branch point at once (under commit_mu_, so that no GC
  // passes it meanwhile); returns the branch's first manifest (no layers; the catalog at lsn).
  absl::StatusOr<Manifest> StartBranch(Lsn lsn);
  // For a branch reading at `lsn` what it does not hold: the page, or nullopt when it does not
  // exist here then (no such tablespace, or past its end). No GC cutoff applies: GC keeps the
  // history of branch points.
  absl::StatusOr<std::optional<PageVersion>> ReadForBranch(PageId id, Lsn lsn);
  // The aux file `path` at `lsn`, here or, where this timeline has no version of it, in its
  // ancestors: NotFound when none has one or the newest is a deletion.
  absl::StatusOr<std::vector<uint8_t>> AuxAt(const std::string& path, Lsn lsn,
                                             AuxFileVersion* version) const;
  // Every aux file existing at `lsn`, here and in the ancestors (the newest version wins).
  std::vector<AuxFileVersion> AuxListAt(Lsn lsn) const;
  const TimelineIdentity& identity() const { return identity_; }
  // The lowest LSN readable here: the base, or for a branch its root's base.
  Lsn ReadableFrom() const {
    if (ancestor_ != nullptr) return ancestor_->ReadableFrom();
    std::shared_lock<std::shared_mutex> read(mu_);
    return base_lsn_;
  }
  // For a branch read at `lsn` below its branch LSN: the ancestor, whose history that is (its
  // own GC cutoff applies); null otherwise.
  TimelineImpl* AncestorBelow(Lsn lsn) const {
    return ancestor_ != nullptr && lsn != Lsn(0) && lsn < identity_.ancestor_lsn ? ancestor_
                                                                                 : nullptr;
  }
  absl::StatusOr<TablespaceInfo> GetTablespace(SpaceId space, Lsn lsn,
                                               absl::Time deadline) override;
  absl::StatusOr<std::vector<TablespaceInfo>> ListTablespaces(Lsn lsn,
                                                              absl::Time deadline) override;
  TimelineStatus Status() const override;
  absl::Status Flush() override;
  void WaitForMaterialized() override { WaitForMaterializer(); }
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
  // files nobody read in the last kHotLayer, least recently read first. Never for a retired
  // file: it would come back under a name no manifest holds.
  bool MakeRoomFor(const LayerFile& file);
  // Layers a commit removed while readers may still hold them (a read that took the layer
  // snapshot before a GC): their objects stay in the bucket until the last holder lets go, so
  // that such a read, from an evicted file, still finds them. Called by CommitLayers.
  void Retire(const std::shared_ptr<LayerFile>& file);
  // Whether layer `name` was retired and is still held (the remote client keeps its object).
  bool RetiredAndHeld(const std::string& name);
  // The current layers' files, least recently read first, and the bytes of those on local disk.
  std::vector<std::shared_ptr<LayerFile>> LayerFiles(uint64_t* resident_bytes) const;
  absl::StatusOr<Lsn> WaitFor(Lsn lsn, absl::Time deadline);
  void Index(const wal::Mtr& mtr);  // exclusive lock held
  absl::Status CheckOverlap(Lsn start, std::span<const uint8_t> bytes);
  absl::Status CheckWriter(uint64_t generation) const;  // ingest_mu_ held
  // With remote storage, whether the uploads go on: once they stopped for good (this node
  // fenced by a newer generation, or the bucket's data not what this node holds), redo, aux
  // files and leases are refused, since neither a restore nor the node that fenced this one
  // would ever see them.
  absl::Status CheckUploading() const;
  // Background flush: IngestWal freezes the open layer and hands it to the flusher thread.
  void FlusherLoop();
  bool Freeze();                // ingest_mu_ held; false when there is nothing to freeze
  absl::Status WaitForFlush();  // until no frozen layer is being written; its error if any
  absl::Status FlushError() {
    std::lock_guard<std::mutex> l(flush_mu_);
    return flush_error_;
  }
  absl::Status WriteOut(std::shared_ptr<InMemoryLayer> frozen);
  // The manifest of the timeline as it stands, with `layers` (mu_ held, shared at least).
  Manifest ManifestLocked(std::vector<std::string> layers) const;
  // The background work after flushes, on its own thread so that ingest never waits for it
  // (timeline_gc.cc, timeline_compaction.cc): compaction of level-0 delta layers, a full image set
  // when the deltas since the last one reached image_creation_delta_bytes, then garbage collection.
  // A failure is logged; the timeline stays as it was.
  void MaintenanceLoop();
  // The materializer thread (timeline_materialize.cc): reconstructs queued hot pages at the
  // newest LSN and keeps their images in materialized_.
  void MaterializerLoop();
  void Materialize(PageId id);
  void QueueMaterialization(PageId id);  // mu_ held exclusively (Index)
  void WaitForMaterializer();            // until the queue is empty and nothing is in progress
  void CompactAndCollect();
  // Until no background work is requested or running (Flush).
  void WaitForMaintenance();
  absl::Status CompactLevel0();
  absl::Status WriteFullImageSet();
  absl::Status CollectGarbage();
  // The lowest LSN the PITR window keeps readable; 0 when the window is unlimited.
  Lsn PitrCutoff() const;
  // The lowest LSN whose history GC keeps for `cutoff`: the cutoff, or the lowest branch point
  // below it (mu_ held).
  Lsn KeptFromLocked(Lsn cutoff) const;
  // Replaces the layers: `edit` turns the manifest as it stands into the new one (under
  // commit_mu_, so that the flusher and the background work never lose each other's changes);
  // the layers `edit` adds are `images` and `deltas`, those it drops go. The manifest is written
  // first (the commit point), then published with its disk_consistent_lsn (a frozen layer it
  // covers is no longer read); then the files dropped go from the local disk and, through the
  // next index, from the bucket.
  absl::Status CommitLayers(std::vector<std::shared_ptr<ImageLayer>> images,
                            std::vector<std::shared_ptr<DeltaLayer>> deltas,
                            const std::function<void(Manifest&)>& edit);
  absl::Status WriteCompactionImage(const InMemoryLayer& frozen, std::string* name);
  absl::StatusOr<RawPage> ReadRaw(PageId id, Lsn lsn, const TablespaceAt& space);
  absl::StatusOr<PageVersion> ReadPage(PageId id, Lsn lsn);
  absl::StatusOr<uint32_t> FlagsOf(const TablespaceAt& space, Lsn lsn);
  absl::StatusOr<TablespaceAt> FindSpace(SpaceId space, Lsn lsn) const;

  const std::string dir_;
  const TimelineOptions options_;
  // Set by Load (or an import, under mu_), never changed after: who this timeline is and, for a
  // branch, its ancestor (options_.ancestor, which outlives it).
  TimelineIdentity identity_;
  TimelineImpl* ancestor_ = nullptr;

  // Lock order: ingest_mu_, sync_mu_, commit_mu_, eviction_mu_, mu_, wal_mu_, wait_mu_; a layer
  // file's own lock (layer_file.h) after any of them. flush_mu_, maintenance_mu_ and
  // materialize_mu_ are leaves: nothing is taken under them (Index, under mu_ and, in a
  // truncation, wal_mu_, queues under materialize_mu_).
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
  Lsn gc_cutoff_;                                   // reads below are refused
  // Where this timeline's branches start (GC keeps their history). Written under commit_mu_ and
  // mu_ (exclusive), read under either.
  std::multiset<Lsn> branch_points_;
  std::vector<Lsn> full_image_lsns_;                // ascending
  std::vector<std::pair<int64_t, Lsn>> lsn_times_;  // (unix seconds, LSN) at each flush
  // Bytes of delta layers written since the newest full image set: added by the flusher, reset
  // by the background work.
  std::atomic<uint64_t> delta_bytes_since_full_image_{0};
  // Records per page since its newest image (the flush's compaction images' trigger), and since
  // its newest image or materialization (the materializer's). One entry per page written since
  // the last image of it.
  struct ChainCounts {
    uint32_t since_image = 0;
    uint32_t since_materialized = 0;
  };
  absl::flat_hash_map<PageId, ChainCounts, std::hash<PageId>> chain_;
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

  // Serialises the changes of the layer set and the manifest (CommitLayers): the flusher adds,
  // the background work replaces and removes.
  std::mutex commit_mu_;

  // The background work (MaintenanceLoop), requested after every flush.
  std::mutex maintenance_mu_;
  std::condition_variable maintenance_cv_;
  bool maintenance_requested_ = false;  // maintenance_mu_
  bool maintenance_running_ = false;    // maintenance_mu_
  bool maintenance_stopping_ = false;   // maintenance_mu_
  std::thread maintenance_;
  std::atomic<uint64_t> compactions_{0};

  // Hot pages reconstructed in the background (timeline_materialize.cc). Index queues a page
  // when its records since the newest image or materialization reach materialize_threshold.
  std::unique_ptr<MaterializedPages> materialized_;  // set by the constructor
  std::mutex materialize_mu_;                        // a leaf (Index queues under it)
  std::condition_variable materialize_cv_;
  std::vector<PageId> materialize_queue_;  // materialize_mu_
  bool materializing_ = false;             // materialize_mu_
  bool materializer_stopping_ = false;     // materialize_mu_
  std::thread materializer_;
  std::atomic<uint64_t> materializations_{0};
  // WAL truncations: an image reconstructed across one may hold records that are gone.
  std::atomic<uint64_t> truncations_{0};

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
  // Retired layers by name (Retire). A leaf: nothing is taken under it, and it is taken under
  // commit_mu_ and from the remote client's thread.
  std::mutex retired_mu_;
  std::map<std::string, std::weak_ptr<LayerFile>> retired_;  // retired_mu_
  std::atomic<uint64_t> layer_downloads_{0};
  std::atomic<uint64_t> layer_evictions_{0};
  mutable absl::Mutex wait_mu_;  // readers waiting for an LSN; arrivals_
  // (unix second, the last LSN made durable in it), one per second with redo, the last
  // kArrivalSeconds of them (LsnAt).
  static constexpr size_t kArrivalSeconds = 24 * 3600;
  std::deque<std::pair<int64_t, Lsn>> arrivals_ ABSL_GUARDED_BY(wait_mu_);
};

}  // namespace pageserver::storage
