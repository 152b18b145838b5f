// InMemoryLayer: the snippets of recent mini-transactions, indexed by page, for an LSN range
// (start_lsn, end_lsn] — Neon's in-memory layer. Everything in it is also in the WalLog, which
// is what makes it durable; the layer only makes it readable. When it grows past the
// configured size it is frozen (no more additions) and written out as a DeltaLayer.
//
// Memory: the snippets plus a small per-entry overhead, counted in bytes(), plus at most one
// partly filled 1 MiB arena block.
// Thread-safety: none; the Timeline guards it (shared lock to read, exclusive to add).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/types.h"
#include "storage/delta_layer.h"

namespace pageserver::storage {

class InMemoryLayer {
 public:
  explicit InMemoryLayer(Lsn start_lsn) : start_lsn_(start_lsn), end_lsn_(start_lsn) {}

  // Adds (copies) one snippet; `lsn` (the mini-transaction's end) must not go backwards.
  void Add(PageId id, Lsn lsn, bool will_init, std::span<const uint8_t> snippet);
  // Marks that every mini-transaction up to `lsn` has been added (also those touching no page).
  void AdvanceTo(Lsn lsn) { end_lsn_ = lsn; }

  // As DeltaLayer::CollectNewestFirst.
  bool CollectNewestFirst(PageId id, Lsn max_lsn, Lsn floor, std::vector<DeltaEntry>* out) const;
  uint32_t CountEntries(PageId id) const;
  // Of those, the entries above `lsn`.
  uint32_t CountEntriesAfter(PageId id, Lsn lsn) const;

  // Writes every entry, in (page, LSN) order, to a new delta layer file at `path`; `pages` is
  // SortedPages().
  absl::Status WriteDeltaLayer(const std::string& path, std::span<const PageId> pages) const;
  // The pages with entries, ascending.
  std::vector<PageId> SortedPages() const;

  Lsn start_lsn() const { return start_lsn_; }
  Lsn end_lsn() const { return end_lsn_; }
  uint64_t bytes() const { return bytes_; }
  bool empty() const { return pages_.empty(); }

 private:
  Lsn start_lsn_;
  Lsn end_lsn_;
  uint64_t bytes_ = 0;
  // Snippets live in large blocks (an arena): one allocation per megabyte, not per snippet.
  struct Entry {
    Lsn lsn;
    const uint8_t* data;
    uint32_t length;
    bool will_init;
  };
  std::span<const uint8_t> Store(std::span<const uint8_t> bytes);
  std::vector<std::unique_ptr<uint8_t[]>> blocks_;
  size_t block_used_ = 0;
  size_t block_size_ = 0;
  absl::flat_hash_map<PageId, std::vector<Entry>, std::hash<PageId>> pages_;
};

}  // namespace pageserver::storage
