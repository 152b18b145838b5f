// Timeline: one history of a MariaDB instance's pages — a base imported at one LSN plus every
// mini-transaction of redo after it — stored durably and readable at any LSN since the base
// (the timeline of Neon's layered repository; docs/timeline_format.md).
//
// On disk, under DIR:
//   timeline.json   the manifest: base LSN, disk_consistent_lsn, the layer files that count,
//                   and the tablespace catalog as of disk_consistent_lsn. Replaced atomically
//                   (tmp + rename + dir fsync); it is the commit point of every flush.
//   wal/            the WalLog: every accepted byte of redo not yet in a delta layer.
//   layers/         immutable image layers (import, compaction) and delta layers (frozen
//                   in-memory layers). A file the manifest does not name is garbage of a crash.
//
// Write path (IngestWal): bytes at an LSN -> the incomplete tail of the previous call + these
// bytes are cut into whole mini-transactions, every one checked before anything is stored ->
// each record indexed under its page in the in-memory layer and the catalog updated (readers
// do not look past last_record_lsn) -> written to the WalLog -> group commit: one fdatasync for
// every request written so far -> last_record_lsn advances and waiting readers wake. The call
// returns only after that, so an acknowledged LSN survives kill -9 and power loss.
// When the in-memory layer holds `in_memory_layer_bytes`, it is frozen and written as a level-0
// delta layer; if `image_chain_threshold` is set, pages whose chain of records since their last
// image has grown past it get a new image layer at the same LSN; then the manifest is replaced
// and WAL segments wholly below disk_consistent_lsn are removed. Ingest goes on meanwhile: it
// waits only when a second layer fills before the first is written. Compaction, full image sets
// and GC run on a thread of their own after flushes, and ingest never waits for them.
//
// Read path (GetPage): wait until last_record_lsn >= lsn (bounded by a deadline) -> collect the
// page's snippets newest first from the in-memory layer, then the delta layers that cover the
// page, stopping at one that initialises the page, or at the newest image at or below lsn
// holding it (of a delta layer spanning that image's LSN, only the records above it) ->
// ReconstructPage ->
// checksum for the tablespace's format.
//
// Hot pages: once a page has `materialize_threshold` records since its newest image, a
// background thread reconstructs it and keeps the image in memory, and reads replay only what
// came after (materialized_pages.h).
//
// Memory is bounded by configuration: the in-memory layer (`in_memory_layer_bytes`), the
// materialized pages (`materialized_pages_bytes`), the
// layer files' in-memory block indexes (a few bytes per 4 KiB of index), the catalog.
//
// Thread-safety: every public method may be called from any thread. Ingest and flush are
// serialised; reads run concurrently with each other and with ingest.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/types.h"
#include "storage/aux_file_store.h"
#include "storage/catalog.h"
#include "storage/timeline_identity.h"
#include "storage/writer_lease.h"

namespace pageserver::remote {
class RemoteStorage;
}

