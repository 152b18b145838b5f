// RemoteTimelineClient: everything a timeline stores, copied to remote storage in the background,
// so that the bucket alone can rebuild the timeline (remote_restore.h) with a bounded lag (the
// remote timeline client of Neon's pageserver). Keys: remote_layout.h.
//
// What goes up, and the rules that make the bucket consistent at every instant:
//   - Layers and indexes. After every flush (and at open) the timeline hands over its manifest.
//     Each layer file it names that no earlier generation uploaded is stored under this node's
//     generation; only then the index that names them. So an index never names a missing
//     object. Only the newest manifest waiting is uploaded (an older one's layers are in it).
//   - WAL. Once the log is durable to an LSN, the bytes after the last uploaded one go up as a
//     chunk within `wal_upload_interval` (or sooner, once `wal_chunk_bytes` are waiting): the
//     bucket covers acknowledged redo with that lag. A truncation of the log (TruncateWal) goes
//     up as an empty chunk at the truncation LSN. Chunks apply in (generation, seq) order, each
//     one the log's tail as it was when uploaded (remote_restore.h). The timeline keeps its local
//     WAL segments until they are uploaded (wal_uploaded_lsn).
//   - Aux file versions and writer lease grants, each once, as soon as they are stored.
// Objects are never overwritten: a key found taken must hold the same bytes (an earlier attempt
// whose answer was lost), or the uploads stop for good with DataLoss naming it.
//
// Fencing: before each index and each deletion, the client checks that no newer generation was
// claimed. If one was, this node is stale: it stops uploading for good (FailedPrecondition,
// naming the newer generation). What it uploaded before stays readable by generation order and
// is never read by the newer node's restore.
//
// Deleting: after an index at LSN D is stored, every object no reader of it needs is deleted:
// layer objects it does not name (garbage-collected layers, or a crash's leftovers), the older
// indexes, and WAL chunks that end at or below D (the index's layers hold their changes).
//
// Failures: a failed upload (the storage retries first) is logged and tried again after a pause;
// the timeline's reads and writes never wait for uploads.
//
// Thread-safety: every method may be called from any thread; one background thread uploads.
// Lock: mu_ guards the state shared with that thread; never held during I/O.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/types.h"
#include "remote/remote_storage.h"
#include "storage/remote_index.h"
#include "storage/remote_layout.h"
#include "storage/timeline_manifest.h"
#include "storage/writer_lease.h"

namespace pageserver::storage {

struct RemoteTimelineClientOptions {
  remote::RemoteStorage* storage = nullptr;  // must outlive the client
  std::string prefix;                        // the timeline's keys (no trailing '/')
  std::string layers_dir;                    // where the layer files are
  Generation generation = 0;                 // this node's, claimed (remote_layout.h)
  // Reads the local WAL log's bytes at [lsn, lsn + out.size()).
  std::function<absl::Status(Lsn lsn, std::span<uint8_t> out)> read_wal;
  // The file of aux file version `seq`.
  std::function<std::string(uint64_t seq)> aux_file;
  // Whether a layer no index names any more is still being read (its object is kept until a
  // later upload finds it free); none is, when unset.
  std::function<bool(const std::string& layer_name)> layer_in_use;
  // Whether the local store still holds aux file version `seq`: one it collected (GC) is not
  // uploaded, and its objects go once an index at or above the cutoff it was collected at is
  // stored (AuxCollecting). Every version is held, when unset.
  std::function<bool(uint64_t seq)> aux_held;
  // The cutoff of the local aux store's last collection before this client (the manifest's).
  Lsn aux_collection_cutoff;
  absl::Duration wal_upload_interval = absl::Seconds(1);
  uint64_t wal_chunk_bytes = 16 << 20;
  absl::Duration pause_after_failure = absl::Seconds(5);
};

class RemoteTimelineClient {
 public:
  // `start_index`: the newest index in the bucket when the node started (its layers are reused),
  // if any. `wal_uploaded`: WAL below it is in the bucket already (where the local log starts,
  // or where a restore ended). `wal_chain_start`: the bucket's WAL is contiguous from there to
  // `wal_uploaded` (where the local log starts, or the restored index's LSN): an index at or
  // above it joins the WAL uploaded after it into what a restore yields.
  RemoteTimelineClient(RemoteTimelineClientOptions options, std::optional<RemoteIndex> start_index,
                       Lsn wal_chain_start, Lsn wal_uploaded);
  ~RemoteTimelineClient();  // stops; what was not uploaded is uploaded after the next open
  RemoteTimelineClient(const RemoteTimelineClient&) = delete;
  RemoteTimelineClient& operator=(const RemoteTimelineClient&) = delete;

