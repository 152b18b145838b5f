#include "redo/index_page.h"

#include <array>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <string_view>

#include "absl/strings/str_cat.h"
#include "redo/page_format.h"
#include "redo/page_view.h"
#include "wal/varint.h"

namespace pageserver::redo {
namespace {

using wal::DecodeVarint;

constexpr uint32_t kMaxFields = 1023;  // REC_MAX_N_FIELDS
constexpr uint8_t kRtreeTypeLowByte = kFilPageTypeRtree & 0xFF;

absl::Status Corrupt(const std::string& what) {
  return absl::DataLossError(absl::StrCat("index page record does not fit the page: ", what));
}

// Returns the address in [begin, end) of the 2-byte big-endian value `target`, stepping by 2, or
// `end`. Full pages have hundreds of slots and every insert and delete searches them.
uint32_t FindSlotBytes(const uint8_t* page, uint32_t begin, uint32_t end, uint32_t target) {
  const uint16_t be = static_cast<uint16_t>((target >> 8) | ((target & 0xFF) << 8));
  uint32_t addr = begin;
#if defined(__SSE2__)
  const __m128i needle = _mm_set1_epi16(static_cast<int16_t>(be));
  for (; addr + 16 <= end; addr += 16) {
    const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(page + addr));
    const int mask = _mm_movemask_epi8(_mm_cmpeq_epi16(chunk, needle));
    if (mask) return addr + static_cast<uint32_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; addr < end; addr += 2) {
    uint16_t v;
    std::memcpy(&v, page + addr, 2);
    if (v == be) return addr;
  }
  return end;
}

// Record-header access for one row format. Record positions are "origins": the first data byte;
// the header lies before it.
class IndexPage {
 public:
  IndexPage(std::span<uint8_t> frame, bool comp) : v_(frame), comp_(comp) {}

  PageView& view() { return v_; }
  bool comp() const { return comp_; }
  uint32_t ps() const { return v_.size(); }
  uint32_t Infimum() const { return comp_ ? kCompactInfimum : kRedundantInfimum; }
  uint32_t Supremum() const { return comp_ ? kCompactSupremum : kRedundantSupremum; }
  uint32_t HeapBottom() const { return comp_ ? kCompactSupremumEnd : kRedundantSupremumEnd; }
  uint32_t FixedExtra() const { return comp_ ? kCompactExtraBytes : kRedundantExtraBytes; }

  uint32_t Next(uint32_t rec) {
    const uint16_t raw = v_.U16(rec - 2);
    if (!comp_) return raw;
    return raw ? (rec + raw) & 0xFFFF : 0;
  }
  // Writes the next pointer of `rec` to point at `next` (0 = none).
  void SetNext(uint32_t rec, uint32_t next) {
    if (comp_) {
      v_.Set16(rec - 2, next ? static_cast<uint16_t>(next - rec) : 0);
    } else {
      v_.Set16(rec - 2, static_cast<uint16_t>(next));
    }
  }
  uint32_t NOwnedPos(uint32_t rec) const { return rec - (comp_ ? 5 : 6); }
  uint8_t NOwned(uint32_t rec) { return v_.U8(NOwnedPos(rec)) & 0x0F; }
  void SetNOwned(uint32_t rec, uint32_t n) {
    const uint32_t pos = NOwnedPos(rec);
    v_.Set8(pos, static_cast<uint8_t>((v_.U8(pos) & 0xF0) | (n & 0x0F)));
  }
  uint16_t HeapNo(uint32_t rec) { return v_.U16(rec - (comp_ ? 4 : 5)) >> 3; }

