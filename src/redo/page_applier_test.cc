// ApplyRecord for the physical records (INIT_PAGE, WRITE, MEMSET, MEMMOVE) and the bookkeeping
// around them (which records change page bytes, FIL_PAGE_LSN stamping), and that records which
// do not fit the frame they are applied to fail with DataLoss naming the LSN instead of
// touching memory outside it.
#include "redo/page_applier.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/byte_order.h"
#include "common/testing/status_testing.h"
#include "redo/testing/apply_mtr.h"

namespace pageserver::redo {
namespace {

using namespace testing;  // pageserver::redo::testing
using pageserver::testing::MessageHas;

constexpr size_t kPs = 16384;
PageId P(uint32_t space, uint32_t page) { return {SpaceId(space), PageNo(page)}; }

TEST(PageApplierTest, InitPageFillsAsSpec) {
  std::vector<uint8_t> page = PatternPage();
  ASSERT_TRUE(ApplyMtr(MtrBuilder().InitPage(P(0x01020304, 0x0A0B0C0D)), page).ok());
  EXPECT_EQ(ReadBe32(&page[4]), 0x0A0B0C0Du);   // FIL_PAGE_OFFSET
  EXPECT_EQ(ReadBe32(&page[8]), 0xFFFFFFFFu);   // FIL_PAGE_PREV
  EXPECT_EQ(ReadBe32(&page[12]), 0xFFFFFFFFu);  // FIL_PAGE_NEXT
  EXPECT_EQ(ReadBe32(&page[34]), 0x01020304u);  // FIL_PAGE_SPACE_ID
  // Everything else zero, FIL_PAGE_LSN included (it is stamped at the end of the mtr).
  for (size_t i = 0; i < kPs; ++i) {
    if ((i >= 4 && i < 16) || (i >= 34 && i < 38)) continue;
    ASSERT_EQ(page[i], 0) << "byte " << i;
  }
}

TEST(PageApplierTest, WriteCopiesBytes) {
  std::vector<uint8_t> page = PatternPage();
  const std::vector<uint8_t> before = page;
  ASSERT_TRUE(
      ApplyMtr(MtrBuilder().Write(P(1, 3), 8, Bytes{1, 2}).Write(P(1, 3), kPs - 3, Bytes{7, 8, 9}),
               page)
          .ok());
  EXPECT_EQ(page[8], 1);
  EXPECT_EQ(page[9], 2);
  EXPECT_EQ(page[kPs - 3], 7);
  EXPECT_EQ(page[kPs - 1], 9);
  EXPECT_EQ(page[10], before[10]);
  EXPECT_EQ(page[7], before[7]);
}

TEST(PageApplierTest, MemsetOneBytePattern) {
  std::vector<uint8_t> page = PatternPage();
  const std::vector<uint8_t> before = page;
  ASSERT_TRUE(ApplyMtr(MtrBuilder().Memset(P(1, 3), 100, 50, Bytes{0xAB}), page).ok());
  for (size_t i = 100; i < 150; ++i) EXPECT_EQ(page[i], 0xAB) << i;
  EXPECT_EQ(page[99], before[99]);
  EXPECT_EQ(page[150], before[150]);
}

TEST(PageApplierTest, MemsetMultiBytePattern) {
  // The undo-log header code writes a 2-byte pattern over 4 bytes.
  std::vector<uint8_t> page = PatternPage();
  ASSERT_TRUE(ApplyMtr(MtrBuilder().Memset(P(1, 3), 200, 4, Bytes{0x12, 0x34}), page).ok());
  EXPECT_EQ(ReadBe32(&page[200]), 0x12341234u);
}

TEST(PageApplierTest, MemsetPatternTruncatedAtTheEnd) {
  // Spec 3.3: the pattern is repeated and its last copy truncated.
  std::vector<uint8_t> page = PatternPage();
  const std::vector<uint8_t> before = page;
  ASSERT_TRUE(ApplyMtr(MtrBuilder().Memset(P(1, 3), 300, 7, Bytes{1, 2, 3}), page).ok());
  const std::vector<uint8_t> want = {1, 2, 3, 1, 2, 3, 1};
  EXPECT_EQ(std::vector<uint8_t>(page.begin() + 300, page.begin() + 307), want);
  EXPECT_EQ(page[307], before[307]);
}

TEST(PageApplierTest, MemmoveForwardOverlap) {
  std::vector<uint8_t> page(kPs, 0);
  for (int i = 0; i < 10; ++i) page[100 + i] = static_cast<uint8_t>(i + 1);
  // dst 104 from src 100, 10 bytes: overlapping, must behave as memmove.
  ASSERT_TRUE(ApplyMtr(MtrBuilder().Memmove(P(1, 3), 104, 10, -4), page).ok());
  const std::vector<uint8_t> want = {1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(std::vector<uint8_t>(page.begin() + 100, page.begin() + 114), want);
}

TEST(PageApplierTest, MemmoveBackwardOverlap) {
  std::vector<uint8_t> page(kPs, 0);
  for (int i = 0; i < 10; ++i) page[104 + i] = static_cast<uint8_t>(i + 1);
  ASSERT_TRUE(ApplyMtr(MtrBuilder().Memmove(P(1, 3), 100, 10, +4), page).ok());
  const std::vector<uint8_t> want = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 7, 8, 9, 10};
  EXPECT_EQ(std::vector<uint8_t>(page.begin() + 100, page.begin() + 114), want);
}

TEST(PageApplierTest, MemmoveReadsThePageAsModifiedByEarlierRecords) {
  std::vector<uint8_t> page(kPs, 0);
  MtrBuilder b;
  b.Write(P(1, 3), 500, Bytes{9, 8, 7}).MemmoveSame(100, 3, -103);  // dst 603 from 500
  ASSERT_TRUE(ApplyMtr(b, page).ok());
  EXPECT_EQ(page[603], 9);
  EXPECT_EQ(page[605], 7);
}

TEST(PageApplierTest, RealSamePageChainProducesTheAnnotatedBytes) {
  // Spec 2.4's same-page example on page 2:3: WRITE @49 = 01; WRITE @50..55; MEMMOVE 56 <- 50.
  std::vector<uint8_t> page(kPs, 0);
  MtrBuilder b;
  b.Raw(Bytes{0x34, 0x02, 0x03, 0x31, 0x01, 0xb7, 0x00, 0x00, 0x00, 0x00, 0x42, 0x00, 0x78, 0xd3,
              0x00, 0x06, 0x0b});
  ASSERT_TRUE(ApplyMtr(b, page).ok());
  const std::vector<uint8_t> want = {0x01, 0, 0, 0, 0x42, 0, 0x78, 0, 0, 0, 0x42, 0, 0x78};
  EXPECT_EQ(std::vector<uint8_t>(page.begin() + 49, page.begin() + 62), want);
}

TEST(PageApplierTest, FreePageOptionAndTrimChangeNothing) {
  std::vector<uint8_t> page = PatternPage();
  const std::vector<uint8_t> before = page;
  MtrBuilder b;
  b.Option(P(1, 3), 1, Bytes{1, 2, 3, 4}).FreePage(P(1, 3));
  ASSERT_TRUE(ApplyMtr(b, page).ok());
  ASSERT_TRUE(ApplyMtr(MtrBuilder().Extended(P(1, 640), 10), page).ok());
  EXPECT_EQ(page, before);
}

TEST(PageApplierTest, ChangesPageBytesByRecordType) {
  MtrBuilder b;
  b.InitPage(P(1, 3))
      .Write(P(1, 3), 100, Bytes{1})
      .Memset(P(1, 3), 100, 2, Bytes{1})
      .Memmove(P(1, 3), 100, 2, 5)
      .Extended(P(1, 3), 1)
      .Extended(P(1, 3), 2)
      .Option(P(1, 3), 1)
      .Extended(P(1, 640), 10)
      .FreePage(P(1, 3));
  auto mtr = MakeMtr(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  const std::vector<bool> want = {true, true, true, true, true, true, false, false, false};
  ASSERT_EQ(mtr->records.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(ChangesPageBytes(mtr->records[i]), want[i]) << i;
  }
  MtrBuilder files;
  files.FileOp(wal::testing::kFileModify, SpaceId(7), wal::testing::StrBytes("./a/b.ibd"))
      .FileCheckpoint(Lsn(12288));
  auto file_mtr = MakeMtr(files);
  ASSERT_TRUE(file_mtr.ok()) << file_mtr.status();
  for (const wal::Record& r : file_mtr->records) EXPECT_FALSE(ChangesPageBytes(r));
}

TEST(PageApplierTest, StampPageLsnWritesHeaderAndTrailer) {
  std::vector<uint8_t> page = PatternPage();
  StampPageLsn(page, Lsn(0x0102030405060708ull));
  EXPECT_EQ(ReadBe64(&page[16]), 0x0102030405060708ull);
  EXPECT_EQ(ReadBe64(&page[kPs - 8]), 0x0102030405060708ull);
  EXPECT_EQ(PageLsn(page), Lsn(0x0102030405060708ull));
}

TEST(PageApplierTest, FileRecordIsRefused) {
  std::vector<uint8_t> page = PatternPage();
  const std::vector<uint8_t> before = page;
  MtrBuilder b;
  b.FileOp(wal::testing::kFileDelete, SpaceId(7), wal::testing::StrBytes("./a/b.ibd"));
  auto mtr = MakeMtr(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  EXPECT_FALSE(ApplyRecord(*mtr, mtr->records.at(0), page).ok());
  EXPECT_EQ(page, before);
}

// Records decoded for a 64 KiB page but applied to a 16 KiB frame: the applier's own bounds
// checks must refuse them (run under ASan to see that nothing outside the frame is touched).
void ExpectRefusedOn16k(const MtrBuilder& b, std::string_view what) {
  auto mtr = MakeMtr(b, kMtrLsn, 65536);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  std::vector<uint8_t> page(kPs, 0);
  const absl::Status s = ApplyRecord(*mtr, mtr->records.at(0), page);
  EXPECT_TRUE(absl::IsDataLoss(s)) << what << ": " << s;
  EXPECT_TRUE(MessageHas(s, "LSN 100000")) << s;
  EXPECT_TRUE(MessageHas(s, "[space 1 page 3]")) << s;
}

TEST(PageApplierTest, WritePastTheFrameRefused) {
  ExpectRefusedOn16k(MtrBuilder().Write(P(1, 3), 16380, Bytes(10, 1)), "WRITE");
}

TEST(PageApplierTest, MemsetPastTheFrameRefused) {
  ExpectRefusedOn16k(MtrBuilder().Memset(P(1, 3), 16380, 10, Bytes{1}), "MEMSET");
}

TEST(PageApplierTest, MemmoveSourcePastTheFrameRefused) {
  ExpectRefusedOn16k(MtrBuilder().Memmove(P(1, 3), 100, 10, 20000), "MEMMOVE");
}

TEST(PageApplierTest, MemmoveTargetPastTheFrameRefused) {
  ExpectRefusedOn16k(MtrBuilder().Memmove(P(1, 3), 20000, 10, -19000), "MEMMOVE");
}

TEST(PageApplierTest, ExtendedErrorNamesRecordLsnAndPage) {
  std::vector<uint8_t> page(kPs, 0);  // not an index page
  MtrBuilder b;
  b.Write(P(4, 9), 100, Bytes{1}).Extended(P(4, 9), 9, Bytes{0x00, 0x00, 0x08});
  const absl::Status s = ApplyMtr(b, page);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(MessageHas(s, "DELETE_ROW_FORMAT_DYNAMIC at LSN 100005")) << s;
  EXPECT_TRUE(MessageHas(s, "[space 4 page 9]")) << s;
}

}  // namespace
}  // namespace pageserver::redo
