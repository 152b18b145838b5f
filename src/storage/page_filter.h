// PageFilter: which pages a layer file may hold, kept in memory — a Bloom filter of about 10
// bits a page (under 1% false positives). A read asks every candidate layer, newest first,
// whether it holds the page; most pages are in few layers, and without the filter each "no"
// costs a pread of an index block. With it, a "no" is a few memory reads, and only a false
// positive (under 1 in 100) still reads the file.
//
// Memory: 1.25 bytes per distinct page of each layer, next to the layers' own indexes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/types.h"

namespace pageserver::storage {

class PageFilter {
 public:
  PageFilter() = default;  // holds nothing
  // Sized for `pages` distinct pages.
  explicit PageFilter(size_t pages);

  void Add(PageId id);
  // False: the page was never added. True: it probably was.
  bool MayContain(PageId id) const;
  size_t bytes() const { return bits_.size() * sizeof(uint64_t); }

 private:
  static constexpr int kProbes = 7;  // optimal for 10 bits a key: ln 2 * 10
  std::vector<uint64_t> bits_;
  uint64_t bit_count_ = 0;
};

}  // namespace pageserver::storage