  // ROW_FORMAT=REDUNDANT header fields.
  uint32_t OldNFields(uint32_t rec) { return (v_.U16(rec - 4) >> 1) & 0x3FF; }
  bool OldShort(uint32_t rec) { return v_.U8(rec - 3) & 1; }
  uint32_t OldExtraSize(uint32_t rec) {
    return kRedundantExtraBytes + OldNFields(rec) * (OldShort(rec) ? 1 : 2);
  }
  uint32_t OldDataSize(uint32_t rec) {
    const uint32_t n = OldNFields(rec);
    if (OldShort(rec)) return v_.U8(rec - kRedundantExtraBytes - n) & 0x7F;
    return v_.U16(rec - kRedundantExtraBytes - 2 * n) & 0x3FFF;
  }

  uint16_t NSlots() { return v_.U16(kPageNDirSlots); }
  uint32_t SlotAddr(uint32_t i) const { return ps() - kPageDirOffsetFromEnd - 2 * i; }
  uint16_t Slot(uint32_t i) { return v_.U16(SlotAddr(i)); }

  // A record position that may hold a user record: inside the heap, room for its fixed header.
  bool InHeap(uint32_t rec, uint32_t heap_top) {
    return rec >= HeapBottom() + FixedExtra() && rec <= heap_top;
  }

  // Follows next pointers from `rec` to the record that owns it (n_owned != 0); then finds the
  // directory slot that points to the owner, scanning from the last slot towards slot 1.
  absl::Status FindOwner(uint32_t rec, uint32_t limit, uint32_t heap_top, uint32_t* owner,
                         uint32_t* slot) {
    uint32_t r = rec;
    for (uint32_t steps = 0; NOwned(r) == 0; ++steps) {
      if (steps > limit) return Corrupt("cyclic or broken next-record list");
      r = Next(r);
      if (r != Supremum() && !InHeap(r, heap_top)) return Corrupt("next record outside the heap");
    }
    if (!v_.ok()) return Corrupt("record header outside the page");
    // The directory is unordered by address, so this is a linear search of its raw bytes from
    // the last slot (lowest address) up to, not including, slot 0; CheckPage bounded n_slots.
    // Slot values are distinct, so the first match is the only one.
    const uint32_t first = SlotAddr(0);
    const uint32_t addr = FindSlotBytes(v_.data(), SlotAddr(NSlots() - 1), first, r);
    if (addr < first) {
      *owner = r;
      *slot = (first - addr) / 2;
      return absl::OkStatus();
    }
    return Corrupt("owner record has no directory slot");
  }

  // The owner of slot s just reached 9 records: give half of them a new slot below it.
  void SplitSlot(uint32_t s) {
    const uint32_t n_slots = NSlots();
    uint32_t mid = Slot(s - 1);
    for (int i = 0; i < 4; ++i) mid = Next(mid);
    const uint32_t a = SlotAddr(s);
    const uint32_t last = SlotAddr(n_slots - 1);
    v_.Move(last - 2, last, a + 2 - last);
    v_.Set16(kPageNDirSlots, static_cast<uint16_t>(n_slots + 1));
    v_.Set16(a, static_cast<uint16_t>(mid));
    SetNOwned(mid, 4);
    SetNOwned(Slot(s + 1), 5);
  }

  // Slot s dropped below 4 records: merge it into slot s+1 or borrow one record from it.
  void BalanceSlot(uint32_t s) {
    const uint32_t n_slots = NSlots();
    if (s + 1 >= n_slots) return;  // the last slot (supremum) cannot be balanced
    const uint32_t up = Slot(s + 1);
    const uint32_t cur = Slot(s);
    const uint32_t up_owned = NOwned(up);
    if (up_owned <= kDirSlotMinOwned) {
      SetNOwned(cur, 0);
      SetNOwned(up, up_owned + kDirSlotMinOwned - 1);
      const uint32_t last = SlotAddr(n_slots - 1);
      v_.Move(last + 2, last, SlotAddr(s) - last);
      v_.Fill(last, 0, 2);
      v_.Set16(kPageNDirSlots, static_cast<uint16_t>(n_slots - 1));
      return;
    }
    const uint32_t next = Next(cur);
    SetNOwned(cur, 0);
    SetNOwned(next, kDirSlotMinOwned);
    SetNOwned(up, up_owned - 1);
    v_.Set16(SlotAddr(s), static_cast<uint16_t>(next));
  }

