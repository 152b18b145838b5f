// MtrApplier applies mini-transactions, in LSN order, to the tablespaces one TablespaceSet holds:
// page snippet by page snippet, with MariaDB's recovery rules:
//   - per page, a mini-transaction's records form a snippet; a snippet is skipped when the page's
//     FIL_PAGE_LSN is newer than the mini-transaction's start, unless it begins with INIT_PAGE or
//     FREE_PAGE; after a snippet that changed bytes, FIL_PAGE_LSN = the mtr's end LSN;
//   - FREE_PAGE and TRIM_PAGES end the life of a page or of a whole undo tablespace;
//   - FILE_CREATE / RENAME / DELETE / MODIFY keep the file catalogue.
// An applier may own only some tablespaces (PartitionOf): it ignores the records of the others, so
// that several appliers, each with its own TablespaceSet, can replay one log side by side.
//
// Not thread-safe; one applier per thread.
#pragma once

#include <span>
#include <vector>

#include "absl/status/status.h"
#include "common/types.h"
#include "replay/datadir_replay.h"
#include "replay/tablespace_set.h"
#include "wal/record.h"

namespace pageserver::replay {

// Which of `partitions` appliers owns a tablespace: spread by a mixing hash.
inline size_t PartitionOf(SpaceId space, size_t partitions) {
  return std::hash<PageId>()(PageId{space, PageNo(0)}) % partitions;
}

class MtrApplier {
 public:
  // This applier is number `partition` of `partitions`; it owns the tablespaces PartitionOf maps
  // to it.
  MtrApplier(TablespaceSet& spaces, ReplaySummary& summary, size_t partition, size_t partitions)
      : spaces_(spaces), summary_(summary), partition_(partition), partitions_(partitions) {}

  absl::Status Apply(const wal::Mtr& mtr);

 private:
  struct Touched {
    PageId id;
    std::span<uint8_t> frame;
    bool skip = false;
    bool changed = false;
    bool freed = false;
  };

  Touched* Find(PageId id);
  absl::Status ApplyPageRecord(const wal::Mtr& mtr, const wal::Record& rec);
  absl::Status ApplyFileOp(const wal::Mtr& mtr, const wal::Record& rec);

  TablespaceSet& spaces_;
  ReplaySummary& summary_;
  size_t partition_;
  size_t partitions_;
  std::vector<Touched> touched_;
};

}  // namespace pageserver::replay
