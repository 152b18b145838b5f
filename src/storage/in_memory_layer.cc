#include "storage/in_memory_layer.h"

#include <algorithm>

#include "common/status_macros.h"

namespace pageserver::storage {

// Per-entry bookkeeping beyond the snippet bytes (vector header, LSN, flag, map slot share).
constexpr uint64_t kEntryOverhead = 48;

void InMemoryLayer::Add(PageId id, Lsn lsn, bool will_init, std::vector<uint8_t> snippet) {
  bytes_ += snippet.size() + kEntryOverhead;
  pages_[id].push_back({lsn, will_init, std::move(snippet)});
  if (lsn > end_lsn_) end_lsn_ = lsn;
}

bool InMemoryLayer::CollectNewestFirst(PageId id, Lsn max_lsn, Lsn floor,
                                       std::vector<DeltaEntry>* out) const {
  auto it = pages_.find(id);
  if (it == pages_.end()) return false;
  const std::vector<DeltaEntry>& entries = it->second;
  for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
    if (e->lsn > max_lsn) continue;
    if (e->lsn < floor) break;
    out->push_back(*e);
    if (e->will_init) return true;
  }
  return false;
}

uint32_t InMemoryLayer::CountEntries(PageId id) const {
  auto it = pages_.find(id);
  return it == pages_.end() ? 0 : static_cast<uint32_t>(it->second.size());
}

std::vector<PageId> InMemoryLayer::SortedPages() const {
  std::vector<PageId> pages;
  pages.reserve(pages_.size());
  for (const auto& [id, entries] : pages_) pages.push_back(id);
  std::sort(pages.begin(), pages.end());
  return pages;
}

absl::Status InMemoryLayer::WriteDeltaLayer(const std::string& path) const {
  ASSIGN_OR_RETURN(auto writer, DeltaLayerWriter::Create(path, start_lsn_, end_lsn_));
  for (const PageId& id : SortedPages()) {
    for (const DeltaEntry& e : pages_.at(id)) {
      RETURN_IF_ERROR(writer->Add(id, e.lsn, e.will_init, e.snippet));
    }
  }
  return writer->Finish();
}

}  // namespace pageserver::storage
