// DeltaLayer: an immutable file of record snippets for an LSN range (lsn_start, lsn_end] — a
// frozen in-memory layer written out (the delta layer of Neon's layered storage). Entries are
// sorted by page, then LSN; each carries a will_init bit (the snippet starts with INIT_PAGE, so
// older history of the page does not matter). Format: docs/delta_layer_format.md.
//
// Crash rule: as ImageLayer — everything under a temporary name, summary last, fsync, rename,
// directory fsync. A file under its final name is complete and never modified.
//
// Reading never trusts the file: summary, every index block and every snippet carry a CRC-32C;
// a mismatch is DataLoss naming the file and the page. The reader keeps the block index (the
// first key of each 4 KiB index block: 24 bytes per 128 entries) and a PageFilter of its pages
// (1.25 bytes a page) in memory; opening reads the whole index once to build the filter, unless
// the writer hands over the pages it wrote.
//
// Thread-safety: a writer belongs to one thread; a reader's methods may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/file_io.h"
#include "common/types.h"
#include "storage/layer_file.h"
#include "storage/page_filter.h"

namespace pageserver::storage {

// One stored snippet: the records one mini-transaction (ending at `lsn`) made to one page.
struct DeltaEntry {
  Lsn lsn;
  bool will_init = false;
  std::vector<uint8_t> snippet;
};

class DeltaLayerWriter {
 public:
  static absl::StatusOr<std::unique_ptr<DeltaLayerWriter>> Create(const std::string& path,
                                                                  Lsn lsn_start, Lsn lsn_end);
  ~DeltaLayerWriter();

  // Entries must come in strictly ascending (page, lsn) order, lsn in (lsn_start, lsn_end].
  absl::Status Add(PageId id, Lsn lsn, bool will_init, std::span<const uint8_t> snippet);
  absl::Status Finish();

 private:
  DeltaLayerWriter() = default;
  absl::Status FlushValues();

  std::string path_;
  std::unique_ptr<PendingFile> file_;
  Lsn lsn_start_;
  Lsn lsn_end_;
  uint64_t value_offset_ = 0;    // where the next snippet goes
  uint64_t values_written_ = 0;  // bytes of values on disk; values_ follows
  std::vector<uint8_t> values_;
  uint64_t entry_count_ = 0;
  PageId last_id_{};
  Lsn last_lsn_;
  // The index is built in memory (32 bytes an entry): a delta layer is written from a frozen
  // in-memory layer, whose size the configuration bounds, and the index is a fraction of it.
  std::vector<uint8_t> index_;
  std::vector<uint8_t> block_index_;  // first key + CRC of each index block
};

class DeltaLayer {
 public:
  // `written_pages`: the distinct pages of a layer the caller has just written (the flusher),
  // from which the page filter is built; without them the whole index is read to build it.
  static absl::StatusOr<std::unique_ptr<DeltaLayer>> Open(
      const std::string& path, std::optional<std::span<const PageId>> written_pages = {});
  // The layer in `file` (which may be evicted later: layer_file.h).
  static absl::StatusOr<std::unique_ptr<DeltaLayer>> Open(
      std::shared_ptr<LayerFile> file, std::optional<std::span<const PageId>> written_pages = {});
  ~DeltaLayer();

  Lsn lsn_start() const { return lsn_start_; }
  Lsn lsn_end() const { return lsn_end_; }
  uint64_t entry_count() const { return entry_count_; }
  uint64_t file_bytes() const { return file_bytes_; }
  const std::string& path() const { return path_; }
  const std::shared_ptr<LayerFile>& file() const { return file_; }

  // Appends to `out` the page's entries with floor <= lsn <= max_lsn, newest first, stopping
  // after the first will_init one. Returns whether it stopped at a will_init entry.
  absl::StatusOr<bool> CollectNewestFirst(PageId id, Lsn max_lsn, Lsn floor,
                                          std::vector<DeltaEntry>* out) const;

  // Number of entries for `id` (compaction's chain count).
  absl::StatusOr<uint32_t> CountEntries(PageId id) const;

  // Every entry's key in file order (restart rebuilds chain counts from it).
  absl::Status ForEachKey(const std::function<void(PageId, Lsn, bool will_init)>& fn) const;

 private:
  DeltaLayer() = default;
  struct IndexEntry {
    PageId id;
    Lsn lsn;
    uint64_t offset;
    uint32_t length;
    uint32_t crc;
    bool will_init;
  };
  absl::Status ReadBlock(uint64_t block, std::vector<IndexEntry>* entries) const;
  absl::Status ForEachEntryOf(PageId id, const std::function<bool(const IndexEntry&)>& fn) const;

  std::string path_;
  std::shared_ptr<LayerFile> file_;
  Lsn lsn_start_;
  Lsn lsn_end_;
  uint64_t entry_count_ = 0;
  uint64_t index_offset_ = 0;
  uint64_t file_bytes_ = 0;
  struct BlockKey {
    PageId first;
    Lsn first_lsn;
    uint32_t crc;
  };
  std::vector<BlockKey> blocks_;
  PageFilter pages_;  // built at open from the whole index
};

}  // namespace pageserver::storage
