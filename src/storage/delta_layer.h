// DeltaLayer: an immutable file of record snippets for an LSN range (lsn_start, lsn_end] and a
// range of pages (the delta layer of Neon's layered storage). Entries are sorted by page, then
// LSN; each carries a will_init bit (the snippet starts with INIT_PAGE, so older history of the
// page does not matter). The snippets are compressed with zstd in frames of about 32 KiB, and the
// index block by block. Format: docs/delta_layer_format.md.
//
// Two levels, as in Neon: a level-0 layer is a frozen in-memory layer written out, and covers
// every page; compaction (timeline_compaction.cc) merges the level-0 layers into level-1 layers
// that share one LSN range and partition the pages between them, so that a read of one page
// opens one file per compacted range instead of one per flush.
//
// Crash rule: as ImageLayer — everything under a temporary name, summary last, fsync, rename,
// directory fsync. A file under its final name is complete and never modified.
//
// Reading never trusts the file: summary, every index block and every snippet carry a CRC-32C;
// a mismatch is DataLoss naming the file and the page. The reader keeps the block index (the
// first key and place of each index block: 32 bytes per 128 entries), the frame table (16 bytes
// per frame) and a PageFilter of its pages (1.25 bytes a page) in memory; opening reads the
// whole index once to build the filter, unless the writer hands over the pages it wrote.
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
#include "common/compression.h"
#include "common/file_io.h"
#include "common/types.h"
#include "storage/layer_file.h"
#include "storage/page_filter.h"

namespace pageserver::storage {

// The pages a layer answers for: the keys [start, end), a key being space << 32 | page (the
// (space, page) order). A level-0 layer covers every key.
struct KeyRange {
  uint64_t start = 0;
  uint64_t end = UINT64_MAX;  // no InnoDB page has the key UINT64_MAX (space ids end below it)

  static uint64_t KeyOf(PageId id) { return uint64_t{id.space.value()} << 32 | id.page.value(); }
  bool Contains(PageId id) const { return KeyOf(id) >= start && KeyOf(id) < end; }
};

// One stored snippet: the records one mini-transaction (ending at `lsn`) made to one page.
struct DeltaEntry {
  Lsn lsn;
  bool will_init = false;
  std::vector<uint8_t> snippet;
};

class DeltaLayerWriter {
 public:
  // A level-0 layer (every key).
  static absl::StatusOr<std::unique_ptr<DeltaLayerWriter>> Create(const std::string& path,
                                                                  Lsn lsn_start, Lsn lsn_end);
  // A level-1 layer whose keys start at `key_start`; where they end is given to Finish, once
  // the compaction that writes it knows the next layer's first key.
  static absl::StatusOr<std::unique_ptr<DeltaLayerWriter>> CreateLevel1(const std::string& path,
                                                                        Lsn lsn_start, Lsn lsn_end,
                                                                        uint64_t key_start);
  ~DeltaLayerWriter();

  // Entries must come in strictly ascending (page, lsn) order, lsn in (lsn_start, lsn_end], the
  // page inside the layer's keys.
  absl::Status Add(PageId id, Lsn lsn, bool will_init, std::span<const uint8_t> snippet);
  // `key_end`: a level-1 layer's keys end there (exclusive); ignored for level 0.
  absl::Status Finish(uint64_t key_end = UINT64_MAX);
  // Bytes of values and index added so far, compressed but for the last frame and index block:
  // about the file's size once finished.
  uint64_t bytes() const {
    return file_pos_ + values_.size() + compressed_index_.size() + index_.size() + frames_.size();
  }

 private:
  DeltaLayerWriter() = default;
  absl::Status FlushValues();  // compresses and writes the frame in values_
  void FinishIndexBlock();      // compresses the index block in index_

