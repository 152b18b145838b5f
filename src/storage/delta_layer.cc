#include "storage/delta_layer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/crc32c.h"
#include "common/file_io.h"
#include "common/status_macros.h"

namespace pageserver::storage {
namespace {

constexpr char kMagic[8] = {'P', 'S', 'D', 'E', 'L', 'T', 'A', '1'};
// Version 1: a level-0 layer (every key). Version 2 adds the level and the key range.
constexpr uint32_t kVersion = 1;
constexpr uint32_t kVersionWithKeys = 2;
constexpr uint64_t kSummarySize = 4096;
constexpr size_t kSummaryUsed = 68;          // bytes covered by the summary's CRC, version 1
constexpr size_t kSummaryUsedWithKeys = 88;  // version 2
constexpr size_t kEntrySize = 32;
constexpr size_t kEntriesPerBlock = 128;  // one 4 KiB index block
constexpr size_t kBlockKeySize = 24;
constexpr uint32_t kWillInitBit = 0x80000000u;
constexpr size_t kWriteBufferBytes = 1 << 20;

void EncodeKey(uint8_t* p, PageId id, Lsn lsn) {
  WriteBe32(p, id.space.value());
  WriteBe32(p + 4, id.page.value());
  WriteBe64(p + 8, lsn.value());
}

bool KeyLess(PageId a, Lsn a_lsn, PageId b, Lsn b_lsn) {
  return a < b || (a == b && a_lsn < b_lsn);
}

}  // namespace

DeltaLayerWriter::~DeltaLayerWriter() = default;

absl::StatusOr<std::unique_ptr<DeltaLayerWriter>> DeltaLayerWriter::Create(const std::string& path,
                                                                           Lsn lsn_start,
                                                                           Lsn lsn_end) {
  if (!(lsn_start < lsn_end)) {
    return absl::InvalidArgumentError(absl::StrFormat("delta layer %s: empty LSN range %d..%d",
                                                      path, lsn_start.value(), lsn_end.value()));
  }
  std::unique_ptr<DeltaLayerWriter> w(new DeltaLayerWriter());
  w->path_ = path;
  w->lsn_start_ = lsn_start;
  w->lsn_end_ = lsn_end;
  w->value_offset_ = kSummarySize;
  w->values_written_ = kSummarySize;
  ASSIGN_OR_RETURN(w->file_, PendingFile::Create(path));
  return w;
}

absl::StatusOr<std::unique_ptr<DeltaLayerWriter>> DeltaLayerWriter::CreateLevel1(
    const std::string& path, Lsn lsn_start, Lsn lsn_end, uint64_t key_start) {
  ASSIGN_OR_RETURN(std::unique_ptr<DeltaLayerWriter> w, Create(path, lsn_start, lsn_end));
  w->level_ = 1;
  w->keys_.start = key_start;
  return w;
}

absl::Status DeltaLayerWriter::Add(PageId id, Lsn lsn, bool will_init,
                                   std::span<const uint8_t> snippet) {
  if (file_->published()) return absl::FailedPreconditionError("delta layer already finished");
  if (lsn <= lsn_start_ || lsn > lsn_end_) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s at LSN %d is outside the delta layer's range %d..%d", ToString(id),
                        lsn.value(), lsn_start_.value(), lsn_end_.value()));
  }
  if (entry_count_ > 0 && !KeyLess(last_id_, last_lsn_, id, lsn)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s at LSN %d added after %s at LSN %d: entries must come in (page, LSN) order",
        ToString(id), lsn.value(), ToString(last_id_), last_lsn_.value()));
  }
  if (KeyRange::KeyOf(id) < keys_.start) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s is below the first key %#x of level-1 delta layer %s", ToString(id),
                        keys_.start, path_));
  }
  if (snippet.size() >= kWillInitBit) return absl::InvalidArgumentError("snippet too large");
  // Snippets are small (tens of bytes): collect them and write in large pieces.
  values_.insert(values_.end(), snippet.begin(), snippet.end());
  if (values_.size() >= kWriteBufferBytes) RETURN_IF_ERROR(FlushValues());
  uint8_t e[kEntrySize];
  EncodeKey(e, id, lsn);
  WriteBe64(e + 16, value_offset_);
  WriteBe32(e + 24, static_cast<uint32_t>(snippet.size()) | (will_init ? kWillInitBit : 0));
  WriteBe32(e + 28, Crc32c(snippet));
  index_.insert(index_.end(), e, e + kEntrySize);
  value_offset_ += snippet.size();
  ++entry_count_;
  last_id_ = id;
  last_lsn_ = lsn;
  return absl::OkStatus();
}

