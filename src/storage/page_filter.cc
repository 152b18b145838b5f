#include "storage/page_filter.h"

namespace pageserver::storage {
namespace {

// A 64-bit mix of the page key (the finaliser of MurmurHash3): page numbers are dense and
// sequential, so their bits must be spread before they pick filter bits.
uint64_t Mix(PageId id) {
  uint64_t x = (uint64_t{id.space.value()} << 32) | id.page.value();
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

PageFilter::PageFilter(size_t pages) {
  const uint64_t words = (pages * 10 + 63) / 64;
  bits_.assign(words == 0 ? 1 : words, 0);
  bit_count_ = bits_.size() * 64;
}

// Probe i is h1 + i * h2 (Kirsch and Mitzenmacher: two hashes make k as good as k independent).
void PageFilter::Add(PageId id) {
  if (bits_.empty()) *this = PageFilter(1);
  const uint64_t h = Mix(id);
  const uint64_t h1 = h & 0xffffffffu, h2 = (h >> 32) | 1;
  for (int i = 0; i < kProbes; ++i) {
    const uint64_t bit = (h1 + i * h2) % bit_count_;
    bits_[bit / 64] |= uint64_t{1} << (bit % 64);
  }
}

bool PageFilter::MayContain(PageId id) const {
  if (bits_.empty()) return false;
  const uint64_t h = Mix(id);
  const uint64_t h1 = h & 0xffffffffu, h2 = (h >> 32) | 1;
  for (int i = 0; i < kProbes; ++i) {
    const uint64_t bit = (h1 + i * h2) % bit_count_;
    if ((bits_[bit / 64] & (uint64_t{1} << (bit % 64))) == 0) return false;
  }
  return true;
}

}  // namespace pageserver::storage