  // PAGE_DIRECTION_B / PAGE_N_DIRECTION after an insert between prev and next.
  void UpdateDirection(uint32_t last_insert, uint32_t prev, uint32_t next) {
    if (v_.U8(kFilPageType + 1) == kRtreeTypeLowByte) return;
    const uint8_t dir_byte = v_.U8(kPageDirectionByte);
    const uint8_t dir = dir_byte & 7;
    auto set_dir = [&](uint8_t d) {
      v_.Set8(kPageDirectionByte, static_cast<uint8_t>((dir_byte & ~7) | d));
    };
    if (last_insert == 0) {
      set_dir(kPageNoDirection);
      v_.Set16(kPageNDirection, 0);
    } else if (last_insert == prev && dir != kPageLeft) {
      set_dir(kPageRight);
      v_.Set16(kPageNDirection, static_cast<uint16_t>(v_.U16(kPageNDirection) + 1));
    } else if (last_insert == next && dir != kPageRight) {
      set_dir(kPageLeft);
      v_.Set16(kPageNDirection, static_cast<uint16_t>(v_.U16(kPageNDirection) + 1));
    } else {
      set_dir(kPageNoDirection);
      v_.Set16(kPageNDirection, 0);
    }
  }

  // Checks shared by inserts and deletes: a sane directory and header for this row format.
  absl::Status CheckPage() {
    const uint16_t type = v_.U16(kFilPageType);
    if (type != kFilPageTypeIndex && type != kFilPageTypeRtree && type != kFilPageTypeInstant) {
      return Corrupt(absl::StrCat("page type ", type, " is not an index page"));
    }
    if (((v_.U16(kPageNHeap) & 0x8000) != 0) != comp_) {
      return Corrupt("row format of the record does not match the page");
    }
    const uint32_t n_slots = NSlots();
    if (n_slots < 2 || n_slots > (ps() - kPageData - kPageDirOffsetFromEnd) / 4) {
      return Corrupt("bad number of directory slots");
    }
    if (Slot(0) != Infimum() || Slot(n_slots - 1) != Supremum()) {
      return Corrupt("directory does not start at infimum and end at supremum");
    }
    if (v_.U16(Supremum() - 2) != 0) return Corrupt("supremum has a next record");
    return absl::OkStatus();
  }

  void MemFree(uint32_t rec, uint32_t data_size, uint32_t extra_size);

 private:
  PageView v_;
  bool comp_;
};

void IndexPage::MemFree(uint32_t rec, uint32_t data_size, uint32_t extra_size) {
  const uint32_t free = v_.U16(kPageFree);
  const uint16_t n_heap = static_cast<uint16_t>(v_.U16(kPageNHeap) - 1);
  const bool top = n_heap == (comp_ ? (HeapNo(rec) | 0x8000) : HeapNo(rec));
  if (top) {
    const uint32_t heap_top = v_.U16(kPageHeapTop);
    const uint32_t savings = static_cast<uint16_t>(heap_top - (rec + data_size));
    v_.Set16(kPageHeapTop, static_cast<uint16_t>(rec - extra_size));
    v_.Set16(kPageNHeap, n_heap);
    if (savings) {
      v_.Set16(kPageGarbage, static_cast<uint16_t>(v_.U16(kPageGarbage) - savings));
    }
  } else {
    v_.Set16(kPageFree, static_cast<uint16_t>(rec));
    v_.Set16(kPageGarbage, static_cast<uint16_t>(v_.U16(kPageGarbage) + extra_size + data_size));
  }
  v_.Set16(kPageLastInsert, 0);
  v_.Set16(kPageNRecs, static_cast<uint16_t>(v_.U16(kPageNRecs) - 1));
  if (top) {
    v_.Fill(rec - extra_size, 0, extra_size + data_size);
  } else {
    SetNext(rec, free);
    v_.Fill(rec, 0, data_size);
  }
}

// Reads the insert payload's varints in order; each with its maximum width.
class PayloadReader {
 public:
  explicit PayloadReader(std::span<const uint8_t> p) : p_(p) {}
  bool Read(size_t max_bytes, uint32_t* out, bool may_end = false) {
    auto v = DecodeVarint(p_.data() + pos_, p_.size() - pos_, max_bytes);
    if (!v) return false;
    // All but the last field of a record must leave at least one byte behind them.
    if (!may_end && pos_ + v->size >= p_.size()) return false;
    pos_ += v->size;
    *out = v->value;
    return true;
  }
  std::span<const uint8_t> Rest() const { return p_.subspan(pos_); }