absl::Status DeltaLayerWriter::FlushValues() {
  RETURN_IF_ERROR(file_->WriteAt(values_written_, values_.data(), values_.size()));
  values_written_ += values_.size();
  values_.clear();
  return absl::OkStatus();
}

absl::Status DeltaLayerWriter::Finish(uint64_t key_end) {
  if (file_->published()) return absl::FailedPreconditionError("delta layer already finished");
  if (level_ > 0) {
    keys_.end = key_end;
    if (keys_.end <= keys_.start || (entry_count_ > 0 && KeyRange::KeyOf(last_id_) >= key_end)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("delta layer %s: key range %#x..%#x does not hold its entries", path_,
                          keys_.start, key_end));
    }
  }
  RETURN_IF_ERROR(FlushValues());
  const uint64_t index_offset = value_offset_;
  RETURN_IF_ERROR(file_->WriteAt(index_offset, index_.data(), index_.size()));
  // The block index: the first key of every 128-entry block and the block's CRC.
  std::vector<uint8_t> blocks;
  for (size_t at = 0; at < index_.size(); at += kEntriesPerBlock * kEntrySize) {
    const size_t len = std::min(kEntriesPerBlock * kEntrySize, index_.size() - at);
    uint8_t k[kBlockKeySize] = {};
    std::memcpy(k, &index_[at], 16);
    WriteBe32(k + 16, Crc32c(0, &index_[at], len));
    blocks.insert(blocks.end(), k, k + kBlockKeySize);
  }
  const uint64_t blocks_offset = index_offset + index_.size();
  RETURN_IF_ERROR(file_->WriteAt(blocks_offset, blocks.data(), blocks.size()));
  std::vector<uint8_t> summary(kSummarySize, 0);
  std::memcpy(summary.data(), kMagic, sizeof(kMagic));
  WriteBe32(&summary[8], level_ == 0 ? kVersion : kVersionWithKeys);
  WriteBe64(&summary[16], lsn_start_.value());
  WriteBe64(&summary[24], lsn_end_.value());
  WriteBe64(&summary[32], entry_count_);
  WriteBe64(&summary[40], index_offset);
  WriteBe64(&summary[48], blocks.size() / kBlockKeySize);
  WriteBe64(&summary[56], blocks_offset);
  WriteBe32(&summary[64], Crc32c(blocks));
  size_t used = kSummaryUsed;
  if (level_ > 0) {
    WriteBe64(&summary[68], keys_.start);
    WriteBe64(&summary[76], keys_.end);
    WriteBe32(&summary[84], level_);
    used = kSummaryUsedWithKeys;
  }
  WriteBe32(&summary[used], Crc32c(0, summary.data(), used));
  RETURN_IF_ERROR(file_->WriteAt(0, summary.data(), summary.size()));
  return file_->Publish();
}

DeltaLayer::~DeltaLayer() = default;

absl::StatusOr<std::unique_ptr<DeltaLayer>> DeltaLayer::Open(
    const std::string& path, std::optional<std::span<const PageId>> written_pages) {
  ASSIGN_OR_RETURN(std::shared_ptr<LayerFile> file, LayerFile::Open(path));
  return Open(std::move(file), written_pages);
}

