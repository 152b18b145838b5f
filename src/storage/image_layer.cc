#include "storage/image_layer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/compression.h"
#include "common/crc32c.h"
#include "common/file_io.h"
#include "common/status_macros.h"

namespace pageserver::storage {
namespace {

constexpr char kMagic[8] = {'P', 'S', 'I', 'M', 'A', 'G', 'E', '1'};
// Version 2 adds the freed bit (the top bit of an entry's offset); version 3 compresses the
// images. Versions 1 and 2 are read too.
constexpr uint32_t kVersion = 3;
constexpr uint32_t kVersionUncompressed = 2;
constexpr uint64_t kFreedBit = 1ull << 63;
constexpr uint64_t kSummarySize = 4096;  // the values start at the next block
constexpr size_t kSummaryUsed = 56;      // bytes covered by the summary's CRC
constexpr size_t kEntrySize = 24;
constexpr uint64_t kSparseStride = 128;
constexpr size_t kWriteBufferBytes = 1 << 20;

void EncodeEntry(uint8_t* e, PageId id, uint64_t offset, bool freed, uint32_t page_crc) {
  WriteBe32(e, id.space.value());
  WriteBe32(e + 4, id.page.value());
  WriteBe64(e + 8, offset | (freed ? kFreedBit : 0));
  WriteBe32(e + 16, page_crc);
  WriteBe32(e + 20, Crc32c(0, e, 20));
}

}  // namespace

ImageLayerWriter::~ImageLayerWriter() = default;

absl::StatusOr<std::unique_ptr<ImageLayerWriter>> ImageLayerWriter::Create(const std::string& path,
                                                                           Lsn lsn,
                                                                           uint32_t page_size) {
  std::unique_ptr<ImageLayerWriter> w(new ImageLayerWriter());
  w->path_ = path;
  w->lsn_ = lsn;
  w->page_size_ = page_size;
  w->offset_ = kSummarySize;
  ASSIGN_OR_RETURN(w->file_, PendingFile::Create(path));
  return w;
}

absl::Status ImageLayerWriter::Add(PageId id, std::span<const uint8_t> image, bool freed) {
  if (file_->published()) return absl::FailedPreconditionError("image layer already finished");
  if (image.size() != page_size_) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: image of %d bytes, pages are %d",
                                                      ToString(id), image.size(), page_size_));
  }
  if (!entries_.empty() && !(entries_.back().id < id)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s added after %s: pages must come in ascending order", ToString(id),
                        ToString(entries_.back().id)));
  }
  // An image that does not shrink is stored as it is: a value of page_size bytes is raw.
  const size_t before = values_.size();
  if (compressor_.Compress(image, &values_) >= image.size()) {
    values_.resize(before);
    values_.insert(values_.end(), image.begin(), image.end());
  }
  entries_.push_back({id, offset_, Crc32c(image), freed});
  offset_ += values_.size() - before;
  if (values_.size() >= kWriteBufferBytes) RETURN_IF_ERROR(FlushValues());
  return absl::OkStatus();
}

absl::Status ImageLayerWriter::FlushValues() {
  RETURN_IF_ERROR(file_->WriteAt(offset_ - values_.size(), values_.data(), values_.size()));
  values_.clear();
  return absl::OkStatus();
}

absl::Status ImageLayerWriter::Finish() {
  if (file_->published()) return absl::FailedPreconditionError("image layer already finished");
  // The index, then the summary that points at it, then durability, then the final name.
  RETURN_IF_ERROR(FlushValues());
  std::vector<uint8_t> index(entries_.size() * kEntrySize);
  for (size_t i = 0; i < entries_.size(); ++i) {
    EncodeEntry(&index[i * kEntrySize], entries_[i].id, entries_[i].offset, entries_[i].freed,
                entries_[i].crc);
  }
  const uint64_t index_offset = offset_;
  RETURN_IF_ERROR(file_->WriteAt(index_offset, index.data(), index.size()));
  std::vector<uint8_t> summary(kSummarySize, 0);
  std::memcpy(summary.data(), kMagic, sizeof(kMagic));
  WriteBe32(&summary[8], kVersion);
  WriteBe32(&summary[12], page_size_);
  WriteBe64(&summary[16], lsn_.value());
  WriteBe64(&summary[24], entries_.size());
  WriteBe64(&summary[32], index_offset);
  const PageId first = entries_.empty() ? PageId{} : entries_.front().id;
  const PageId last = entries_.empty() ? PageId{} : entries_.back().id;
  WriteBe32(&summary[40], first.space.value());
  WriteBe32(&summary[44], first.page.value());
  WriteBe32(&summary[48], last.space.value());
  WriteBe32(&summary[52], last.page.value());
  WriteBe32(&summary[kSummaryUsed], Crc32c(0, summary.data(), kSummaryUsed));
  RETURN_IF_ERROR(file_->WriteAt(0, summary.data(), summary.size()));
  return file_->Publish();
}

