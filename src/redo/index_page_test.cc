// Index page records (spec 3.4) on COMPACT and REDUNDANT pages: the empty page INIT_ROW_FORMAT_*
// creates, inserts (links, header counters, direction, slot split), deletes (heap-top and
// free-list paths, slot balance and merge), reuse of a freed record, and the corruption cases,
// each of which must return DataLoss without touching memory outside the frame (ASan build).
#include "redo/index_page.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/byte_order.h"
#include "common/testing/status_testing.h"
#include "common/testing/test_seed.h"
#include "redo/testing/apply_mtr.h"

namespace pageserver::redo {
namespace {

using namespace testing;  // pageserver::redo::testing
using pageserver::testing::MessageHas;
using wal::testing::AppendVarint;

constexpr size_t kPs = 16384;
const PageId kPage{SpaceId(7), PageNo(4)};

// An index page built by the records MariaDB writes, and test-side readers of its structure.
// Every user record has 8 data bytes derived from its key; no variable-length header bytes
// (COMPACT) or two 1-byte field offsets (REDUNDANT, 2 fields of 4 bytes).
class TestPage {
 public:
  explicit TestPage(bool comp) : comp_(comp), frame_(kPs, 0xA5) {
    MtrBuilder b;
    b.InitPage(kPage).Extended(kPage, comp ? 1 : 0);
    EXPECT_TRUE(ApplyMtr(b, frame_).ok());
  }

  bool comp() const { return comp_; }
  std::vector<uint8_t>& frame() { return frame_; }
  uint32_t Infimum() const { return comp_ ? 99 : 101; }
  uint32_t Supremum() const { return comp_ ? 112 : 116; }
  uint32_t HeapBottom() const { return comp_ ? 120 : 125; }
  uint32_t Extra() const { return comp_ ? 5 : 8; }
  uint32_t RecSize() const { return Extra() + 8; }
  uint16_t NHeapBit() const { return comp_ ? 0x8000 : 0; }

  uint16_t U16(uint32_t off) const { return ReadBe16(&frame_[off]); }
  uint32_t Next(uint32_t rec) const {
    const uint16_t raw = U16(rec - 2);
    if (!comp_) return raw;
    return raw ? (rec + raw) & 0xFFFF : 0;
  }
  uint32_t NOwned(uint32_t rec) const { return frame_[rec - (comp_ ? 5 : 6)] & 0x0F; }
  uint32_t HeapNo(uint32_t rec) const { return U16(rec - (comp_ ? 4 : 5)) >> 3; }
  uint32_t NSlots() const { return U16(38); }
  uint32_t Slot(uint32_t i) const { return U16(kPs - 10 - 2 * i); }
  uint8_t Direction() const { return frame_[51] & 7; }
  uint16_t NDirection() const { return U16(52); }
  uint16_t NRecs() const { return U16(54); }
  uint16_t HeapTop() const { return U16(40); }
  uint16_t NHeap() const { return U16(42); }
  uint16_t Free() const { return U16(44); }
  uint16_t Garbage() const { return U16(46); }
  uint16_t LastInsert() const { return U16(48); }

  // Origins from the infimum to the supremum along the next pointers.
  std::vector<uint32_t> Chain() const {
    std::vector<uint32_t> chain = {Infimum()};
    while (chain.back() != Supremum() && chain.size() < 2000) chain.push_back(Next(chain.back()));
    return chain;
  }
  // The user records in key order.
  std::vector<uint32_t> Records() const {
    std::vector<uint32_t> chain = Chain();
    return std::vector<uint32_t>(chain.begin() + 1, chain.end() - 1);
  }

  static Bytes Data(uint32_t key) {
    Bytes d(8);
    WriteBe32(d.data(), key);
    WriteBe32(d.data() + 4, 0xD0D1D200u | (key & 0xFF));
    return d;
  }
  Bytes DataAt(uint32_t rec) const { return Bytes(&frame_[rec], &frame_[rec] + 8); }

