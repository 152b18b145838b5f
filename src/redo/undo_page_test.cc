// UNDO_INIT and UNDO_APPEND (spec 3.5): the undo page header an init leaves, the record framing
// an append writes (forward link, body, back link), the last append that still fits, and the
// overflow and bad-PAGE_FREE cases that must be DataLoss.
#include "redo/undo_page.h"

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
const PageId kPage{SpaceId(2), PageNo(66)};

std::vector<uint8_t> PatternPage() { return testing::PatternPage(5, 1); }

TEST(UndoPageTest, InitLayout) {
  std::vector<uint8_t> page = PatternPage();
  const std::vector<uint8_t> before = page;
  ASSERT_TRUE(ApplyMtr(MtrBuilder().Extended(kPage, 2), page).ok());
  EXPECT_EQ(ReadBe16(&page[24]), 2);            // FIL_PAGE_UNDO_LOG
  EXPECT_EQ(ReadBe16(&page[38]), 0);            // TRX_UNDO_PAGE_TYPE
  EXPECT_EQ(ReadBe16(&page[40]), 56);           // TRX_UNDO_PAGE_START
  EXPECT_EQ(ReadBe16(&page[42]), 56);           // TRX_UNDO_PAGE_FREE
  EXPECT_EQ(ReadBe32(&page[44]), 0xFFFFFFFFu);  // prev page
  EXPECT_EQ(ReadBe16(&page[48]), 0);
  EXPECT_EQ(ReadBe32(&page[50]), 0xFFFFFFFFu);  // next page
  EXPECT_EQ(ReadBe16(&page[54]), 0);
  // The segment header is written by separate records and kept.
  for (size_t i = 56; i < 86; ++i) EXPECT_EQ(page[i], before[i]) << i;
  for (size_t i = 86; i < kPs - 8; ++i) ASSERT_EQ(page[i], 0) << i;
  // The FIL header other than the type, and the trailer, are untouched.
  for (size_t i = 0; i < 24; ++i) EXPECT_EQ(page[i], before[i]) << i;
  for (size_t i = 26; i < 38; ++i) EXPECT_EQ(page[i], before[i]) << i;
  for (size_t i = kPs - 8; i < kPs; ++i) EXPECT_EQ(page[i], before[i]) << i;
}

TEST(UndoPageTest, AppendFramesTheRecord) {
  std::vector<uint8_t> page(kPs, 0);
  MtrBuilder b;
  b.Extended(kPage, 2).Write(kPage, 42, Bytes{0, 86});  // PAGE_FREE past the segment header
  b.Extended(kPage, 3, Bytes{0xA1, 0xA2, 0xA3, 0xA4, 0xA5});
  b.Extended(kPage, 3, Bytes{0xB1, 0xB2, 0xB3});
  ASSERT_TRUE(ApplyMtr(b, page).ok());
  // First record at 86: link to 95, body at 88..92, back link to 86 at 93.
  EXPECT_EQ(ReadBe16(&page[86]), 95);
  EXPECT_EQ(std::vector<uint8_t>(page.begin() + 88, page.begin() + 93),
            (std::vector<uint8_t>{0xA1, 0xA2, 0xA3, 0xA4, 0xA5}));
  EXPECT_EQ(ReadBe16(&page[93]), 86);
  // Second record at 95: link to 95 + 3 + 4 = 102.
  EXPECT_EQ(ReadBe16(&page[95]), 102);
  EXPECT_EQ(page[97], 0xB1);
  EXPECT_EQ(ReadBe16(&page[100]), 95);
  EXPECT_EQ(ReadBe16(&page[42]), 102);
}

TEST(UndoPageTest, RealUndoAppendRecordBody) {
  // The 17-byte body of spec 2.5's UNDO_APPEND example, appended at PAGE_FREE 56.
  std::vector<uint8_t> page(kPs, 0);
  InitUndoPage(page);
  const Bytes body = {0x0b, 0x01, 0x02, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x04, 0, 0, 0, 0};
  ASSERT_TRUE(AppendUndoRecord(page, body).ok());
  EXPECT_EQ(ReadBe16(&page[42]), 56 + 17 + 4);
  EXPECT_EQ(ReadBe16(&page[56]), 56 + 17 + 4);
  EXPECT_EQ(page[58], 0x0b);
  EXPECT_EQ(ReadBe16(&page[58 + 17]), 56);
}

TEST(UndoPageTest, LastAppendThatFits) {
  // Corrupt iff free + n + 6 >= ps - 8: with free 100 the largest body is ps - 8 - 100 - 7.
  std::vector<uint8_t> page(kPs, 0);
  InitUndoPage(page);
  WriteBe16(&page[42], 100);
  const size_t n = kPs - 8 - 100 - 7;
  ASSERT_TRUE(AppendUndoRecord(page, Bytes(n, 0x5A)).ok());
  EXPECT_EQ(ReadBe16(&page[42]), 100 + n + 4);
  EXPECT_EQ(ReadBe16(&page[100 + 2 + n]), 100);
}

TEST(UndoPageTest, AppendOverflowIsDataLoss) {
  std::vector<uint8_t> page(kPs, 0);
  InitUndoPage(page);
  WriteBe16(&page[42], 100);
  const std::vector<uint8_t> before = page;
  const absl::Status s = AppendUndoRecord(page, Bytes(kPs - 8 - 100 - 6, 0x5A));
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(MessageHas(s, "does not fit")) << s;
  EXPECT_EQ(page, before);
}

TEST(UndoPageTest, AppendWithPageFreeInsideTheHeaderIsDataLoss) {
  std::vector<uint8_t> page(kPs, 0);
  InitUndoPage(page);
  WriteBe16(&page[42], 55);
  EXPECT_TRUE(absl::IsDataLoss(AppendUndoRecord(page, Bytes(3, 1))));
}

TEST(UndoPageTest, AppendWithPageFreePastThePageIsDataLoss) {
  std::vector<uint8_t> page(kPs, 0);
  InitUndoPage(page);
  WriteBe16(&page[42], 0xFFFF);
  EXPECT_TRUE(absl::IsDataLoss(AppendUndoRecord(page, Bytes(3, 1))));
}

TEST(UndoPageTest, AppendOverflowThroughApplyRecordNamesTheLsn) {
  std::vector<uint8_t> page(kPs, 0);
  MtrBuilder b;
  b.Extended(kPage, 2).Write(kPage, 42, Bytes{0x3F, 0xF0});  // PAGE_FREE 16368
  b.Extended(kPage, 3, Bytes{1, 2, 3});
  const absl::Status s = ApplyMtr(b, page);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(MessageHas(s, "UNDO_APPEND at LSN 100010")) << s;
}

}  // namespace
}  // namespace pageserver::redo
