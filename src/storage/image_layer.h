// ImageLayer: an immutable file of page images, all valid at one LSN (the image layer of Neon's
// layered storage; written by import, full image sets and compaction). Each image is compressed
// with zstd (stored as it is when that does not make it smaller). Format:
// docs/image_layer_format.md.
//
// Crash rule: ImageLayerWriter writes everything under a temporary name, then the summary
// block last, fsyncs the file, renames it to its final name and fsyncs the directory. A file
// under its final name is therefore always complete; a temporary one left by a crash is garbage.
// Nothing in a finished file is ever modified.
//
// Reading never trusts the file: the summary carries a CRC-32C, every index entry and every page
// has one, and a mismatch is DataLoss naming the file and the page. Lookups binary-search the
// in-memory sparse index (one key per 128 pages, 8 bytes) and reads one slice of the on-disk
// index, so a lookup costs two preads and memory is 1/2048 of the index. A PageFilter (1.25
// bytes a page) answers most lookups of pages the layer does not hold without any pread.
//
// Thread-safety: a writer belongs to one thread; a reader's Get may be called from any thread.
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

class ImageLayerWriter {
 public:
  // Starts `path` (written as `path` + ".tmp" until Finish). `lsn`: the LSN all images are at.
  static absl::StatusOr<std::unique_ptr<ImageLayerWriter>> Create(const std::string& path, Lsn lsn,
                                                                  uint32_t page_size = 16384);
  ~ImageLayerWriter();

  // Pages must come in strictly ascending (space, page) order. `freed`: the page is free at the
  // layer's LSN, and `image` is its last image before it was freed.
  absl::Status Add(PageId id, std::span<const uint8_t> image, bool freed = false);
  // Makes the layer durable under its final name.
  absl::Status Finish();

 private:
  ImageLayerWriter() = default;
  absl::Status FlushValues();
  struct Entry {
    PageId id;
    uint64_t offset;
    uint32_t crc;
    bool freed;
  };
  std::string path_;
  std::unique_ptr<PendingFile> file_;
  Lsn lsn_;
  uint32_t page_size_ = 0;
  uint64_t offset_ = 0;              // where the next image goes
  std::vector<uint8_t> values_;      // images not yet written; they end at offset_
  Compressor compressor_;
  std::vector<Entry> entries_;  // 16 bytes a page; the index is written from it at Finish
};

class ImageLayer {
 public:
  static absl::StatusOr<std::unique_ptr<ImageLayer>> Open(const std::string& path);
  // The layer in `file` (which may be evicted later: layer_file.h).
  static absl::StatusOr<std::unique_ptr<ImageLayer>> Open(std::shared_ptr<LayerFile> file);
  ~ImageLayer();

  Lsn lsn() const { return lsn_; }
  uint64_t page_count() const { return count_; }
  uint32_t page_size() const { return page_size_; }
  PageId first_key() const { return first_; }
  PageId last_key() const { return last_; }
  uint64_t file_bytes() const { return index_offset_ + count_ * 24; }
  const std::shared_ptr<LayerFile>& file() const { return file_; }

  // Every page id in the layer, ascending (reads the index only).
  absl::Status ForEachPage(const std::function<void(PageId)>& fn) const;

  // The image of `id`, or nullopt when the layer has none; `freed` says whether the page was free.
  absl::StatusOr<std::optional<std::vector<uint8_t>>> Get(PageId id, bool* freed = nullptr) const;

 private:
  ImageLayer() = default;
  absl::Status ReadAt(uint64_t offset, size_t size, uint8_t* out) const;

  std::string path_;
  std::shared_ptr<LayerFile> file_;
  Lsn lsn_;
  uint32_t page_size_ = 0;
  uint32_t version_ = 0;
  uint64_t count_ = 0;
  uint64_t index_offset_ = 0;
  PageId first_{};
  PageId last_{};
  // Every kSparseStride-th index key, loaded at Open: a lookup is a binary search in memory and
  // one read of at most kSparseStride index entries.
  std::vector<PageId> sparse_;
  PageFilter pages_;  // a page not in the layer costs no pread
};

}  // namespace pageserver::storage