  std::string path_;
  std::unique_ptr<PendingFile> file_;
  Lsn lsn_start_;
  Lsn lsn_end_;
  uint32_t level_ = 0;
  KeyRange keys_;
  uint64_t value_offset_ = 0;  // where the next snippet goes among the uncompressed values
  uint64_t file_pos_ = 0;      // where the next compressed frame goes in the file
  std::vector<uint8_t> values_;  // the frame being filled
  std::vector<uint8_t> frame_buffer_;
  std::vector<uint8_t> frames_;  // the frame table (16 bytes a frame)
  Compressor compressor_;
  uint64_t entry_count_ = 0;
  PageId last_id_{};
  Lsn last_lsn_;
  // The index is built in memory, compressed block by block: a delta layer is written from a
  // frozen in-memory layer or by compaction up to a target size, and the index is a fraction.
  std::vector<uint8_t> index_;             // the index block being filled (32 bytes an entry)
  std::vector<uint8_t> compressed_index_;  // the blocks before it
  std::vector<uint8_t> block_index_;       // first key, CRC, size and place of each index block
};

class DeltaLayer {
 private:
  struct IndexEntry {
    PageId id;
    Lsn lsn;
    uint64_t offset;
    uint32_t length;
    uint32_t crc;
    bool will_init;
  };

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
  uint32_t level() const { return level_; }
  const KeyRange& key_range() const { return keys_; }
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
  absl::Status ReadBlock(uint64_t block, std::vector<IndexEntry>* entries) const;
  // Values [begin, begin + out.size()) of the uncompressed value stream (file offsets in
  // versions 1 and 2).
  absl::Status ReadValues(uint64_t begin, std::span<uint8_t> out) const;
  absl::Status LoadFrames(uint64_t count, uint64_t offset, uint32_t crc, uint64_t blocks_offset);
  absl::Status ForEachEntryOf(PageId id, const std::function<bool(const IndexEntry&)>& fn) const;

  std::string path_;
  std::shared_ptr<LayerFile> file_;
  Lsn lsn_start_;
  Lsn lsn_end_;
  uint32_t level_ = 0;
  KeyRange keys_;
  uint64_t entry_count_ = 0;
  uint64_t index_offset_ = 0;
  uint64_t file_bytes_ = 0;
  bool compressed_ = false;  // version 3
  uint64_t values_end_ = 0;  // where the values end (uncompressed offsets, from kSummarySize)
  struct BlockKey {
    PageId first;
    Lsn first_lsn;
    uint32_t crc;               // of the block as read (decompressed)
    uint32_t stored_size = 0;   // compressed size (version 3)
    uint64_t offset = 0;        // in the file
  };
  std::vector<BlockKey> blocks_;
  // Version 3: the value frames in order; a value offset is in the uncompressed stream.
  struct Frame {
    uint64_t offset;         // of its first byte among the uncompressed values
    uint64_t stored_offset;  // in the file
    uint32_t stored_size;
    uint32_t size;
  };
  std::vector<Frame> frames_;
  PageFilter pages_;  // built at open from the whole index

 public:
  // Reads the entries in file order ((page, LSN) ascending) with their snippets, one index block
  // and one window of values at a time, each checked: compaction merges layers through it. The
  // layer must outlive the cursor.
  class Cursor {
   public:
    explicit Cursor(const DeltaLayer& layer) : layer_(layer) {}
    // Moves to the next entry; false past the last one.
    absl::StatusOr<bool> Next();
    PageId id() const { return entry_.id; }
    Lsn lsn() const { return entry_.lsn; }
    bool will_init() const { return entry_.will_init; }
    // Valid until the next call of Next.
    std::span<const uint8_t> snippet() const;

   private:
    std::span<const uint8_t> snippet_of(const IndexEntry& e) const;
    static constexpr size_t kWindowBytes = 1 << 20;
    const DeltaLayer& layer_;
    uint64_t next_block_ = 0;
    std::vector<IndexEntry> block_;
    size_t in_block_ = 0;
    IndexEntry entry_{};
    std::vector<uint8_t> window_;  // values from window_start_ on
    uint64_t window_start_ = 0;
    uint64_t expected_offset_ = 0;  // values are back to back in index order
  };
};

}  // namespace pageserver::storage