  Bytes InsertPayload(uint32_t prev_rec, uint32_t key, bool reuse, uint32_t shift = 0) const {
    Bytes p;
    AppendVarint(&p, prev_rec - Infimum());
    if (comp_) {
      if (reuse) AppendVarint(&p, shift);
      p.insert(p.end(), {0x00, 0x00, 0x00});  // enc_hdr_l, hdr_c, data_c
    } else {
      // 2 fields, 1-byte offsets; no header or data bytes copied from the predecessor; the
      // literal starts with the two field end offsets (field 1 at origin-8, field 0 at -7).
      p.insert(p.end(), {0x0C, 0x00, 0x00, 8, 4});
    }
    const Bytes d = Data(key);
    p.insert(p.end(), d.begin(), d.end());
    return p;
  }
  Bytes DeletePayload(uint32_t prev_rec) const {
    Bytes p;
    AppendVarint(&p, prev_rec - Infimum());
    if (comp_) p.insert(p.end(), {0x00, 0x08});  // hdr_size (beyond the 5 fixed), data_size
    return p;
  }
  uint8_t InsertSubtype(bool reuse) const { return comp_ ? (reuse ? 7 : 6) : (reuse ? 5 : 4); }
  uint8_t DeleteSubtype() const { return comp_ ? 9 : 8; }

  absl::Status ApplyExtended(uint8_t subtype, const Bytes& payload) {
    return ApplyMtr(MtrBuilder().Extended(kPage, subtype, payload), frame_);
  }
  // Inserts a record after `prev_rec`; returns the new record's origin (0 on failure).
  uint32_t Insert(uint32_t prev_rec, uint32_t key, bool reuse = false) {
    const absl::Status s = ApplyExtended(InsertSubtype(reuse), InsertPayload(prev_rec, key, reuse));
    EXPECT_TRUE(s.ok()) << s;
    return s.ok() ? Next(prev_rec) : 0;
  }
  // Inserts `n` records with keys 1..n in ascending order; returns their origins.
  std::vector<uint32_t> InsertAscending(uint32_t n) {
    std::vector<uint32_t> recs;
    uint32_t prev = Infimum();
    for (uint32_t k = 1; k <= n; ++k) recs.push_back(prev = Insert(prev, k));
    return recs;
  }
  absl::Status Delete(uint32_t prev_rec) {
    return ApplyExtended(DeleteSubtype(), DeletePayload(prev_rec));
  }

  // The directory rules of spec 3.4: slot 0 = infimum owning 1, last slot = supremum, each
  // owner's n_owned = records since the previous owner, middle slots own 4..8.
  ::testing::AssertionResult DirectoryConsistent() const {
    const std::vector<uint32_t> chain = Chain();
    if (chain.back() != Supremum()) return ::testing::AssertionFailure() << "broken chain";
    if (NRecs() != chain.size() - 2) {
      return ::testing::AssertionFailure()
             << "PAGE_N_RECS " << NRecs() << " chain " << chain.size();
    }
    const uint32_t n_slots = NSlots();
    uint32_t slot = 0, count = 0;
    for (uint32_t rec : chain) {
      ++count;
      if (NOwned(rec) == 0) continue;
      if (slot >= n_slots || Slot(slot) != rec) {
        return ::testing::AssertionFailure() << "owner " << rec << " is not slot " << slot;
      }
      if (NOwned(rec) != count) {
        return ::testing::AssertionFailure()
               << "slot " << slot << " n_owned " << NOwned(rec) << ", counted " << count;
      }
      const bool middle = slot != 0 && slot != n_slots - 1;
      if ((slot == 0 && count != 1) || (middle && (count < 4 || count > 8)) || count > 8) {
        return ::testing::AssertionFailure() << "slot " << slot << " owns " << count;
      }
      ++slot;
      count = 0;
    }
    if (slot != n_slots) return ::testing::AssertionFailure() << "unused slots";
    return ::testing::AssertionSuccess();
  }