 private:
  std::span<const uint8_t> p_;
  size_t pos_ = 0;
};

absl::Status InsertRedundant(IndexPage& pg, bool reuse, std::span<const uint8_t> payload) {
  PageView& v = pg.view();
  PayloadReader r(payload);
  uint32_t prev = 0, enc_hdr = 0, hdr_c = 0, data_c = 0;
  if (!r.Read(3, &prev) || !r.Read(2, &enc_hdr) || !r.Read(2, &hdr_c) ||
      !r.Read(2, &data_c, true)) {
    return Corrupt("malformed INSERT_*_REDUNDANT fields");
  }
  const std::span<const uint8_t> data = r.Rest();
  const uint32_t n_heap = v.U16(kPageNHeap);
  const uint32_t heap_top = v.U16(kPageHeapTop);
  const uint32_t last_slot = pg.SlotAddr(pg.NSlots() - 1);
  if (n_heap < 2 || n_heap >= pg.ps() / kRedundantExtraBytes) return Corrupt("bad PAGE_N_HEAP");
  if (heap_top < kRedundantSupremumEnd || heap_top > last_slot) return Corrupt("bad heap top");
  const uint32_t prev_rec = kRedundantInfimum + prev;
  if (prev &&
      (prev_rec < kRedundantSupremumEnd + kRedundantExtraBytes + 1 || prev_rec > heap_top)) {
    return Corrupt("predecessor outside the heap");
  }
  const uint32_t pn_fields = pg.OldNFields(prev_rec);
  if (pn_fields == 0 || pn_fields > kMaxFields) return Corrupt("predecessor field count");
  if (prev_rec != kRedundantInfimum &&
      prev_rec - pg.OldExtraSize(prev_rec) < kRedundantSupremumEnd) {
    return Corrupt("predecessor header outside the heap");
  }
  if (hdr_c && prev_rec - hdr_c < kRedundantSupremumEnd) return Corrupt("copied header");
  if (prev_rec + pg.OldDataSize(prev_rec) > heap_top) return Corrupt("predecessor data");
  const uint32_t next_rec = pg.Next(prev_rec);
  if (next_rec != kRedundantSupremum && !pg.InHeap(next_rec, heap_top)) {
    return Corrupt("successor outside the heap");
  }
  const bool is_short = (enc_hdr >> 2) & 1;
  const uint32_t n_fields = (enc_hdr >> 3) + 1;
  if (n_fields > kMaxFields) return Corrupt("field count");
  const uint32_t extra = kRedundantExtraBytes + n_fields * (is_short ? 1 : 2);
  const uint32_t copied_hdr = hdr_c + kRedundantExtraBytes;
  if (copied_hdr > extra || extra - copied_hdr > data.size()) return Corrupt("header sizes");

  uint32_t owner = 0, slot = 0;
  if (auto s = pg.FindOwner(next_rec, kDirSlotMaxOwned, heap_top, &owner, &slot); !s.ok()) return s;
  const uint32_t n_owned = pg.NOwned(owner);
  if (n_owned > kDirSlotMaxOwned) return Corrupt("owner owns too many records");

  // Build the header in a scratch buffer; `hdr + extra` plays the record origin.
  std::array<uint8_t, kRedundantExtraBytes + kMaxFields * 2> hdr{};
  std::copy_n(data.begin(), extra - copied_hdr, hdr.begin());
  v.Read(prev_rec - copied_hdr, hdr.data() + extra - copied_hdr, copied_hdr);
  uint8_t* o = hdr.data() + extra;
  o[-6] = static_cast<uint8_t>(((enc_hdr & 3) << 4) | (o[-6] & 0x0F));  // info bits
  o[-3] = static_cast<uint8_t>((o[-3] & ~1) | (is_short ? 1 : 0));
  const uint16_t nf = static_cast<uint16_t>(((o[-4] << 8 | o[-3]) & ~0x07FE) | (n_fields << 1));
  o[-4] = static_cast<uint8_t>(nf >> 8);
  o[-3] = static_cast<uint8_t>(nf);
  o[-6] &= 0xF0;  // n_owned = 0
  const uint32_t data_size = is_short ? (o[-6 - static_cast<int>(n_fields)] & 0x7F)
                                      : (ReadBe16(o - 6 - 2 * n_fields) & 0x3FFF);
  if (data_c > data_size || (extra - copied_hdr) + (data_size - data_c) != data.size()) {
    return Corrupt("record size does not match the logged bytes");
  }

  uint32_t dest = 0;
  uint32_t heap_no = 0;
  if (reuse) {
    const uint32_t free_rec = v.U16(kPageFree);
    if (!pg.InHeap(free_rec, heap_top)) return Corrupt("PAGE_FREE outside the heap");
    const uint32_t fextra = pg.OldExtraSize(free_rec);
    const uint32_t fdata = pg.OldDataSize(free_rec);
    if (free_rec - fextra < kRedundantSupremumEnd || free_rec + fdata > heap_top) {
      return Corrupt("free record outside the heap");
    }
    if (extra + data_size > fextra + fdata) return Corrupt("record larger than the free slot");
    if (v.U16(kPageGarbage) < fextra + fdata) return Corrupt("PAGE_GARBAGE too small");
    const uint32_t next_free = v.U16(free_rec - 2);
    if (next_free &&
        (next_free < kRedundantSupremumEnd + kRedundantExtraBytes + 1 || next_free > heap_top)) {
      return Corrupt("next free record outside the heap");
    }
    v.Set16(kPageGarbage, static_cast<uint16_t>(v.U16(kPageGarbage) - extra - data_size));
    heap_no = pg.HeapNo(free_rec);
    v.Set16(kPageFree, static_cast<uint16_t>(next_free));
    dest = free_rec - fextra;
  } else {
    if (heap_top + extra + data_size > last_slot) return Corrupt("no room on the heap");
    heap_no = n_heap;
    v.Set16(kPageNHeap, static_cast<uint16_t>(n_heap + 1));
    v.Set16(kPageHeapTop, static_cast<uint16_t>(heap_top + extra + data_size));
    dest = heap_top;
  }
  const uint16_t hn = static_cast<uint16_t>((ReadBe16(o - 5) & 0x0007) | (heap_no << 3));
  WriteBe16(o - 5, hn);

  const uint32_t last_insert = v.U16(kPageLastInsert);
  v.Copy(dest, hdr.data(), extra);
  const uint32_t rec = dest + extra;
  v.Set16(kPageLastInsert, static_cast<uint16_t>(rec));
  v.Set16(prev_rec - 2, static_cast<uint16_t>(rec));
  v.Move(rec, prev_rec, data_c);
  v.Copy(rec + data_c, data.data() + (extra - copied_hdr), data.size() - (extra - copied_hdr));
  pg.SetNOwned(owner, n_owned + 1);
  pg.UpdateDirection(last_insert, prev_rec, next_rec);
  v.Set16(kPageNRecs, static_cast<uint16_t>(v.U16(kPageNRecs) + 1));
  if (n_owned == kDirSlotMaxOwned) pg.SplitSlot(slot);
  return v.ok() ? absl::OkStatus() : Corrupt("access outside the page");
}

absl::Status InsertDynamic(IndexPage& pg, bool reuse, std::span<const uint8_t> payload) {
  PageView& v = pg.view();
  PayloadReader r(payload);
  uint32_t prev = 0, shift = 0, enc_hdr_l = 0, hdr_c = 0, data_c = 0;
  if (!r.Read(3, &prev) || (reuse && !r.Read(3, &shift)) || !r.Read(3, &enc_hdr_l) ||
      !r.Read(2, &hdr_c) || !r.Read(3, &data_c, true)) {
    return Corrupt("malformed INSERT_*_DYNAMIC fields");
  }
  const std::span<const uint8_t> data = r.Rest();
  const uint32_t hdr_l = enc_hdr_l >> 3;
  const uint32_t n_heap = v.U16(kPageNHeap);
  const bool leaf = v.U16(kPageLevel) == 0;
  if (n_heap < (2 | 0x8000) || (n_heap & 0x7FFF) >= pg.ps() / kCompactExtraBytes ||
      (n_heap & 0x7FFF) < pg.NSlots()) {
    return Corrupt("bad PAGE_N_HEAP");
  }
  if ((enc_hdr_l & 4) && !leaf) return Corrupt("instant record on a non-leaf page");
  if (hdr_l > data.size()) return Corrupt("literal header longer than the literal bytes");
  const uint32_t heap_top = v.U16(kPageHeapTop);
  const uint32_t last_slot = pg.SlotAddr(pg.NSlots() - 1);
  if (heap_top < kCompactSupremumEnd || heap_top > last_slot) return Corrupt("bad heap top");
  const uint32_t prev_rec = (kCompactInfimum + prev) & 0xFFFF;
  if (prev && !pg.InHeap(prev_rec, heap_top)) return Corrupt("predecessor outside the heap");
  const uint32_t next_rec = (prev_rec + v.U16(prev_rec - 2)) & 0xFFFF;
  if (next_rec != kCompactSupremum && !pg.InHeap(next_rec, heap_top)) {
    return Corrupt("successor outside the heap");
  }
  uint32_t owner = 0, slot = 0;
  if (auto s = pg.FindOwner(next_rec, kDirSlotMaxOwned, heap_top, &owner, &slot); !s.ok()) return s;
  const uint32_t n_owned = pg.NOwned(owner);
  if (n_owned > kDirSlotMaxOwned) return Corrupt("owner owns too many records");

  const uint32_t extra = kCompactExtraBytes + hdr_c + hdr_l;
  const uint32_t data_size = data_c + static_cast<uint32_t>(data.size()) - hdr_l;
  uint32_t dest = 0;
  uint32_t heap_no = 0;
  if (reuse) {
    const uint32_t free_rec = v.U16(kPageFree);
    if (!pg.InHeap(free_rec, heap_top)) return Corrupt("PAGE_FREE outside the heap");
    int64_t d = int64_t{free_rec} - extra;
    d += (shift & 1) ? -int64_t{shift >> 1} : int64_t{shift >> 1};
    if (d < kCompactSupremumEnd || d + extra + data_size > heap_top) {
      return Corrupt("reused space outside the heap");
    }
    if (v.U16(kPageGarbage) < extra + data_size) return Corrupt("PAGE_GARBAGE too small");
    uint32_t next_free = v.U16(free_rec - 2);
    if (next_free) {
      next_free = (next_free + free_rec) & 0xFFFF;
      if (next_free < kCompactSupremumEnd + kCompactExtraBytes || next_free > heap_top) {
        return Corrupt("next free record outside the heap");
      }
    }
    v.Set16(kPageFree, static_cast<uint16_t>(next_free));
    v.Set16(kPageGarbage, static_cast<uint16_t>(v.U16(kPageGarbage) - (extra + data_size)));
    heap_no = pg.HeapNo(free_rec);
    dest = static_cast<uint32_t>(d);
  } else {
    if (heap_top + extra + data_size > last_slot) return Corrupt("no room on the heap");
    v.Set16(kPageNHeap, static_cast<uint16_t>(n_heap + 1));
    heap_no = n_heap & 0x7FFF;
    v.Set16(kPageHeapTop, static_cast<uint16_t>(heap_top + extra + data_size));
    dest = heap_top;
  }
  uint32_t w = dest;
  v.Copy(w, data.data(), hdr_l);
  w += hdr_l;
  v.Move(w, prev_rec - kCompactExtraBytes - hdr_c, hdr_c);
  w += hdr_c;
  v.Set8(w++, static_cast<uint8_t>((enc_hdr_l & 3) << 4));
  v.Set8(w++, static_cast<uint8_t>(heap_no >> 5));
  const uint8_t status = leaf ? (enc_hdr_l & 4) : 1;
  v.Set8(w++, static_cast<uint8_t>(((heap_no & 31) << 3) | status));
  w += 2;
  const uint32_t rec = w;
  v.Set16(rec - 2, static_cast<uint16_t>(next_rec - rec));
  const uint32_t last_insert = v.U16(kPageLastInsert);
  v.Set16(kPageLastInsert, static_cast<uint16_t>(rec));
  v.Set16(prev_rec - 2, static_cast<uint16_t>(rec - prev_rec));
  v.Move(rec, prev_rec, data_c);
  v.Copy(rec + data_c, data.data() + hdr_l, data.size() - hdr_l);
  pg.SetNOwned(owner, n_owned + 1);
  pg.UpdateDirection(last_insert, prev_rec, next_rec);
  v.Set16(kPageNRecs, static_cast<uint16_t>(v.U16(kPageNRecs) + 1));
  if (n_owned == kDirSlotMaxOwned) pg.SplitSlot(slot);
  return v.ok() ? absl::OkStatus() : Corrupt("access outside the page");
}

absl::Status Delete(IndexPage& pg, std::span<const uint8_t> payload) {
  PageView& v = pg.view();
  PayloadReader r(payload);
  uint32_t prev = 0, hdr_size = 0, data_size = 0;
  if (pg.comp()) {
    if (!r.Read(3, &prev) || !r.Read(2, &hdr_size) || !r.Read(3, &data_size, true) ||
        !r.Rest().empty()) {
      return Corrupt("malformed DELETE_ROW_FORMAT_DYNAMIC fields");
    }
  } else if (!r.Read(3, &prev, true) || !r.Rest().empty()) {
    return Corrupt("malformed DELETE_ROW_FORMAT_REDUNDANT fields");
  }
  const uint32_t n_recs = v.U16(kPageNRecs);
  if (n_recs == 0) return Corrupt("delete from an empty page");
  const uint32_t last_slot = pg.SlotAddr(pg.NSlots() - 1);
  const uint32_t prev_rec = (pg.Infimum() + prev) & 0xFFFF;
  if (prev_rec > last_slot) return Corrupt("predecessor outside the page");
  const uint32_t rec = pg.Next(prev_rec);
  if (rec < pg.HeapBottom() + pg.FixedExtra() || rec > last_slot) {
    return Corrupt("deleted record outside the heap");
  }
  uint32_t extra = 0;
  if (pg.comp()) {
    extra = kCompactExtraBytes + hdr_size;
  } else {
    extra = pg.OldExtraSize(rec);
    data_size = pg.OldDataSize(rec);
  }
  if (rec < pg.HeapBottom() + extra || rec + data_size > last_slot) {
    return Corrupt("deleted record outside the heap");
  }
  const uint32_t next = pg.Next(rec);
  if (next != pg.Supremum() && (next < pg.HeapBottom() + pg.FixedExtra() || next > last_slot)) {
    return Corrupt("successor outside the heap");
  }
  uint32_t owner = 0, slot = 0;
  if (auto s = pg.FindOwner(rec, n_recs, last_slot, &owner, &slot); !s.ok()) return s;
  const uint32_t slot_owned = pg.NOwned(owner) - 1;
  if (owner == rec) {
    owner = prev_rec;
    v.Set16(pg.SlotAddr(slot), static_cast<uint16_t>(owner));
  }
  pg.SetNext(prev_rec, next);
  pg.SetNOwned(owner, slot_owned);
  pg.MemFree(rec, data_size, extra);
  if (slot_owned < kDirSlotMinOwned) pg.BalanceSlot(slot);
  return v.ok() ? absl::OkStatus() : Corrupt("access outside the page");
}

}  // namespace

