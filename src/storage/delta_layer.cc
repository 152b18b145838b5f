#include "storage/delta_layer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/compression.h"
#include "common/crc32c.h"
#include "common/file_io.h"
#include "common/status_macros.h"

namespace pageserver::storage {
namespace {

constexpr char kMagic[8] = {'P', 'S', 'D', 'E', 'L', 'T', 'A', '1'};
// Version 1: a level-0 layer (every key). Version 2 adds the level and the key range. Version 3
// (what is written) has both for every level and compresses the values in frames and each index
// block.
constexpr uint32_t kVersion = 1;
constexpr uint32_t kVersionWithKeys = 2;
constexpr uint32_t kVersionCompressed = 3;
constexpr uint64_t kSummarySize = 4096;
constexpr size_t kSummaryUsed = 68;          // bytes covered by the summary's CRC, version 1
constexpr size_t kSummaryUsedWithKeys = 88;  // version 2
constexpr size_t kSummaryUsedCompressed = 108;
constexpr size_t kEntrySize = 32;
constexpr size_t kEntriesPerBlock = 128;  // one 4 KiB index block
constexpr size_t kBlockKeySize = 24;
constexpr size_t kCompressedBlockKeySize = 32;
constexpr size_t kFrameEntrySize = 16;
constexpr uint32_t kWillInitBit = 0x80000000u;
// Snippets are compressed in frames of about this many bytes, cut between snippets: big enough to
// compress well, small enough that reading one page's newest records decompresses little.
constexpr size_t kFrameBytes = 32 << 10;

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
  w->file_pos_ = kSummarySize;
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
  // Snippets are small (tens of bytes): collect them into a frame, compressed when full.
  if (!values_.empty() && values_.size() + snippet.size() > kFrameBytes) {
    RETURN_IF_ERROR(FlushValues());
  }
  values_.insert(values_.end(), snippet.begin(), snippet.end());
  uint8_t e[kEntrySize];
  EncodeKey(e, id, lsn);
  WriteBe64(e + 16, value_offset_);
  WriteBe32(e + 24, static_cast<uint32_t>(snippet.size()) | (will_init ? kWillInitBit : 0));
  WriteBe32(e + 28, Crc32c(snippet));
  index_.insert(index_.end(), e, e + kEntrySize);
  if (index_.size() == kEntriesPerBlock * kEntrySize) FinishIndexBlock();
  value_offset_ += snippet.size();
  ++entry_count_;
  last_id_ = id;
  last_lsn_ = lsn;
  return absl::OkStatus();
}

absl::Status DeltaLayerWriter::FlushValues() {
  if (values_.empty()) return absl::OkStatus();
  frame_buffer_.clear();
  const size_t compressed = compressor_.Compress(values_, &frame_buffer_);
  RETURN_IF_ERROR(file_->WriteAt(file_pos_, frame_buffer_.data(), compressed));
  uint8_t f[kFrameEntrySize];
  WriteBe64(f, file_pos_);
  WriteBe32(f + 8, static_cast<uint32_t>(compressed));
  WriteBe32(f + 12, static_cast<uint32_t>(values_.size()));
  frames_.insert(frames_.end(), f, f + kFrameEntrySize);
  file_pos_ += compressed;
  values_.clear();
  return absl::OkStatus();
}

void DeltaLayerWriter::FinishIndexBlock() {
  if (index_.empty()) return;
  // The block index entry: first key, CRC of the block as it reads back, where it is once the
  // compressed blocks are written after the values (patched in Finish), its compressed size.
  uint8_t k[kCompressedBlockKeySize] = {};
  std::memcpy(k, index_.data(), 16);
  WriteBe32(k + 16, Crc32c(index_));
  WriteBe64(k + 24, compressed_index_.size());  // relative to the first block until Finish
  const size_t size = compressor_.Compress(index_, &compressed_index_);
  WriteBe32(k + 20, static_cast<uint32_t>(size));
  block_index_.insert(block_index_.end(), k, k + kCompressedBlockKeySize);
  index_.clear();
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
  FinishIndexBlock();
  // After the value frames: the compressed index blocks, the frame table, the block index.
  const uint64_t index_offset = file_pos_;
  RETURN_IF_ERROR(file_->WriteAt(index_offset, compressed_index_.data(), compressed_index_.size()));
  const uint64_t frames_offset = index_offset + compressed_index_.size();
  RETURN_IF_ERROR(file_->WriteAt(frames_offset, frames_.data(), frames_.size()));
  for (size_t at = 0; at < block_index_.size(); at += kCompressedBlockKeySize) {
    uint8_t* k = &block_index_[at];
    WriteBe64(k + 24, index_offset + ReadBe64(k + 24));
  }
  const uint64_t blocks_offset = frames_offset + frames_.size();
  RETURN_IF_ERROR(file_->WriteAt(blocks_offset, block_index_.data(), block_index_.size()));
  std::vector<uint8_t> summary(kSummarySize, 0);
  std::memcpy(summary.data(), kMagic, sizeof(kMagic));
  WriteBe32(&summary[8], kVersionCompressed);
  WriteBe64(&summary[16], lsn_start_.value());
  WriteBe64(&summary[24], lsn_end_.value());
  WriteBe64(&summary[32], entry_count_);
  WriteBe64(&summary[40], index_offset);
  WriteBe64(&summary[48], block_index_.size() / kCompressedBlockKeySize);
  WriteBe64(&summary[56], blocks_offset);
  WriteBe32(&summary[64], Crc32c(block_index_));
  WriteBe64(&summary[68], keys_.start);
  WriteBe64(&summary[76], keys_.end);
  WriteBe32(&summary[84], level_);
  WriteBe64(&summary[88], frames_.size() / kFrameEntrySize);
  WriteBe64(&summary[96], frames_offset);
  WriteBe32(&summary[104], Crc32c(frames_));
  WriteBe32(&summary[kSummaryUsedCompressed], Crc32c(0, summary.data(), kSummaryUsedCompressed));
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
  uint8_t s[kSummaryUsedCompressed + 4];
  RETURN_IF_ERROR(layer->file_->ReadAt(0, sizeof(s), s));
  if (std::memcmp(s, kMagic, sizeof(kMagic)) != 0) return corrupt("not a delta layer (magic)");
  const uint32_t version = ReadBe32(s + 8);
  if (version != kVersion && version != kVersionWithKeys && version != kVersionCompressed) {
    return corrupt(absl::StrFormat("version %d", version));
  }
  layer->compressed_ = version == kVersionCompressed;
  const size_t used = version == kVersion           ? kSummaryUsed
                      : version == kVersionWithKeys ? kSummaryUsedWithKeys
                                                    : kSummaryUsedCompressed;
  if (Crc32c(0, s, used) != ReadBe32(s + used)) return corrupt("summary checksum mismatch");
  if (version == kVersionCompressed) {
    layer->keys_ = KeyRange{ReadBe64(s + 68), ReadBe64(s + 76)};
    layer->level_ = ReadBe32(s + 84);
    if (layer->keys_.end <= layer->keys_.start ||
        (layer->level_ == 0 && (layer->keys_.start != 0 || layer->keys_.end != UINT64_MAX))) {
      return corrupt(absl::StrFormat("level %d with key range %#x..%#x", layer->level_,
                                     layer->keys_.start, layer->keys_.end));
    }
  } else if (version == kVersionWithKeys) {
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
  const size_t key_size = layer->compressed_ ? kCompressedBlockKeySize : kBlockKeySize;
  // Sizes must add up exactly: values, index, (frame table,) block index.
  if (blocks_offset > file_size) return corrupt("its block index lies past its end");
  if (layer->compressed_) {
    RETURN_IF_ERROR(layer->LoadFrames(ReadBe64(s + 88), ReadBe64(s + 96), ReadBe32(s + 104),
                                      blocks_offset));
  } else {
    layer->values_end_ = layer->index_offset_;
  }
  // (A compressed index has no fixed size; the block count bounds its entries then.)
  if ((!layer->compressed_ && layer->entry_count_ > file_size / kEntrySize) ||
      layer->index_offset_ < kSummarySize ||
      block_count != (layer->entry_count_ + kEntriesPerBlock - 1) / kEntriesPerBlock ||
      (!layer->compressed_ &&
       blocks_offset != layer->index_offset_ + layer->entry_count_ * kEntrySize) ||
      blocks_offset > file_size || file_size - blocks_offset != block_count * key_size) {
    return corrupt(
        absl::StrFormat("size %d does not match %d entries", file_size, layer->entry_count_));
  }
  std::vector<uint8_t> blocks(block_count * key_size);
  RETURN_IF_ERROR(layer->file_->ReadAt(blocks_offset, blocks.size(), blocks.data()));
  if (Crc32c(blocks) != ReadBe32(s + 64)) return corrupt("block index checksum mismatch");
  layer->blocks_.reserve(block_count);
  for (uint64_t b = 0; b < block_count; ++b) {
    const uint8_t* k = &blocks[b * key_size];
    BlockKey key{PageId{SpaceId(ReadBe32(k)), PageNo(ReadBe32(k + 4))}, Lsn(ReadBe64(k + 8)),
                 ReadBe32(k + 16)};
    if (layer->compressed_) {
      key.stored_size = ReadBe32(k + 20);
      key.offset = ReadBe64(k + 24);
      if (key.offset < layer->index_offset_ || key.offset > blocks_offset ||
          key.stored_size > blocks_offset - key.offset) {
        return corrupt(absl::StrFormat("index block %d lies outside the index", b));
      }
    } else {
      key.offset = layer->index_offset_ + b * kEntriesPerBlock * kEntrySize;
    }
    layer->blocks_.push_back(key);
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
  if (compressed_) {
    std::vector<uint8_t> stored(blocks_[block].stored_size);
    RETURN_IF_ERROR(file_->ReadAt(blocks_[block].offset, stored.size(), stored.data()));
    if (const absl::Status s = Decompress(stored, std::span<uint8_t>(buf, n * kEntrySize));
        !s.ok()) {
      return absl::DataLossError(
          absl::StrFormat("delta layer %s: index block %d: %s", path_, block, s.message()));
    }
  } else {
    RETURN_IF_ERROR(file_->ReadAt(blocks_[block].offset, n * kEntrySize, buf));
  }
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
    if (e.offset < kSummarySize || e.offset + e.length > values_end_ || e.offset < begin ||
        e.offset + e.length > end ||
        (i > first && e.offset != mine[i - 1].offset + mine[i - 1].length)) {
      return absl::DataLossError(absl::StrFormat(
          "delta layer %s: the entry of %s at LSN %d points outside its place in the file", path_,
          ToString(e.id), e.lsn.value()));
    }
  }
  std::vector<uint8_t> values(end - begin);
  RETURN_IF_ERROR(ReadValues(begin, values));
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

absl::Status DeltaLayer::LoadFrames(uint64_t count, uint64_t offset, uint32_t crc,
                                    uint64_t blocks_offset) {
  auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(absl::StrFormat("delta layer %s: %s", path_, why));
  };
  if (offset < index_offset_ || offset > blocks_offset ||
      blocks_offset - offset != count * kFrameEntrySize) {
    return corrupt("its frame table does not fit between the index and the block index");
  }
  std::vector<uint8_t> table(count * kFrameEntrySize);
  RETURN_IF_ERROR(file_->ReadAt(offset, table.size(), table.data()));
  if (Crc32c(table) != crc) return corrupt("frame table checksum mismatch");
  frames_.reserve(count);
  uint64_t at = kSummarySize, stored_at = kSummarySize;
  for (uint64_t i = 0; i < count; ++i) {
    const uint8_t* f = &table[i * kFrameEntrySize];
    const Frame frame{at, ReadBe64(f), ReadBe32(f + 8), ReadBe32(f + 12)};
    // Frames lie back to back between the summary and the index, in value order.
    if (frame.stored_offset != stored_at || frame.stored_size > index_offset_ - stored_at ||
        frame.size == 0) {
      return corrupt(absl::StrFormat("frame %d lies outside the values", i));
    }
    frames_.push_back(frame);
    at += frame.size;
    stored_at += frame.stored_size;
  }
  if (stored_at != index_offset_) return corrupt("its frames do not end where the index begins");
  values_end_ = at;
  return absl::OkStatus();
}

absl::Status DeltaLayer::ReadValues(uint64_t begin, std::span<uint8_t> out) const {
  const uint64_t end = begin + out.size();
  if (!compressed_) return file_->ReadAt(begin, out.size(), out.data());
  if (out.empty()) return absl::OkStatus();
  // The frames that hold [begin, end): read together (they are contiguous), then decompressed.
  auto first = std::upper_bound(frames_.begin(), frames_.end(), begin,
                                [](uint64_t v, const Frame& f) { return v < f.offset; });
  if (first == frames_.begin() || end > values_end_) {
    return absl::DataLossError(absl::StrFormat(
        "delta layer %s: values %d..%d lie outside its frames", path_, begin, end));
  }
  --first;
  auto last = first;
  while (last->offset + last->size < end) ++last;
  const uint64_t stored_begin = first->stored_offset;
  std::vector<uint8_t> stored(last->stored_offset + last->stored_size - stored_begin);
  RETURN_IF_ERROR(file_->ReadAt(stored_begin, stored.size(), stored.data()));
  std::vector<uint8_t> frame;
  for (auto f = first; f <= last; ++f) {
    frame.resize(f->size);
    const absl::Status s = Decompress(
        std::span<const uint8_t>(stored).subspan(f->stored_offset - stored_begin, f->stored_size),
        frame);
    if (!s.ok()) {
      return absl::DataLossError(absl::StrFormat("delta layer %s: the frame at %d: %s", path_,
                                                 f->stored_offset, s.message()));
    }
    const uint64_t from = std::max(begin, f->offset), to = std::min(end, f->offset + f->size);
    std::memcpy(out.data() + (from - begin), frame.data() + (from - f->offset), to - from);
  }
  return absl::OkStatus();
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
  if (e.offset != expected_offset_ || e.offset + e.length > layer_.values_end_ ||
      !layer_.keys_.Contains(e.id) || e.lsn <= layer_.lsn_start_ || e.lsn > layer_.lsn_end_) {
    return corrupt("points outside its place in the file");
  }
  if (e.offset < window_start_ || e.offset + e.length > window_start_ + window_.size()) {
    // The next window starts at this value: values are read once, in order.
    window_start_ = e.offset;
    window_.resize(std::max<uint64_t>(
        e.length, std::min<uint64_t>(kWindowBytes, layer_.values_end_ - e.offset)));
    RETURN_IF_ERROR(layer_.ReadValues(window_start_, window_));
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