ImageLayer::~ImageLayer() = default;

absl::Status ImageLayer::ReadAt(uint64_t offset, size_t size, uint8_t* out) const {
  return file_->ReadAt(offset, size, out);
}

absl::StatusOr<std::unique_ptr<ImageLayer>> ImageLayer::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<LayerFile> file, LayerFile::Open(path));
  return Open(std::move(file));
}

absl::StatusOr<std::unique_ptr<ImageLayer>> ImageLayer::Open(std::shared_ptr<LayerFile> file) {
  std::unique_ptr<ImageLayer> layer(new ImageLayer());
  const std::string& path = file->path();
  layer->path_ = path;
  const uint64_t file_size = file->size();
  layer->file_ = std::move(file);
  auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(absl::StrFormat("image layer %s: %s", path, why));
  };
  if (file_size < kSummarySize) return corrupt("shorter than its summary block");
  uint8_t s[kSummaryUsed + 4];
  RETURN_IF_ERROR(layer->ReadAt(0, sizeof(s), s));
  if (std::memcmp(s, kMagic, sizeof(kMagic)) != 0) return corrupt("not an image layer (magic)");
  if (Crc32c(0, s, kSummaryUsed) != ReadBe32(s + kSummaryUsed)) {
    return corrupt("summary checksum mismatch");
  }
  layer->version_ = ReadBe32(s + 8);
  if (layer->version_ < 1 || layer->version_ > kVersion) {
    return corrupt(absl::StrFormat("version %d", layer->version_));
  }
  layer->page_size_ = ReadBe32(s + 12);
  layer->lsn_ = Lsn(ReadBe64(s + 16));
  layer->count_ = ReadBe64(s + 24);
  layer->index_offset_ = ReadBe64(s + 32);
  layer->first_ = {SpaceId(ReadBe32(s + 40)), PageNo(ReadBe32(s + 44))};
  layer->last_ = {SpaceId(ReadBe32(s + 48)), PageNo(ReadBe32(s + 52))};
  const uint32_t ps = layer->page_size_;
  if (ps < 4096 || ps > 65536 || (ps & (ps - 1)) != 0) return corrupt("bad page size");
  // Sizes must add up exactly: summary, the images (count pages, or at least a byte each when
  // compressed), count index entries.
  const bool compressed = layer->version_ > kVersionUncompressed;
  if (layer->count_ > file_size / kEntrySize || layer->index_offset_ < kSummarySize ||
      (compressed ? layer->index_offset_ - kSummarySize < layer->count_
                  : layer->index_offset_ != kSummarySize + layer->count_ * ps) ||
      file_size != layer->index_offset_ + layer->count_ * kEntrySize) {
    return corrupt(absl::StrFormat("size %d does not match %d pages", file_size, layer->count_));
  }
  layer->sparse_.reserve(layer->count_ / kSparseStride + 1);
  layer->pages_ = PageFilter(layer->count_);
  uint64_t i = 0;
  bool sorted = true;
  PageId previous{};
  RETURN_IF_ERROR(layer->ForEachPage([&](PageId id) {
    if (i > 0 && !(previous < id)) sorted = false;
    if (i++ % kSparseStride == 0) layer->sparse_.push_back(id);
    layer->pages_.Add(id);
    previous = id;
  }));
  if (!sorted) return corrupt("index keys out of order");
  return layer;
}