namespace pageserver::storage {

struct TimelineOptions {
  // Freeze threshold of the in-memory layer (bytes of snippets).
  uint64_t in_memory_layer_bytes = 64ull << 20;
  uint64_t wal_segment_bytes = 64ull << 20;
  // A page with more records than this since its newest image gets a new image at flush; 0
  // (the default) writes none. The materializer bounds replay without writing anything, and
  // these images cost ingest (bench/getpage, 100 -> 142 MB/s without them) and storage
  // (bench/storage, 15% less) while reads stayed at p99 <= 8 records either way.
  uint32_t image_chain_threshold = 0;
  // A page with this many records since its newest image (or materialization) is reconstructed
  // in the background and kept in memory (materialized_pages.h), so that a read replays fewer
  // records than this plus those that arrived meanwhile; 0 turns it off. The images kept take at
  // most materialized_pages_bytes.
  uint32_t materialize_threshold = 16;
  uint64_t materialized_pages_bytes = 64ull << 20;
  // fdatasync before acknowledging; only tests of unrelated behaviour turn it off.
  bool sync = true;
  // Remote storage (issue 10): when set, the timeline claims a generation there, is restored
  // from it when `dir` holds none (remote_restore.h), and uploads everything it stores under
  // `remote_prefix` (remote_timeline_client.h). Must outlive the timeline.
  remote::RemoteStorage* remote = nullptr;
  std::string remote_prefix = "timelines/main";
  // Garbage collection with a PITR window (timeline_gc.cc): history within the window stays
  // readable, reads below it are refused, and layers only the history before it needs are
  // deleted (locally and in the bucket). The window is the larger of the two limits; with both
  // unlimited (the default), nothing is collected.
  absl::Duration pitr_window = absl::InfiniteDuration();
  uint64_t pitr_window_bytes = UINT64_MAX;
  // Compaction (timeline_compaction.cc): once this many level-0 delta layers (one per flush)
  // stand, they are merged into level-1 layers of about compaction_target_bytes each, which
  // partition the pages between them, so that a read opens one file per compacted LSN range.
  uint32_t compaction_threshold = 10;
  uint64_t compaction_target_bytes = 128ull << 20;
  // A full image set (every page at one LSN, in files of at most 8192 pages) is written once the
  // delta layers since the newest one hold this many bytes: it bounds replay, and is what lets
  // GC delete the layers below it.
  uint64_t image_creation_delta_bytes = 1ull << 30;
  // With remote storage, the local layer files are a cache of the bucket's: the least recently
  // read are evicted to keep them within this many bytes, and downloaded again when a read needs
  // them (layer_file.h). 0: no limit. Layers not yet in the bucket are never evicted.
  uint64_t local_disk_budget_bytes = 0;
  // The bucket covers acknowledged redo with at most about this lag (remote_timeline_client.h).
  absl::Duration remote_wal_upload_interval = absl::Seconds(1);
  // Branches (timeline_branch.cc). For a branch: its ancestor, open, which must outlive it (a
  // branch's manifest names its ancestor; opening one without it is refused). For any timeline:
  // the LSNs its branches start at, whose history GC keeps whatever the PITR window says.
  class Timeline* ancestor = nullptr;
  std::vector<Lsn> branch_points;
};



struct PageVersion {
  std::vector<uint8_t> image;  // the page as MariaDB writes it (checksum included)
  Lsn lsn;                     // the LSN it was read at
  bool freed = false;          // free at lsn: `image` is the last image before it was freed
  uint32_t records_applied = 0;
};

struct IngestResult {
  Lsn last_record_lsn;          // end of the last complete mini-transaction stored (durable)
  Lsn received_lsn;             // end of the bytes received, incomplete tail included
  uint64_t bytes_stored = 0;    // bytes of whole mini-transactions this call stored
  uint64_t records_stored = 0;  // records indexed by this call
};

struct TimelineStatus {
  Lsn base_lsn;  // the lowest LSN readable: the import's (a branch's root's; see identity)
  Lsn last_record_lsn;
  Lsn durable_lsn;
  Lsn received_lsn;
  Lsn disk_consistent_lsn;
  uint32_t image_layers = 0;
  uint32_t delta_layers = 0;
  uint32_t level1_delta_layers = 0;  // of the delta layers, those compaction wrote
  uint64_t compactions = 0;          // since the timeline was opened
  uint64_t materialized_pages = 0;   // pages whose newest image is kept in memory
  uint64_t materializations = 0;     // pages reconstructed in the background since the open
  uint64_t image_layer_bytes = 0;
  uint64_t delta_layer_bytes = 0;
  uint64_t in_memory_bytes = 0;
  uint32_t tablespaces = 0;
  // fdatasyncs of the WAL log by group commit since the timeline was opened: fewer than the
  // requests ingested when requests shared them.
  uint64_t wal_syncs = 0;
  // Reads below this LSN are refused: garbage collection removed the history before it.
  Lsn gc_cutoff_lsn;
  uint32_t full_image_sets = 0;  // full image sets the layers hold (the base counts)
  // Everything up to here is in remote storage (0: none, or no remote storage).
  Lsn remote_consistent_lsn;
  // Layer files on the local disk (the rest are evicted to remote storage), and how many
  // downloads and evictions the timeline made since it was opened.
  uint64_t local_layer_bytes = 0;
  uint64_t layer_downloads = 0;
  uint64_t layer_evictions = 0;
  // Reads served from the bucket's copy of an evicted layer that was not downloaded again.
  uint64_t layer_remote_reads = 0;
  bool has_base = false;
  std::optional<WriterLease> writer;  // the lease, once one was granted
  TimelineIdentity identity;
};

class Timeline;

// Receives the base of an empty timeline. Pages must come in ascending (space, page) order.
class ImportSession {
 public:
  virtual ~ImportSession() = default;
  virtual absl::Status AddPage(PageId id, std::span<const uint8_t> image) = 0;
  // Makes the base durable and visible; the timeline then serves reads from `lsn` on.
  virtual absl::Status Finish() = 0;
};

class Timeline {
 public:
  // Opens the timeline in `dir` (created empty if absent): loads the manifest and its layers,
  // and replays the WAL log's tail into the in-memory layer.
  static absl::StatusOr<std::unique_ptr<Timeline>> Open(const std::string& dir,
                                                        TimelineOptions options = {});
  virtual ~Timeline() = default;