  void ScheduleIndex(Manifest manifest);
  // The local log is durable up to `end` (a mini-transaction boundary).
  void WalDurable(Lsn end);
  // The local log begins at `lsn` (the import of a base): nothing before it is to upload.
  void WalStartsAt(Lsn lsn);
  // The local log was cut: it ends at `lsn` now.
  void WalTruncated(Lsn lsn);
  void ScheduleAux(uint64_t seq);
  // The local aux store is about to collect its versions at `cutoff` (call before it does): the
  // bucket's copies of those may go only after an index at or above it, since a restore from an
  // older index serves reads below it.
  void AuxCollecting(Lsn cutoff);
  void ScheduleLease(const WriterLease& lease);

  // What a restore from the bucket alone yields: the newest index's LSN or, when the WAL uploaded
  // joins it, the end of that WAL at a mini-transaction boundary (0: no index yet).
  Lsn remote_consistent_lsn() const;
  // The local log below this LSN is in the bucket (its segments may be removed).
  Lsn wal_uploaded_lsn() const;
  // Until everything scheduled before the call, and the WAL durable then, is in the bucket (OK),
  // the uploads stopped for good (their error), or `deadline` (DeadlineExceeded, with the last
  // upload error if there was one).
  absl::Status WaitUntilUploaded(absl::Time deadline);
  absl::Status last_error() const;  // of the last failed upload, OK after a success
  // Why the uploads stopped until a restart (fenced, or the bucket's data differs): OK while
  // they go on.
  absl::Status stopped_for_good() const;
  // Whether the bucket holds layer `name` (uploaded by this node or named by the start index):
  // only then may its local file be evicted.
  bool LayerInBucket(const std::string& name) const { return LayerGeneration(name).has_value(); }
  // The generation of the bucket's object of layer `name`, if the bucket holds it.
  std::optional<Generation> LayerGeneration(const std::string& name) const;
  Generation generation() const { return options_.generation; }

 private:
  void Run();
  // One pass over what is waiting; the first error ends it.
  absl::Status UploadWaiting();
  absl::Status UploadWal();
  absl::Status UploadIndex(const Manifest& manifest);
  // After `index` is stored: what no reader of it needs — layer objects it does not name (a
  // layer garbage-collected, or one a crash left before its index), older indexes, WAL chunks
  // ending at or below its LSN. A fenced node deletes nothing.
  absl::Status DeleteUnreferenced(const RemoteIndex& index, const std::string& index_key);
  absl::Status CheckNotFenced();
  // PutIfAbsent, where an existing object with the same bytes is fine.
  absl::Status PutOnce(const std::string& key, std::span<const uint8_t> bytes);
  absl::Status LoadAuxListing();

  const RemoteTimelineClientOptions options_;
  remote::RemoteStorage& remote_;

  mutable absl::Mutex mu_;
  std::optional<Manifest> pending_index_ ABSL_GUARDED_BY(mu_);
  std::deque<uint64_t> pending_aux_ ABSL_GUARDED_BY(mu_);
  std::deque<WriterLease> pending_leases_ ABSL_GUARDED_BY(mu_);
  std::optional<Lsn> pending_truncation_ ABSL_GUARDED_BY(mu_);
  Lsn wal_durable_ ABSL_GUARDED_BY(mu_);
  Lsn wal_uploaded_ ABSL_GUARDED_BY(mu_);
  Lsn wal_restorable_ ABSL_GUARDED_BY(mu_);        // end of uploaded WAL at a durable boundary
  Lsn wal_chain_start_ ABSL_GUARDED_BY(mu_);       // the uploaded WAL is contiguous from here
  uint64_t truncations_ ABSL_GUARDED_BY(mu_) = 0;  // a chunk in flight across one is stale
  absl::Time last_wal_upload_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  Lsn index_uploaded_ ABSL_GUARDED_BY(mu_);
  Lsn aux_collection_cutoff_ ABSL_GUARDED_BY(mu_);  // AuxCollecting
  Lsn index_scheduled_ ABSL_GUARDED_BY(mu_);
  uint64_t index_schedules_ ABSL_GUARDED_BY(mu_) = 0;  // ScheduleIndex calls
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // the thread is uploading what it took
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status stopped_for_good_ ABSL_GUARDED_BY(mu_);  // DataLoss or fenced
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);

  // Layers in the bucket -> the generation of their object. Written by the uploader's thread.
  std::map<std::string, Generation> layer_generations_ ABSL_GUARDED_BY(mu_);

  // The uploader's thread only.
  std::optional<std::map<uint64_t, uint64_t>> aux_listed_;  // seq -> size, in the bucket
  uint64_t next_wal_seq_ = 1;
  uint32_t next_index_seq_ = 1;  // two manifests of one LSN (a flush, then GC) get two keys

  std::thread thread_;
};

}  // namespace pageserver::storage