absl::StatusOr<std::optional<std::vector<uint8_t>>> ImageLayer::Get(PageId id,
                                                                    bool* freed) const {
  if (count_ == 0 || id < first_ || last_ < id || !pages_.MayContain(id)) {
    return std::optional<std::vector<uint8_t>>();
  }
  // The slice of the index that can hold `id`: after the last sparse key <= id.
  auto after = std::upper_bound(sparse_.begin(), sparse_.end(), id);
  const uint64_t slice =
      after == sparse_.begin() ? 0 : static_cast<uint64_t>(after - sparse_.begin()) - 1;
  const uint64_t begin = slice * kSparseStride;
  const uint64_t n = std::min(kSparseStride, count_ - begin);
  // One entry more when there is one: where a compressed image ends is where the next begins.
  const uint64_t read = std::min(n + 1, count_ - begin);
  uint8_t entries[(kSparseStride + 1) * kEntrySize];
  RETURN_IF_ERROR(ReadAt(index_offset_ + begin * kEntrySize, read * kEntrySize, entries));
  uint64_t lo = 0, hi = n;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    const uint8_t* e = entries + mid * kEntrySize;
    if (Crc32c(0, e, 20) != ReadBe32(e + 20)) {
      return absl::DataLossError(
          absl::StrFormat("image layer %s: index entry %d is corrupt", path_, begin + mid));
    }
    const PageId key{SpaceId(ReadBe32(e)), PageNo(ReadBe32(e + 4))};
    if (key < id) {
      lo = mid + 1;
    } else if (id < key) {
      hi = mid;
    } else {
      const uint64_t offset = ReadBe64(e + 8) & ~kFreedBit;
      if (freed != nullptr) *freed = (ReadBe64(e + 8) & kFreedBit) != 0;
      uint64_t end = offset + page_size_;
      if (version_ > kVersionUncompressed) {
        if (mid + 1 < read) {
          const uint8_t* next = e + kEntrySize;
          if (Crc32c(0, next, 20) != ReadBe32(next + 20)) {
            return absl::DataLossError(absl::StrFormat(
                "image layer %s: index entry %d is corrupt", path_, begin + mid + 1));
          }
          end = ReadBe64(next + 8) & ~kFreedBit;
        } else {
          end = index_offset_;
        }
      }
      if (offset < kSummarySize || end <= offset || end - offset > page_size_ ||
          end > index_offset_) {
        return absl::DataLossError(
            absl::StrFormat("image layer %s: %s points outside the file", path_, ToString(id)));
      }
      std::vector<uint8_t> page(page_size_);
      if (end - offset == page_size_) {
        RETURN_IF_ERROR(ReadAt(offset, page_size_, page.data()));
      } else {
        std::vector<uint8_t> stored(end - offset);
        RETURN_IF_ERROR(ReadAt(offset, stored.size(), stored.data()));
        if (const absl::Status s = Decompress(stored, page); !s.ok()) {
          return absl::DataLossError(absl::StrFormat("image layer %s: the image of %s: %s", path_,
                                                     ToString(id), s.message()));
        }
      }
      if (Crc32c(page) != ReadBe32(e + 16)) {
        return absl::DataLossError(absl::StrFormat(
            "image layer %s: the image of %s fails its checksum", path_, ToString(id)));
      }
      return std::optional<std::vector<uint8_t>>(std::move(page));
    }
  }
  return std::optional<std::vector<uint8_t>>();
}

absl::Status ImageLayer::ForEachPage(const std::function<void(PageId)>& fn) const {
  constexpr uint64_t kBatch = 1024;
  std::vector<uint8_t> buf(kBatch * kEntrySize);
  for (uint64_t at = 0; at < count_; at += kBatch) {
    const uint64_t n = std::min(kBatch, count_ - at);
    RETURN_IF_ERROR(ReadAt(index_offset_ + at * kEntrySize, n * kEntrySize, buf.data()));
    for (uint64_t i = 0; i < n; ++i) {
      const uint8_t* e = &buf[i * kEntrySize];
      if (Crc32c(0, e, 20) != ReadBe32(e + 20)) {
        return absl::DataLossError(
            absl::StrFormat("image layer %s: index entry %d is corrupt", path_, at + i));
      }
      fn(PageId{SpaceId(ReadBe32(e)), PageNo(ReadBe32(e + 4))});
    }
  }
  return absl::OkStatus();
}

}  // namespace pageserver::storage
