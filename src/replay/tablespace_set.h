// TablespaceSet: the InnoDB files of an output datadir being rebuilt by replay, and a bounded
// cache of page frames over them.
//
// Ownership: it owns one file descriptor per tablespace and every cached frame. Pages are read
// from the file on first use (zeros past its end) and written back with MariaDB's flush-time
// transformation when the cache is full and at Finish(). Freed pages are never written, as
// MariaDB never writes them: the file keeps its older image, and the page is listed as freed.
//
// Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/types.h"
#include "redo/tablespace_format.h"

namespace pageserver::replay {

class TablespaceSet {
 public:
  TablespaceSet(std::string out_dir, size_t max_cached_pages);
  ~TablespaceSet();
  TablespaceSet(const TablespaceSet&) = delete;
  TablespaceSet& operator=(const TablespaceSet&) = delete;

  // Registers an existing file of the output tree; checks its format from page 0.
  absl::Status Open(SpaceId space, const std::string& relative_path);
  bool Known(SpaceId space) const { return spaces_.count(space.value()) != 0; }

  // File operations from FILE_* records.
  absl::Status Create(SpaceId space, const std::string& relative_path);
  absl::Status Rename(SpaceId space, const std::string& new_relative_path);
  absl::Status Delete(SpaceId space);
  // Undo truncation: every page of the space is freed; the file shrinks to `pages`.
  absl::Status Trim(SpaceId space, uint32_t pages);

  // The frame of a page, read from the file if not cached (or zero-filled when the caller is about
  // to overwrite all of it: `need_content` false). Valid until the next MaybeEvict/Delete/Trim.
  absl::StatusOr<std::span<uint8_t>> Frame(PageId id, bool need_content = true);
  void MarkDirty(PageId id);
  void MarkFreed(PageId id);
  void MarkInitialized(PageId id);
  // Re-reads a tablespace's format after its page 0 changed; refuses unsupported features.
  absl::Status RefreshFormat(SpaceId space);
  // Evicts everything when over the limit. Call between mini-transactions only.
  absl::Status MaybeEvict();

  // Writes every dirty page, sizes the files, closes them. Returns the pages that are free.
  absl::StatusOr<std::vector<PageId>> Finish();

  uint64_t pages_written() const { return pages_written_; }

 private:
  struct Space {
    std::string path;  // relative
    int fd = -1;
    std::optional<redo::TablespaceFormat> format;
    std::optional<uint32_t> trimmed_size;       // set by TRIM_PAGES
    std::set<uint32_t> initialized_since_trim;  // pages that have content again
  };
  struct CachedPage {
    std::unique_ptr<uint8_t[]> frame;
    bool dirty = false;
  };

  absl::StatusOr<Space*> Find(SpaceId space);
  absl::Status WritePage(PageId id, uint8_t* frame);
  absl::Status FlushAll(bool drop);
  void DropCachedPages(SpaceId space);
  std::string FullPath(const std::string& relative) const;

  std::string out_dir_;
  size_t max_cached_pages_;
  std::map<uint32_t, Space> spaces_;
  absl::flat_hash_map<PageId, CachedPage, std::hash<PageId>> cache_;
  absl::flat_hash_set<PageId, std::hash<PageId>> freed_;
  uint64_t pages_written_ = 0;
};

}  // namespace pageserver::replay
