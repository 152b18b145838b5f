#include "storage/materialized_pages.h"

namespace pageserver::storage {

std::optional<MaterializedPages::Entry> MaterializedPages::Get(PageId id, Lsn lsn) {
  absl::MutexLock l(&mu_);
  auto it = slots_.find(id);
  if (it == slots_.end() || it->second.entry.lsn > lsn) return std::nullopt;
  recency_.splice(recency_.begin(), recency_, it->second.recency);
  return it->second.entry;
}

void MaterializedPages::Put(PageId id, Lsn lsn, std::vector<uint8_t> image) {
  const uint64_t size = image.size();
  if (size > capacity_bytes_) return;
  absl::MutexLock l(&mu_);
  auto it = slots_.find(id);
  if (it != slots_.end()) {
    if (it->second.entry.lsn >= lsn) return;
    EraseLocked(it);
  }
  while (bytes_ + size > capacity_bytes_ && !recency_.empty()) {
    EraseLocked(slots_.find(recency_.back()));
  }
  recency_.push_front(id);
  slots_[id] =
      Slot{{lsn, std::make_shared<const std::vector<uint8_t>>(std::move(image))}, recency_.begin()};
  bytes_ += size;
}

void MaterializedPages::EraseAbove(Lsn lsn) {
  absl::MutexLock l(&mu_);
  for (auto it = slots_.begin(); it != slots_.end();) {
    auto next = std::next(it);
    if (it->second.entry.lsn > lsn) EraseLocked(it);
    it = next;
  }
}

size_t MaterializedPages::size() const {
  absl::MutexLock l(&mu_);
  return slots_.size();
}

void MaterializedPages::EraseLocked(
    absl::flat_hash_map<PageId, Slot, std::hash<PageId>>::iterator it) {
  bytes_ -= it->second.entry.image->size();
  recency_.erase(it->second.recency);
  slots_.erase(it);
}

}  // namespace pageserver::storage