  // Creates, in `dir` (which must not exist), a branch of `ancestor` at `lsn` (0: its
  // last_record_lsn) with id `id`: nothing is copied but the catalog at `lsn`; the branch reads
  // what it does not hold from the ancestor at `lsn`, and takes redo from `lsn` on. Reads of the
  // branch below `lsn` are the ancestor's (its GC cutoff applies to them). `lsn` is
  // kept as a branch point of the ancestor at once (GC keeps its history), until
  // RemoveBranchPoint. Open the branch with Open and `ancestor` in its options. Refused, with
  // nothing created: OutOfRange below the ancestor's GC cutoff or base, or above its
  // last_record_lsn; FailedPrecondition for an ancestor without a base; AlreadyExists for `dir`.
  // Returns the branch LSN.
  static absl::StatusOr<Lsn> CreateBranch(const std::string& dir, Timeline& ancestor, Lsn lsn,
                                          const std::string& id);
  // A branch at `lsn` was deleted: its history need not be kept for it any more.
  virtual void RemoveBranchPoint(Lsn lsn) = 0;
  // The last LSN stored before the second `time` falls in began: what a branch "at" that time
  // starts from. Known to the second for redo that arrived since the timeline was opened (the
  // last 24 hours of it), and to the flush before that. OutOfRange when nothing is known to have
  // arrived by then.
  virtual absl::StatusOr<Lsn> LsnAt(absl::Time time) const = 0;

  // Starts the import of the base. FailedPrecondition when the timeline already has one.
  virtual absl::StatusOr<std::unique_ptr<ImportSession>> BeginImport(
      Lsn lsn, uint32_t page_size, std::vector<TablespaceInfo> catalog) = 0;

  // Redo bytes whose first byte is at `start`. See the write path above. Refused, with nothing
  // from this call stored: a gap after received_lsn (FailedPrecondition), an overlap whose bytes
  // differ from the stored ones or corrupt bytes (InvalidArgument, naming the LSN). Bytes after
  // last_record_lsn (an incomplete mini-transaction) are held in memory only, never acknowledged;
  // a call that overlaps them replaces them.
  // As a writer without a lease (generation 0).
  absl::StatusOr<IngestResult> IngestWal(Lsn start, std::span<const uint8_t> bytes) {
    return IngestWalAs(kNoWriterLease, start, bytes);
  }
  // As the writer of `writer_generation`: refused (FailedPrecondition, nothing stored) unless it
  // is the current lease's generation, or 0 while no lease was ever granted (writer_lease.h).
  // WriteWalAs, then MakeWalDurable of what it wrote.
  absl::StatusOr<IngestResult> IngestWalAs(uint64_t writer_generation, Lsn start,
                                           std::span<const uint8_t> bytes);