absl::StatusOr<std::unique_ptr<DeltaLayer>> DeltaLayer::Open(
    std::shared_ptr<LayerFile> file, std::optional<std::span<const PageId>> written_pages) {
  std::unique_ptr<DeltaLayer> layer(new DeltaLayer());
  const std::string& path = file->path();
  layer->path_ = path;
  const uint64_t file_size = file->size();
  layer->file_ = std::move(file);
  layer->file_bytes_ = file_size;
  auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(absl::StrFormat("delta layer %s: %s", path, why));
  };
  if (file_size < kSummarySize) return corrupt("shorter than its summary block");
  uint8_t s[kSummaryUsedWithKeys + 4];
  RETURN_IF_ERROR(layer->file_->ReadAt(0, sizeof(s), s));
  if (std::memcmp(s, kMagic, sizeof(kMagic)) != 0) return corrupt("not a delta layer (magic)");
  const uint32_t version = ReadBe32(s + 8);
  if (version != kVersion && version != kVersionWithKeys) {
    return corrupt(absl::StrFormat("version %d", version));
  }
  const size_t used = version == kVersion ? kSummaryUsed : kSummaryUsedWithKeys;
  if (Crc32c(0, s, used) != ReadBe32(s + used)) return corrupt("summary checksum mismatch");
  if (version == kVersionWithKeys) {
    layer->keys_ = KeyRange{ReadBe64(s + 68), ReadBe64(s + 76)};
    layer->level_ = ReadBe32(s + 84);
    if (layer->keys_.end <= layer->keys_.start || layer->level_ == 0) {
      return corrupt(absl::StrFormat("level %d with key range %#x..%#x", layer->level_,
                                     layer->keys_.start, layer->keys_.end));
    }
  }
  layer->lsn_start_ = Lsn(ReadBe64(s + 16));
  layer->lsn_end_ = Lsn(ReadBe64(s + 24));
  layer->entry_count_ = ReadBe64(s + 32);
  layer->index_offset_ = ReadBe64(s + 40);
  const uint64_t block_count = ReadBe64(s + 48);
  const uint64_t blocks_offset = ReadBe64(s + 56);
  // Sizes must add up exactly: values, index, block index.
  if (layer->entry_count_ > file_size / kEntrySize || layer->index_offset_ < kSummarySize ||
      block_count != (layer->entry_count_ + kEntriesPerBlock - 1) / kEntriesPerBlock ||
      blocks_offset != layer->index_offset_ + layer->entry_count_ * kEntrySize ||
      file_size != blocks_offset + block_count * kBlockKeySize) {
    return corrupt(
        absl::StrFormat("size %d does not match %d entries", file_size, layer->entry_count_));
  }
  std::vector<uint8_t> blocks(block_count * kBlockKeySize);
  RETURN_IF_ERROR(layer->file_->ReadAt(blocks_offset, blocks.size(), blocks.data()));
  if (Crc32c(blocks) != ReadBe32(s + 64)) return corrupt("block index checksum mismatch");
  layer->blocks_.reserve(block_count);
  for (uint64_t b = 0; b < block_count; ++b) {
    const uint8_t* k = &blocks[b * kBlockKeySize];
    layer->blocks_.push_back({PageId{SpaceId(ReadBe32(k)), PageNo(ReadBe32(k + 4))},
                              Lsn(ReadBe64(k + 8)), ReadBe32(k + 16)});
  }
  if (!layer->blocks_.empty() && !layer->keys_.Contains(layer->blocks_.front().first)) {
    return corrupt("its first page is outside its key range");
  }
  if (written_pages) {
    layer->pages_ = PageFilter(written_pages->size());
    for (PageId id : *written_pages) layer->pages_.Add(id);
    return layer;
  }
  // The filter of its pages: every index block is read once here (and its CRC checked).
  std::vector<PageId> pages;
  RETURN_IF_ERROR(layer->ForEachKey([&](PageId id, Lsn, bool) {
    if (pages.empty() || pages.back() != id) pages.push_back(id);
  }));
  layer->pages_ = PageFilter(pages.size());
  for (PageId id : pages) layer->pages_.Add(id);
  return layer;
}

absl::Status DeltaLayer::ReadBlock(uint64_t block, std::vector<IndexEntry>* entries) const {
  const uint64_t first = block * kEntriesPerBlock;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(kEntriesPerBlock, entry_count_ - first));
  uint8_t buf[kEntriesPerBlock * kEntrySize];
  RETURN_IF_ERROR(file_->ReadAt(index_offset_ + first * kEntrySize, n * kEntrySize, buf));
  if (Crc32c(0, buf, n * kEntrySize) != blocks_[block].crc) {
    return absl::DataLossError(
        absl::StrFormat("delta layer %s: index block %d fails its checksum", path_, block));
  }
  entries->clear();
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* e = buf + i * kEntrySize;
    const uint32_t len_flags = ReadBe32(e + 24);
    entries->push_back({PageId{SpaceId(ReadBe32(e)), PageNo(ReadBe32(e + 4))}, Lsn(ReadBe64(e + 8)),
                        ReadBe64(e + 16), len_flags & ~kWillInitBit, ReadBe32(e + 28),
                        (len_flags & kWillInitBit) != 0});
  }
  return absl::OkStatus();
}