void InitIndexPage(std::span<uint8_t> page, bool comp) {
  static constexpr uint8_t kCompactInfSup[] = {0x01, 0x00, 0x02, 0x00, 0x0d, 'i',  'n',  'f',  'i',
                                               'm',  'u',  'm',  0x00, 0x01, 0x00, 0x0b, 0x00, 0x00,
                                               's',  'u',  'p',  'r',  'e',  'm',  'u',  'm'};
  static constexpr uint8_t kRedundantInfSup[] = {
      0x08, 0x01, 0x00, 0x00, 0x03, 0x00, 0x74, 'i', 'n', 'f', 'i', 'm', 'u', 'm', 0x00, 0x09,
      0x01, 0x00, 0x08, 0x03, 0x00, 0x00, 's',  'u', 'p', 'r', 'e', 'm', 'u', 'm', 0x00};
  PageView v(page);
  const uint32_t ps = v.size();
  v.Set16(kFilPageType, kFilPageTypeIndex);
  v.Fill(kPageNDirSlots, 0, kPageLevel - kPageNDirSlots);
  v.Set16(kPageNDirSlots, 2);
  v.Set8(kPageDirectionByte, kPageNoDirection);
  if (comp) {
    v.Set16(kPageNHeap, 0x8002);
    v.Set16(kPageHeapTop, kCompactSupremumEnd);
    v.Copy(kPageData, kCompactInfSup, sizeof(kCompactInfSup));
    v.Fill(kCompactSupremumEnd, 0, ps - kFilPageEndLsnOldChecksum - kCompactSupremumEnd);
    v.Set16(ps - kPageDirOffsetFromEnd, kCompactInfimum);
    v.Set16(ps - kPageDirOffsetFromEnd - 2, kCompactSupremum);
  } else {
    v.Set16(kPageNHeap, 2);
    v.Set16(kPageHeapTop, kRedundantSupremumEnd);
    v.Copy(kPageData, kRedundantInfSup, sizeof(kRedundantInfSup));
    v.Fill(kRedundantSupremumEnd, 0, ps - kFilPageEndLsnOldChecksum - kRedundantSupremumEnd);
    v.Set16(ps - kPageDirOffsetFromEnd, kRedundantInfimum);
    v.Set16(ps - kPageDirOffsetFromEnd - 2, kRedundantSupremum);
  }
}

absl::Status ApplyInsert(std::span<uint8_t> page, bool comp, bool reuse,
                         std::span<const uint8_t> payload) {
  IndexPage pg(page, comp);
  if (auto s = pg.CheckPage(); !s.ok()) return s;
  return comp ? InsertDynamic(pg, reuse, payload) : InsertRedundant(pg, reuse, payload);
}

absl::Status ApplyDelete(std::span<uint8_t> page, bool comp, std::span<const uint8_t> payload) {
  IndexPage pg(page, comp);
  if (auto s = pg.CheckPage(); !s.ok()) return s;
  return Delete(pg, payload);
}

}  // namespace pageserver::redo