  // IngestWalAs in two steps, so that a writer can send its next request while the previous
  // one is being synced, and requests written meanwhile share one fdatasync (group commit).
  // WriteWalAs checks, writes and indexes, with no sync: nothing it wrote is acknowledged,
  // nor visible to readers (last_record_lsn), before a MakeWalDurable covering it returns.
  // Its result's last_record_lsn is the end of what it wrote.
  virtual absl::StatusOr<IngestResult> WriteWalAs(uint64_t writer_generation, Lsn start,
                                                  std::span<const uint8_t> bytes) = 0;
  // Returns once the redo up to `lsn` is durable and visible; one fdatasync covers every request
  // written before it began. Returns the durable LSN (>= lsn). An error means the sync failed:
  // the timeline then refuses redo until it is reopened.
  virtual absl::StatusOr<Lsn> MakeWalDurable(Lsn lsn) = 0;

  // Grants the writer lease to `holder`: a new generation, durable before it is returned; the
  // previous holder's appends are refused from then on (an append in progress finishes first).
  // FailedPrecondition without a base.
  virtual absl::StatusOr<WriterLease> AcquireWriter(const std::string& holder) = 0;

  // The page at `lsn` (0 = last_record_lsn). Waits for lsn until `deadline`
  // (DeadlineExceeded). OutOfRange below the base LSN or past the tablespace's end; NotFound
  // for a tablespace unknown at lsn.
  virtual absl::StatusOr<PageVersion> GetPage(PageId id, Lsn lsn, absl::Time deadline) = 0;

  virtual absl::StatusOr<TablespaceInfo> GetTablespace(SpaceId space, Lsn lsn,
                                                       absl::Time deadline) = 0;
  virtual absl::StatusOr<std::vector<TablespaceInfo>> ListTablespaces(Lsn lsn,
                                                                      absl::Time deadline) = 0;

  // Drops the stored redo after `lsn`, which must be a mini-transaction boundary that no layer
  // file has absorbed (at or above disk_consistent_lsn; a flush in progress is waited for):
  // for a tail found not to be the source's redo (issue 8: a follower that stored stale bytes
  // MariaDB never wrote at that LSN). Readers then see the timeline as it was at `lsn`; pages
  // already served above it are not recalled. Refused, with nothing changed:
  // FailedPrecondition below disk_consistent_lsn or without a base, OutOfRange past the end,
  // InvalidArgument for an LSN inside a stored mini-transaction (naming its boundaries).
  // Returns the new last_record_lsn (== lsn). Fenced as IngestWalAs: `writer_generation` must be
  // the lease's (kNoWriterLease only while none was ever granted).
  virtual absl::StatusOr<Lsn> TruncateWal(Lsn lsn, uint64_t writer_generation) = 0;

  // Aux files (aux_file_store.h): whole non-InnoDB files a compute needs, versioned by LSN.
  // Put stamps a version at `lsn`, which must lie between the base LSN and last_record_lsn (the
  // redo up to it is stored first: FailedPrecondition otherwise); durable when OK. Fenced as
  // IngestWalAs: `writer_generation` must be the lease's (0 only while none was ever granted).
  virtual absl::Status PutAuxFile(const std::string& path, Lsn lsn,
                                  std::span<const uint8_t> content, bool deleted,
                                  uint64_t writer_generation) = 0;
  // At `lsn` (0 = last_record_lsn; waited for until `deadline`, as GetPage).
  virtual absl::StatusOr<std::vector<uint8_t>> GetAuxFile(const std::string& path, Lsn lsn,
                                                          absl::Time deadline,
                                                          AuxFileVersion* version) = 0;
  virtual absl::StatusOr<std::vector<AuxFileVersion>> ListAuxFiles(Lsn lsn,
                                                                   absl::Time deadline) = 0;

  virtual TimelineStatus Status() const = 0;

  // Writes the in-memory layer out as a delta layer now (also done at the size threshold), and
  // waits for the background work that follows (compaction, image sets, GC, materialization).
  virtual absl::Status Flush() = 0;
  // Waits, without flushing, until the hot pages queued so far are materialized
  // (materialized_pages.h): for tests and benchmarks, which wait for the event.
  virtual void WaitForMaterialized() {}

  // Until every manifest written so far is in remote storage (OK at once without one), the
  // uploads stopped for good (DataLoss, or fenced by a newer generation), or `deadline`
  // (DeadlineExceeded). remote_timeline_client.h.
  virtual absl::Status WaitUntilUploaded(absl::Time deadline) = 0;
};

}  // namespace pageserver::storage
