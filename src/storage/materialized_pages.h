// MaterializedPages: the newest reconstructed image of hot pages, kept in memory so that a read
// replays only the records after it (Neon's materialized page cache). A background thread of the
// Timeline (timeline_materialize.cc) reconstructs a page once its chain of records since its last
// image grows past a threshold, so GetPage replays a bounded number of records however hot the
// page is and however long until the next flush.
//
// An entry is a page exactly as GetPage serves it at its LSN. History never changes, so an entry
// stays valid until the WAL is truncated below its LSN (EraseAbove). One entry per page (the
// newest); the least recently used go once the images exceed the capacity.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/types.h"

namespace pageserver::storage {

class MaterializedPages {
 public:
  struct Entry {
    Lsn lsn;
    std::shared_ptr<const std::vector<uint8_t>> image;
  };

  explicit MaterializedPages(uint64_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  // The entry of `id` if its LSN is at or below `lsn`.
  std::optional<Entry> Get(PageId id, Lsn lsn);
  // Keeps `image`, the page at `lsn`, unless a newer one is kept already.
  void Put(PageId id, Lsn lsn, std::vector<uint8_t> image);
  // Drops the entries above `lsn` (the WAL after it was truncated).
  void EraseAbove(Lsn lsn);
  size_t size() const;

 private:
  struct Slot {
    Entry entry;
    std::list<PageId>::iterator recency;
  };
  void EraseLocked(absl::flat_hash_map<PageId, Slot, std::hash<PageId>>::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint64_t capacity_bytes_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<PageId, Slot, std::hash<PageId>> slots_ ABSL_GUARDED_BY(mu_);
  std::list<PageId> recency_ ABSL_GUARDED_BY(mu_);  // most recently used first
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pageserver::storage