absl::Status DeltaLayer::ForEachEntryOf(PageId id,
                                        const std::function<bool(const IndexEntry&)>& fn) const {
  if (blocks_.empty() || !pages_.MayContain(id)) return absl::OkStatus();
  // The last block whose first key is below (id, 0) may hold the page's first entries.
  auto it = std::lower_bound(blocks_.begin(), blocks_.end(), id,
                             [](const BlockKey& b, PageId key) { return b.first < key; });
  uint64_t block = it == blocks_.begin() ? 0 : static_cast<uint64_t>(it - blocks_.begin()) - 1;
  std::vector<IndexEntry> entries;
  for (; block < blocks_.size() && !(id < blocks_[block].first); ++block) {
    RETURN_IF_ERROR(ReadBlock(block, &entries));
    for (const IndexEntry& e : entries) {
      if (e.id < id) continue;
      if (id < e.id) return absl::OkStatus();
      if (!fn(e)) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> DeltaLayer::CollectNewestFirst(PageId id, Lsn max_lsn, Lsn floor,
                                                    std::vector<DeltaEntry>* out) const {
  if (max_lsn <= lsn_start_ || floor > lsn_end_) return false;
  std::vector<IndexEntry> mine;
  RETURN_IF_ERROR(ForEachEntryOf(id, [&](const IndexEntry& e) {
    if (e.lsn > max_lsn) return false;
    if (e.lsn >= floor) mine.push_back(e);
    return true;
  }));
  // Newest first, up to the first will_init entry.
  size_t first = mine.size();
  while (first > 0) {
    --first;
    if (mine[first].will_init) break;
  }
  if (mine.empty()) return false;
  // A page's values are consecutive in the file (written in index order): one read for all.
  const uint64_t begin = mine[first].offset;
  const uint64_t end = mine.back().offset + mine.back().length;
  for (size_t i = first; i < mine.size(); ++i) {
    const IndexEntry& e = mine[i];
    if (e.offset < kSummarySize || e.offset + e.length > index_offset_ || e.offset < begin ||
        e.offset + e.length > end ||
        (i > first && e.offset != mine[i - 1].offset + mine[i - 1].length)) {
      return absl::DataLossError(absl::StrFormat(
          "delta layer %s: the entry of %s at LSN %d points outside its place in the file", path_,
          ToString(e.id), e.lsn.value()));
    }
  }
  std::vector<uint8_t> values(end - begin);
  RETURN_IF_ERROR(file_->ReadAt(begin, values.size(), values.data()));
  for (size_t i = mine.size(); i-- > first;) {
    const IndexEntry& e = mine[i];
    const uint8_t* data = values.data() + (e.offset - begin);
    if (Crc32c(0, data, e.length) != e.crc) {
      return absl::DataLossError(
          absl::StrFormat("delta layer %s: the records of %s at LSN %d fail their checksum", path_,
                          ToString(e.id), e.lsn.value()));
    }
    out->push_back({e.lsn, e.will_init, std::vector<uint8_t>(data, data + e.length)});
  }
  return mine[first].will_init;
}

absl::StatusOr<uint32_t> DeltaLayer::CountEntries(PageId id) const {
  uint32_t n = 0;
  RETURN_IF_ERROR(ForEachEntryOf(id, [&](const IndexEntry&) {
    ++n;
    return true;
  }));
  return n;
}

absl::Status DeltaLayer::ForEachKey(
    const std::function<void(PageId, Lsn, bool will_init)>& fn) const {
  std::vector<IndexEntry> entries;
  for (uint64_t b = 0; b < blocks_.size(); ++b) {
    RETURN_IF_ERROR(ReadBlock(b, &entries));
    for (const IndexEntry& e : entries) fn(e.id, e.lsn, e.will_init);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> DeltaLayer::Cursor::Next() {
  if (in_block_ == block_.size()) {
    if (next_block_ == layer_.blocks_.size()) return false;
    RETURN_IF_ERROR(layer_.ReadBlock(next_block_++, &block_));
    in_block_ = 0;
  }
  const IndexEntry& e = block_[in_block_++];
  if (expected_offset_ == 0) expected_offset_ = kSummarySize;
  auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(absl::StrFormat("delta layer %s: the entry of %s at LSN %d %s",
                                               layer_.path_, ToString(e.id), e.lsn.value(), why));
  };
  if (entry_.lsn != Lsn(0) && !KeyLess(entry_.id, entry_.lsn, e.id, e.lsn)) {
    return corrupt("is out of order");
  }
  if (e.offset != expected_offset_ || e.offset + e.length > layer_.index_offset_ ||
      !layer_.keys_.Contains(e.id) || e.lsn <= layer_.lsn_start_ || e.lsn > layer_.lsn_end_) {
    return corrupt("points outside its place in the file");
  }
  if (e.offset < window_start_ || e.offset + e.length > window_start_ + window_.size()) {
    // The next window starts at this value: values are read once, in order.
    window_start_ = e.offset;
    window_.resize(std::max<uint64_t>(
        e.length, std::min<uint64_t>(kWindowBytes, layer_.index_offset_ - e.offset)));
    RETURN_IF_ERROR(layer_.file_->ReadAt(window_start_, window_.size(), window_.data()));
  }
  if (Crc32c(snippet_of(e)) != e.crc) return corrupt("fails its checksum");
  entry_ = e;
  expected_offset_ = e.offset + e.length;
  return true;
}

std::span<const uint8_t> DeltaLayer::Cursor::snippet_of(const IndexEntry& e) const {
  return std::span<const uint8_t>(window_.data() + (e.offset - window_start_), e.length);
}

std::span<const uint8_t> DeltaLayer::Cursor::snippet() const { return snippet_of(entry_); }

}  // namespace pageserver::storage