 private:
  bool comp_;
  std::vector<uint8_t> frame_;
};

// ---- INIT_ROW_FORMAT_* ----------------------------------------------------------------------

std::vector<uint8_t> PatternPage() {
  std::vector<uint8_t> page(kPs);
  for (size_t i = 0; i < kPs; ++i) page[i] = static_cast<uint8_t>(i * 11 + 5);
  return page;
}

void ExpectEmptyIndexPage(bool comp) {
  std::vector<uint8_t> page = PatternPage();
  const std::vector<uint8_t> before = page;
  ASSERT_TRUE(ApplyMtr(MtrBuilder().Extended(kPage, comp ? 1 : 0), page).ok());
  EXPECT_EQ(ReadBe16(&page[24]), 17855);
  EXPECT_EQ(ReadBe16(&page[38]), 2);  // PAGE_N_DIR_SLOTS
  EXPECT_EQ(ReadBe16(&page[40]), comp ? 120 : 125);
  EXPECT_EQ(ReadBe16(&page[42]), comp ? 0x8002 : 2);
  EXPECT_EQ(page[51], 5);  // PAGE_DIRECTION_B = NO_DIRECTION
  for (size_t i : {44, 45, 46, 47, 48, 49, 50, 52, 53, 54, 55, 56, 63}) {
    EXPECT_EQ(page[i], 0) << "page header byte " << i;
  }
  const Bytes compact = {0x01, 0x00, 0x02, 0x00, 0x0d, 'i', 'n', 'f', 'i', 'm', 'u', 'm', 0x00,
                         0x01, 0x00, 0x0b, 0x00, 0x00, 's', 'u', 'p', 'r', 'e', 'm', 'u', 'm'};
  const Bytes redundant = {0x08, 0x01, 0x00, 0x00, 0x03, 0x00, 0x74, 'i',  'n',  'f',  'i',
                           'm',  'u',  'm',  0x00, 0x09, 0x01, 0x00, 0x08, 0x03, 0x00, 0x00,
                           's',  'u',  'p',  'r',  'e',  'm',  'u',  'm',  0x00};
  const Bytes& want = comp ? compact : redundant;
  EXPECT_EQ(Bytes(page.begin() + 94, page.begin() + 94 + want.size()), want);
  const size_t heap = 94 + want.size();
  for (size_t i = heap; i < kPs - 12; ++i) ASSERT_EQ(page[i], 0) << i;
  EXPECT_EQ(ReadBe16(&page[kPs - 10]), comp ? 99 : 101);   // slot 0: infimum
  EXPECT_EQ(ReadBe16(&page[kPs - 12]), comp ? 112 : 116);  // slot 1: supremum
  // Kept: the FIL header other than the type, PAGE_LEVEL..segment headers (64..93), trailer.
  for (size_t i = 0; i < 24; ++i) EXPECT_EQ(page[i], before[i]) << i;
  for (size_t i = 26; i < 38; ++i) EXPECT_EQ(page[i], before[i]) << i;
  for (size_t i = 64; i < 94; ++i) EXPECT_EQ(page[i], before[i]) << i;
  for (size_t i = kPs - 8; i < kPs; ++i) EXPECT_EQ(page[i], before[i]) << i;
}

TEST(IndexPageInitTest, CompactInfimumSupremumLayout) { ExpectEmptyIndexPage(true); }
TEST(IndexPageInitTest, RedundantInfimumSupremumLayout) { ExpectEmptyIndexPage(false); }

// ---- Inserts, deletes, directory: both row formats -------------------------------------------

class IndexPageTest : public ::testing::TestWithParam<bool> {
 protected:
  TestPage page_{GetParam()};
};

INSTANTIATE_TEST_SUITE_P(RowFormats, IndexPageTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Compact" : "Redundant"; });

TEST_P(IndexPageTest, FirstInsertOnEmptyPage) {
  TestPage& p = page_;
  const uint32_t rec = p.Insert(p.Infimum(), 1);
  EXPECT_EQ(rec, p.HeapBottom() + p.Extra());
  EXPECT_EQ(p.Next(p.Infimum()), rec);
  EXPECT_EQ(p.Next(rec), p.Supremum());
  EXPECT_EQ(p.NRecs(), 1);
  EXPECT_EQ(p.NHeap(), p.NHeapBit() | 3);
  EXPECT_EQ(p.HeapTop(), p.HeapBottom() + p.RecSize());
  EXPECT_EQ(p.LastInsert(), rec);
  EXPECT_EQ(p.Direction(), 5);  // PAGE_LAST_INSERT was 0: NO_DIRECTION
  EXPECT_EQ(p.NDirection(), 0);
  EXPECT_EQ(p.HeapNo(rec), 2u);
  EXPECT_EQ(p.NOwned(rec), 0u);
  EXPECT_EQ(p.NOwned(p.Supremum()), 2u);
  EXPECT_EQ(p.DataAt(rec), TestPage::Data(1));
  if (p.comp()) {
    EXPECT_EQ(p.frame()[rec - 3] & 7, 0);  // status: ordinary leaf record
  } else {
    EXPECT_EQ((p.U16(rec - 4) >> 1) & 0x3FF, 2);  // n_fields
    EXPECT_EQ(p.frame()[rec - 3] & 1, 1);         // 1-byte offsets
    EXPECT_EQ(p.frame()[rec - 7], 4);             // end of field 0
    EXPECT_EQ(p.frame()[rec - 8], 8);             // end of field 1
  }
  EXPECT_TRUE(p.DirectoryConsistent());
}

TEST_P(IndexPageTest, AscendingInsertsGoRight) {
  TestPage& p = page_;
  const std::vector<uint32_t> recs = p.InsertAscending(3);
  EXPECT_EQ(p.Direction(), 2);  // RIGHT
  EXPECT_EQ(p.NDirection(), 2);
  EXPECT_EQ(p.LastInsert(), recs[2]);
  EXPECT_EQ(p.Records(), recs);
  EXPECT_EQ(p.HeapTop(), p.HeapBottom() + 3 * p.RecSize());
}

TEST_P(IndexPageTest, DescendingInsertsGoLeft) {
  TestPage& p = page_;
  const uint32_t r3 = p.Insert(p.Infimum(), 3);
  const uint32_t r2 = p.Insert(p.Infimum(), 2);
  const uint32_t r1 = p.Insert(p.Infimum(), 1);
  EXPECT_EQ(p.Direction(), 1);  // LEFT
  EXPECT_EQ(p.NDirection(), 2);
  EXPECT_EQ(p.Records(), (std::vector<uint32_t>{r1, r2, r3}));
  EXPECT_TRUE(p.DirectoryConsistent());
}

TEST_P(IndexPageTest, InsertBetweenResetsDirection) {
  TestPage& p = page_;
  const uint32_t r1 = p.Insert(p.Infimum(), 1);
  p.Insert(r1, 3);
  ASSERT_EQ(p.Direction(), 2);
  p.Insert(r1, 2);  // last insert was the successor but the direction is RIGHT
  EXPECT_EQ(p.Direction(), 5);
  EXPECT_EQ(p.NDirection(), 0);
}

TEST_P(IndexPageTest, DirectionChangesOnlyTheLowThreeBits) {
  TestPage& p = page_;
  p.frame()[50] = 0x12;
  p.frame()[51] = 0xA8 | 5;  // PAGE_INSTANT's low bits share the byte
  p.InsertAscending(2);
  EXPECT_EQ(p.frame()[50], 0x12);
  EXPECT_EQ(p.frame()[51], 0xA8 | 2);
}

TEST_P(IndexPageTest, RtreePageKeepsDirection) {
  TestPage& p = page_;
  p.frame()[25] = 0xBE;  // FIL_PAGE_RTREE
  p.InsertAscending(3);
  EXPECT_EQ(p.Direction(), 5);
  EXPECT_EQ(p.NDirection(), 0);
}

TEST_P(IndexPageTest, EighthInsertSplitsTheSupremumSlot) {
  TestPage& p = page_;
  std::vector<uint32_t> recs = p.InsertAscending(7);
  EXPECT_EQ(p.NSlots(), 2u);
  EXPECT_EQ(p.NOwned(p.Supremum()), 8u);
  recs.push_back(p.Insert(recs.back(), 8));
  // Split: mid = 4 records after the previous slot's owner (the infimum).
  ASSERT_EQ(p.NSlots(), 3u);
  EXPECT_EQ(p.Slot(0), p.Infimum());
  EXPECT_EQ(p.Slot(1), recs[3]);
  EXPECT_EQ(p.Slot(2), p.Supremum());
  EXPECT_EQ(p.NOwned(recs[3]), 4u);
  EXPECT_EQ(p.NOwned(p.Supremum()), 5u);
  EXPECT_TRUE(p.DirectoryConsistent());
  p.Insert(recs.back(), 9);
  EXPECT_EQ(p.NSlots(), 3u);
  EXPECT_EQ(p.NOwned(p.Supremum()), 6u);
  EXPECT_TRUE(p.DirectoryConsistent());
}

TEST_P(IndexPageTest, TwentyAscendingInserts) {
  TestPage& p = page_;
  const std::vector<uint32_t> recs = p.InsertAscending(20);
  ASSERT_EQ(p.NSlots(), 6u);
  for (uint32_t s = 1; s <= 4; ++s) {
    EXPECT_EQ(p.Slot(s), recs[4 * s - 1]) << s;
    EXPECT_EQ(p.NOwned(recs[4 * s - 1]), 4u) << s;
  }
  EXPECT_EQ(p.NOwned(p.Supremum()), 5u);
  EXPECT_EQ(p.NRecs(), 20);
  EXPECT_EQ(p.NHeap(), p.NHeapBit() | 22);
  EXPECT_TRUE(p.DirectoryConsistent());
}

TEST_P(IndexPageTest, InsertsInTheMiddleSplitAMiddleSlot) {
  TestPage& p = page_;
  const std::vector<uint32_t> recs = p.InsertAscending(12);  // slots: inf, r4, r8, sup
  ASSERT_EQ(p.NSlots(), 4u);
  for (uint32_t k = 0; k < 5; ++k) p.Insert(recs[0], 1000 + k);  // all owned by r4's slot
  EXPECT_EQ(p.NSlots(), 5u);
  EXPECT_TRUE(p.DirectoryConsistent());
  EXPECT_EQ(p.NRecs(), 17);
}

TEST_P(IndexPageTest, DeleteTopRecordShrinksTheHeap) {
  TestPage& p = page_;
  const std::vector<uint32_t> recs = p.InsertAscending(3);
  ASSERT_TRUE(p.Delete(recs[1]).ok());
  EXPECT_EQ(p.Next(recs[1]), p.Supremum());
  EXPECT_EQ(p.HeapTop(), p.HeapBottom() + 2 * p.RecSize());
  EXPECT_EQ(p.NHeap(), p.NHeapBit() | 4);
  EXPECT_EQ(p.Free(), 0);
  EXPECT_EQ(p.Garbage(), 0);
  EXPECT_EQ(p.LastInsert(), 0);
  EXPECT_EQ(p.NRecs(), 2);
  EXPECT_EQ(p.NOwned(p.Supremum()), 3u);
  for (uint32_t i = recs[2] - p.Extra(); i < recs[2] + 8; ++i) EXPECT_EQ(p.frame()[i], 0) << i;
  EXPECT_TRUE(p.DirectoryConsistent());
}

TEST_P(IndexPageTest, DeleteMiddleRecordGoesToTheFreeList) {
  TestPage& p = page_;
  const std::vector<uint32_t> recs = p.InsertAscending(3);
  const Bytes header_before(&p.frame()[recs[1] - p.Extra()], &p.frame()[recs[1] - 2]);
  ASSERT_TRUE(p.Delete(recs[0]).ok());
  EXPECT_EQ(p.Records(), (std::vector<uint32_t>{recs[0], recs[2]}));
  EXPECT_EQ(p.Free(), recs[1]);
  EXPECT_EQ(p.Garbage(), p.RecSize());
  EXPECT_EQ(p.HeapTop(), p.HeapBottom() + 3 * p.RecSize());
  EXPECT_EQ(p.NHeap(), p.NHeapBit() | 5);
  EXPECT_EQ(p.LastInsert(), 0);
  EXPECT_EQ(p.U16(recs[1] - 2), 0);  // end of the free list
  EXPECT_EQ(p.DataAt(recs[1]), Bytes(8, 0));
  EXPECT_EQ(Bytes(&p.frame()[recs[1] - p.Extra()], &p.frame()[recs[1] - 2]), header_before);
  // A second delete links the new head of the free list to the old one.
  ASSERT_TRUE(p.Delete(p.Infimum()).ok());
  EXPECT_EQ(p.Free(), recs[0]);
  EXPECT_EQ(p.Next(recs[0]), recs[1]);
  EXPECT_EQ(p.Garbage(), 2 * p.RecSize());
  EXPECT_EQ(p.Records(), (std::vector<uint32_t>{recs[2]}));
  EXPECT_TRUE(p.DirectoryConsistent());
}

TEST_P(IndexPageTest, ReuseInsertTakesTheHeadOfPageFree) {
  TestPage& p = page_;
  const std::vector<uint32_t> recs = p.InsertAscending(4);
  ASSERT_TRUE(p.Delete(recs[1]).ok());  // frees r3
  ASSERT_TRUE(p.Delete(recs[0]).ok());  // frees r2; PAGE_FREE = r2 -> r3
  const uint16_t heap_top = p.HeapTop();
  const uint16_t n_heap = p.NHeap();
  const uint32_t rec = p.Insert(recs[0], 77, /*reuse=*/true);
  EXPECT_EQ(rec, recs[1]);  // the new record lands exactly where the freed one was
  EXPECT_EQ(p.Free(), recs[2]);
  EXPECT_EQ(p.Garbage(), p.RecSize());
  EXPECT_EQ(p.HeapNo(rec), 3u);  // heap_no of the freed record
  EXPECT_EQ(p.HeapTop(), heap_top);
  EXPECT_EQ(p.NHeap(), n_heap);
  EXPECT_EQ(p.DataAt(rec), TestPage::Data(77));
  EXPECT_EQ(p.Records(), (std::vector<uint32_t>{recs[0], rec, recs[3]}));
  // The last free record: PAGE_FREE becomes 0.
  EXPECT_EQ(p.Insert(rec, 78, true), recs[2]);
  EXPECT_EQ(p.Free(), 0);
  EXPECT_EQ(p.Garbage(), 0);
  EXPECT_TRUE(p.DirectoryConsistent());
}

TEST_P(IndexPageTest, DeleteBorrowsFromTheNextSlot) {
  TestPage& p = page_;
  const std::vector<uint32_t> recs = p.InsertAscending(8);  // inf(1), r4(4), sup(5)
  ASSERT_TRUE(p.Delete(p.Infimum()).ok());                  // r4's slot drops to 3
  ASSERT_EQ(p.NSlots(), 3u);
  EXPECT_EQ(p.Slot(1), recs[4]);  // borrowed r5 from the supremum's slot
  EXPECT_EQ(p.NOwned(recs[4]), 4u);
  EXPECT_EQ(p.NOwned(recs[3]), 0u);
  EXPECT_EQ(p.NOwned(p.Supremum()), 4u);
  EXPECT_TRUE(p.DirectoryConsistent());
}

TEST_P(IndexPageTest, DeleteMergesIntoTheNextSlot) {
  TestPage& p = page_;
  p.InsertAscending(8);
  ASSERT_TRUE(p.Delete(p.Infimum()).ok());
  ASSERT_TRUE(p.Delete(p.Infimum()).ok());  // the middle slot and the supremum's both own 4
  EXPECT_EQ(p.NSlots(), 2u);
  EXPECT_EQ(p.Slot(1), p.Supremum());
  EXPECT_EQ(p.NOwned(p.Supremum()), 7u);
  EXPECT_EQ(p.U16(kPs - 14), 0);  // the removed slot's bytes are cleared
  EXPECT_TRUE(p.DirectoryConsistent());
}

TEST_P(IndexPageTest, DeleteTheOwnerOfASlot) {
  TestPage& p = page_;
  const std::vector<uint32_t> recs = p.InsertAscending(8);
  ASSERT_TRUE(p.Delete(recs[2]).ok());  // r4 owns slot 1: the slot moves to r3, then balances
  EXPECT_EQ(p.NSlots(), 3u);
  EXPECT_EQ(p.Slot(1), recs[4]);
  EXPECT_EQ(p.NOwned(recs[2]), 0u);
  EXPECT_EQ(p.NOwned(recs[3]), 4u);  // the deleted owner keeps its stale n_owned
  EXPECT_TRUE(p.DirectoryConsistent());
}

TEST_P(IndexPageTest, ManyInsertsAndDeletesKeepTheDirectoryConsistent) {
  // A seeded mix of inserts (heap and reuse) and deletes, checked after every step.
  TestPage& p = page_;
  const uint64_t seed = pageserver::testing::TestSeed();
  std::mt19937_64 rng(seed);
  uint32_t key = 0;
  for (int step = 0; step < 400; ++step) {
    const std::vector<uint32_t> chain = p.Chain();
    const uint32_t prev = chain[rng() % (chain.size() - 1)];
    if (chain.size() > 3 && rng() % 3 == 0) {
      if (p.Next(prev) == p.Supremum()) continue;
      ASSERT_TRUE(p.Delete(prev).ok()) << "seed " << seed << " step " << step;
    } else {
      const bool reuse = p.Free() != 0;
      ASSERT_NE(p.Insert(prev, ++key, reuse), 0u) << "seed " << seed << " step " << step;
    }
    ASSERT_TRUE(p.DirectoryConsistent()) << "seed " << seed << " step " << step;
  }
}

// ---- Corruption: DataLoss, never a crash ------------------------------------------------------

TEST_P(IndexPageTest, InsertWithPrevOutsideTheHeap) {
  TestPage& p = page_;
  p.InsertAscending(3);
  const absl::Status s =
      p.ApplyExtended(p.InsertSubtype(false), p.InsertPayload(p.HeapTop() + 500, 9, false));
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(MessageHas(s, "LSN 100000")) << s;
}

TEST_P(IndexPageTest, InsertWithPrevPastThePage) {
  TestPage& p = page_;
  const absl::Status s =
      p.ApplyExtended(p.InsertSubtype(false), p.InsertPayload(p.Infimum() + 2000000, 9, false));
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST_P(IndexPageTest, InsertOnANonIndexPage) {
  TestPage& p = page_;
  WriteBe16(&p.frame()[24], 2);  // FIL_PAGE_UNDO_LOG
  const absl::Status s =
      p.ApplyExtended(p.InsertSubtype(false), p.InsertPayload(p.Infimum(), 1, false));
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(MessageHas(s, "not an index page")) << s;
}

TEST_P(IndexPageTest, InsertOnAnAllZeroPage) {
  TestPage& p = page_;
  std::fill(p.frame().begin(), p.frame().end(), 0);
  EXPECT_TRUE(absl::IsDataLoss(
      p.ApplyExtended(p.InsertSubtype(false), p.InsertPayload(p.Infimum(), 1, false))));
}

TEST_P(IndexPageTest, DeleteOnAnEmptyPage) {
  TestPage& p = page_;
  const absl::Status s = p.Delete(p.Infimum());
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(MessageHas(s, "empty page")) << s;
}

TEST_P(IndexPageTest, InsertOfTheOtherRowFormat) {
  TestPage& p = page_;
  const TestPage other(!p.comp());
  const absl::Status s =
      p.ApplyExtended(other.InsertSubtype(false), other.InsertPayload(other.Infimum(), 1, false));
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(MessageHas(s, "row format")) << s;
}

TEST_P(IndexPageTest, DeleteOfTheOtherRowFormat) {
  TestPage& p = page_;
  p.InsertAscending(2);
  const TestPage other(!p.comp());
  const absl::Status s =
      p.ApplyExtended(other.DeleteSubtype(), other.DeletePayload(other.Infimum()));
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(MessageHas(s, "row format")) << s;
}

TEST_P(IndexPageTest, ReuseWithAnEmptyFreeList) {
  TestPage& p = page_;
  p.InsertAscending(2);
  EXPECT_TRUE(absl::IsDataLoss(
      p.ApplyExtended(p.InsertSubtype(true), p.InsertPayload(p.Infimum(), 5, true))));
}

TEST_P(IndexPageTest, InsertWhenTheHeapIsFull) {
  TestPage& p = page_;
  WriteBe16(&p.frame()[40], static_cast<uint16_t>(kPs - 12 - 4));  // heap top near the directory
  const absl::Status s =
      p.ApplyExtended(p.InsertSubtype(false), p.InsertPayload(p.Infimum(), 1, false));
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST_P(IndexPageTest, CyclicNextPointers) {
  TestPage& p = page_;
  const std::vector<uint32_t> recs = p.InsertAscending(3);
  // r2 points back to r1: the owner search from r2 never reaches an owner.
  if (p.comp()) {
    WriteBe16(&p.frame()[recs[1] - 2], static_cast<uint16_t>(recs[0] - recs[1]));
  } else {
    WriteBe16(&p.frame()[recs[1] - 2], static_cast<uint16_t>(recs[0]));
  }
  EXPECT_TRUE(absl::IsDataLoss(
      p.ApplyExtended(p.InsertSubtype(false), p.InsertPayload(recs[0], 9, false))));
  EXPECT_TRUE(absl::IsDataLoss(p.Delete(recs[0])));
}

TEST_P(IndexPageTest, DirectoryNotEndingAtTheSupremum) {
  TestPage& p = page_;
  WriteBe16(&p.frame()[kPs - 12], 0x1234);
  EXPECT_TRUE(absl::IsDataLoss(
      p.ApplyExtended(p.InsertSubtype(false), p.InsertPayload(p.Infimum(), 1, false))));
}

TEST_P(IndexPageTest, TooManyDirectorySlots) {
  TestPage& p = page_;
  WriteBe16(&p.frame()[38], 0x7FFF);
  EXPECT_TRUE(absl::IsDataLoss(
      p.ApplyExtended(p.InsertSubtype(false), p.InsertPayload(p.Infimum(), 1, false))));
}

TEST_P(IndexPageTest, TruncatedInsertPayload) {
  TestPage& p = page_;
  EXPECT_TRUE(absl::IsDataLoss(p.ApplyExtended(p.InsertSubtype(false), Bytes{0x00, 0x00})));
}

TEST_P(IndexPageTest, DeleteWithTrailingBytes) {
  TestPage& p = page_;
  p.InsertAscending(2);
  Bytes payload = p.DeletePayload(p.Infimum());
  payload.push_back(0);
  EXPECT_TRUE(absl::IsDataLoss(p.ApplyExtended(p.DeleteSubtype(), payload)));
}

TEST(IndexPageRedundantTest, RecordSizeNotMatchingTheLiteralBytes) {
  TestPage p(false);
  Bytes payload = p.InsertPayload(p.Infimum(), 1, false);
  payload.pop_back();  // the header says 8 data bytes, 7 are logged
  const absl::Status s = p.ApplyExtended(4, payload);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(MessageHas(s, "record size")) << s;
}

TEST(IndexPageCompactTest, NonLeafPageInsertIsANodePointer) {
  TestPage p(true);
  WriteBe16(&p.frame()[64], 1);  // PAGE_LEVEL 1
  const uint32_t rec = p.Insert(p.Infimum(), 1);
  EXPECT_EQ(p.frame()[rec - 3] & 7, 1);  // REC_STATUS_NODE_PTR
}

TEST(IndexPageCompactTest, CopiesHeaderAndDataPrefixFromThePredecessor) {
  TestPage p(true);
  // r1: 2 literal header bytes (hdr_l = 2) and 8 data bytes.
  Bytes first = {0x00, 2 << 3, 0x00, 0x00, 0xE1, 0xE2};
  const Bytes d1 = TestPage::Data(1);
  first.insert(first.end(), d1.begin(), d1.end());
  ASSERT_TRUE(p.ApplyExtended(6, first).ok());
  const uint32_t r1 = p.Next(p.Infimum());
  EXPECT_EQ(r1, 120u + 7);
  // r2 after r1: both header bytes and the first 5 data bytes copied; 3 data bytes logged.
  Bytes second;
  AppendVarint(&second, r1 - 99);
  second.insert(second.end(), {0x00, 0x02, 0x05, 0xF5, 0xF6, 0xF7});
  ASSERT_TRUE(p.ApplyExtended(6, second).ok());
  const uint32_t r2 = p.Next(r1);
  EXPECT_EQ(r2, r1 + 8 + 7);
  EXPECT_EQ(p.frame()[r2 - 7], 0xE1);
  EXPECT_EQ(p.frame()[r2 - 6], 0xE2);
  EXPECT_EQ(p.DataAt(r2), (Bytes{d1[0], d1[1], d1[2], d1[3], d1[4], 0xF5, 0xF6, 0xF7}));
  EXPECT_TRUE(p.DirectoryConsistent());
}

TEST(IndexPageRedundantTest, CopiesHeaderAndDataPrefixFromThePredecessor) {
  TestPage p(false);
  const uint32_t r1 = p.Insert(p.Infimum(), 1);
  // hdr_c 1: field 0's end offset comes from r1; the literal has field 1's end and 3 data bytes.
  Bytes payload;
  AppendVarint(&payload, r1 - 101);
  payload.insert(payload.end(), {0x0C, 0x01, 0x05, 8, 0xF5, 0xF6, 0xF7});
  ASSERT_TRUE(p.ApplyExtended(4, payload).ok());
  const uint32_t r2 = p.Next(r1);
  EXPECT_EQ(p.frame()[r2 - 7], 4);
  EXPECT_EQ(p.frame()[r2 - 8], 8);
  EXPECT_EQ(p.HeapNo(r2), 3u);
  const Bytes d1 = TestPage::Data(1);
  EXPECT_EQ(p.DataAt(r2), (Bytes{d1[0], d1[1], d1[2], d1[3], d1[4], 0xF5, 0xF6, 0xF7}));
  EXPECT_TRUE(p.DirectoryConsistent());
}

TEST_P(IndexPageTest, RandomPayloadsNeverCrash) {
  // Hostile payloads for every index subtype on a populated page: each must end in OK or
  // DataLoss (under ASan: with no access outside the frame).
  TestPage base(GetParam());
  const std::vector<uint32_t> recs = base.InsertAscending(12);
  ASSERT_TRUE(base.Delete(recs[3]).ok());
  const uint64_t seed = pageserver::testing::TestSeed();
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> frame = base.frame();
    Bytes payload;
    if (rng() % 2) {  // half the time a real predecessor, so the appliers get past the first check
      const std::vector<uint32_t> chain = base.Chain();
      AppendVarint(&payload, chain[rng() % (chain.size() - 1)] - base.Infimum());
    }
    const size_t n = 1 + rng() % 24;
    for (size_t j = 0; j < n; ++j) {
      payload.push_back(static_cast<uint8_t>(rng() % 4 == 0 ? rng() : rng() % 40));
    }
    const uint8_t subtype = static_cast<uint8_t>(4 + rng() % 6);
    auto mtr = MakeMtr(MtrBuilder().Extended(kPage, subtype, payload));
    if (!mtr.ok()) continue;  // the decoder refused it already
    const absl::Status s = ApplyRecord(*mtr, mtr->records.at(0), frame);
    ASSERT_TRUE(s.ok() || absl::IsDataLoss(s)) << "seed " << seed << " iteration " << i << s;
  }
}

}  // namespace
}  // namespace pageserver::redo
