#include "storage/in_memory_layer.h"

#include <algorithm>

#include "common/status_macros.h"

namespace pageserver::storage {

// Per-entry bookkeeping beyond the snippet bytes (the entry, map slot share).
constexpr uint64_t kEntryOverhead = 32;
constexpr size_t kBlockBytes = 1 << 20;

std::span<const uint8_t> InMemoryLayer::Store(std::span<const uint8_t> bytes) {
  if (blocks_.empty() || block_used_ + bytes.size() > block_size_) {
    block_size_ = std::max(kBlockBytes, bytes.size());
    blocks_.push_back(std::make_unique_for_overwrite<uint8_t[]>(block_size_));
    block_used_ = 0;
  }
  uint8_t* at = blocks_.back().get() + block_used_;
  std::copy(bytes.begin(), bytes.end(), at);
  block_used_ += bytes.size();
  return {at, bytes.size()};
}

void InMemoryLayer::Add(PageId id, Lsn lsn, bool will_init, std::span<const uint8_t> snippet) {
  const std::span<const uint8_t> stored = Store(snippet);
  bytes_ += stored.size() + kEntryOverhead;
  pages_[id].push_back({lsn, stored.data(), static_cast<uint32_t>(stored.size()), will_init});
  if (lsn > end_lsn_) end_lsn_ = lsn;
}

bool InMemoryLayer::CollectNewestFirst(PageId id, Lsn max_lsn, Lsn floor,
                                       std::vector<DeltaEntry>* out) const {
  auto it = pages_.find(id);
  if (it == pages_.end()) return false;
  const std::vector<Entry>& entries = it->second;
  for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
    if (e->lsn > max_lsn) continue;
    if (e->lsn < floor) break;
    out->push_back({e->lsn, e->will_init, std::vector<uint8_t>(e->data, e->data + e->length)});
    if (e->will_init) return true;
  }
  return false;
}

uint32_t InMemoryLayer::CountEntries(PageId id) const {
  auto it = pages_.find(id);
  return it == pages_.end() ? 0 : static_cast<uint32_t>(it->second.size());
}

uint32_t InMemoryLayer::CountEntriesAfter(PageId id, Lsn lsn) const {
  auto it = pages_.find(id);
  if (it == pages_.end()) return 0;
  uint32_t n = 0;
  for (auto e = it->second.rbegin(); e != it->second.rend() && e->lsn > lsn; ++e) ++n;
  return n;
}

std::vector<PageId> InMemoryLayer::SortedPages() const {
  std::vector<PageId> pages;
  pages.reserve(pages_.size());
  for (const auto& [id, entries] : pages_) pages.push_back(id);
  std::sort(pages.begin(), pages.end());
  return pages;
}

absl::Status InMemoryLayer::WriteDeltaLayer(const std::string& path,
                                            std::span<const PageId> pages) const {
  ASSIGN_OR_RETURN(auto writer, DeltaLayerWriter::Create(path, start_lsn_, end_lsn_));
  for (const PageId& id : pages) {
    for (const Entry& e : pages_.at(id)) {
      RETURN_IF_ERROR(writer->Add(id, e.lsn, e.will_init, {e.data, e.length}));
    }
  }
  return writer->Finish();
}

}  // namespace pageserver::storage
