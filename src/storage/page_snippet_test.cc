// PageSnippet: round trip of every page record type, only the named page's records, and each
// malformed snippet refused with DataLoss naming the page.
#include "storage/page_snippet.h"

#include <gtest/gtest.h>

#include "common/byte_order.h"
#include "common/testing/status_testing.h"
#include "redo/testing/apply_mtr.h"
#include "storage/page_reconstruct.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::storage {
namespace {

using wal::testing::Bytes;
using wal::testing::MtrBuilder;

const PageId kPage{SpaceId(5), PageNo(7)};
const PageId kOther{SpaceId(5), PageNo(8)};

// The decoder's view of a builder's records, as a log scan would deliver them.
wal::Mtr Decode(const MtrBuilder& b, Lsn start = Lsn(1000)) {
  auto mtr = redo::testing::MakeMtr(b, start);
  EXPECT_TRUE(mtr.ok()) << mtr.status();
  return mtr.ok() ? *std::move(mtr) : wal::Mtr{};
}

TEST(PageSnippetTest, RoundTripKeepsOnlyThePagesRecords) {
  MtrBuilder b;
  b.InitPage(kPage)
      .Write(kPage, 100, Bytes{1, 2, 3})
      .Write(kOther, 200, Bytes{9})
      .Memset(kPage, 300, 8, Bytes{0xAB, 0xCD})
      .Memmove(kPage, 400, 16, -50)
      .Extended(kPage, 3, Bytes{0x10, 0x11, 0x12, 0x13});
  const wal::Mtr mtr = Decode(b);
  auto snippet = DecodeSnippet(EncodeSnippet(mtr, kPage), kPage);
  ASSERT_TRUE(snippet.ok()) << snippet.status();
  EXPECT_EQ(snippet->start_lsn, mtr.start_lsn);
  EXPECT_EQ(snippet->end_lsn, mtr.end_lsn);
  ASSERT_EQ(snippet->records.size(), 5u);
  size_t j = 0;
  for (const wal::Record& want : mtr.records) {
    if (want.page != kPage) continue;
    const wal::Record& got = snippet->records[j++];
    EXPECT_EQ(got.type, want.type);
    EXPECT_EQ(got.subtype, want.subtype);
    EXPECT_EQ(got.offset, want.offset);
    EXPECT_EQ(got.length, want.length);
    EXPECT_EQ(got.source, want.source);
    EXPECT_EQ(got.first_byte_pos, want.first_byte_pos);
    const auto a = snippet->Data(got);
    const auto w = mtr.Data(want);
    EXPECT_TRUE(std::equal(a.begin(), a.end(), w.begin(), w.end()));
  }
  EXPECT_TRUE(SnippetStartsFresh(*snippet));
}

TEST(PageSnippetTest, ReconstructAppliesInOrderAndStampsTheEndLsn) {
  std::vector<std::vector<uint8_t>> snippets;
  snippets.push_back(EncodeSnippet(Decode(MtrBuilder().InitPage(kPage), Lsn(1000)), kPage));
  const wal::Mtr second = Decode(MtrBuilder().Write(kPage, 100, Bytes{7, 7}), Lsn(2000));
  snippets.push_back(EncodeSnippet(second, kPage));
  std::vector<uint8_t> frame(16384, 0xEE);  // INIT_PAGE makes the starting bytes irrelevant
  ReconstructResult result;
  ASSERT_TRUE(ReconstructPage(kPage, frame, snippets, &result).ok());
  EXPECT_EQ(result.applied, 2u);
  EXPECT_FALSE(result.freed);
  EXPECT_EQ(frame[100], 7);
  EXPECT_EQ(frame[0x0EE], 0);
  EXPECT_EQ(ReadBe64(&frame[16]), second.end_lsn.value());
}

TEST(PageSnippetTest, SnippetOlderThanThePageIsSkipped) {
  std::vector<uint8_t> frame(16384, 0);
  WriteBe64(&frame[16], 5000);  // FIL_PAGE_LSN newer than the snippet
  std::vector<std::vector<uint8_t>> snippets = {
      EncodeSnippet(Decode(MtrBuilder().Write(kPage, 100, Bytes{1}), Lsn(1000)), kPage)};
  ReconstructResult result;
  ASSERT_TRUE(ReconstructPage(kPage, frame, snippets, &result).ok());
  EXPECT_EQ(result.skipped, 1u);
  EXPECT_EQ(frame[100], 0);
}

TEST(PageSnippetTest, FreePageLeavesThePageFree) {
  std::vector<std::vector<uint8_t>> snippets = {
      EncodeSnippet(Decode(MtrBuilder().FreePage(kPage), Lsn(1000)), kPage)};
  std::vector<uint8_t> frame(16384, 0);
  ReconstructResult result;
  ASSERT_TRUE(ReconstructPage(kPage, frame, snippets, &result).ok());
  EXPECT_TRUE(result.freed);
  EXPECT_EQ(frame, std::vector<uint8_t>(16384, 0)) << "a never-written page stays zero";
}

TEST(PageSnippetTest, FreedPageKeepsItsLastImageStamped) {
  // The mini-transaction that frees the page changed it first: the image before the free carries
  // that mini-transaction's end LSN, as any changed page does.
  const wal::Mtr first = Decode(MtrBuilder().InitPage(kPage).Write(kPage, 100, Bytes{1}));
  const wal::Mtr last =
      Decode(MtrBuilder().Write(kPage, 200, Bytes{2, 2}).FreePage(kPage), Lsn(2000));
  std::vector<std::vector<uint8_t>> snippets = {EncodeSnippet(first, kPage),
                                                EncodeSnippet(last, kPage)};
  std::vector<uint8_t> frame(16384, 0);
  ReconstructResult result;
  ASSERT_TRUE(ReconstructPage(kPage, frame, snippets, &result).ok());
  EXPECT_TRUE(result.freed);
  EXPECT_EQ(frame[100], 1);
  EXPECT_EQ(frame[201], 2);
  EXPECT_EQ(ReadBe64(&frame[16]), last.end_lsn.value());
}

std::vector<uint8_t> ValidSnippet() {
  return EncodeSnippet(Decode(MtrBuilder().Write(kPage, 100, Bytes{1, 2, 3})), kPage);
}

void ExpectCorrupt(const std::vector<uint8_t>& bytes) {
  auto s = DecodeSnippet(bytes, kPage);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsDataLoss(s.status())) << s.status();
  EXPECT_TRUE(testing::MessageHas(s.status(), "space 5 page 7")) << s.status();
}

TEST(PageSnippetTest, TruncatedSnippetIsCorrupt) {
  const auto bytes = ValidSnippet();
  for (size_t n = 0; n < bytes.size(); ++n) ExpectCorrupt({bytes.begin(), bytes.begin() + n});
}

TEST(PageSnippetTest, TrailingBytesAreCorrupt) {
  auto bytes = ValidSnippet();
  bytes.push_back(0);
  ExpectCorrupt(bytes);
}

TEST(PageSnippetTest, WriteOutsideThePageIsCorrupt) {
  auto bytes = ValidSnippet();
  WriteBe16(&bytes[20 + 2], 16383);  // offset of the first record: 3 bytes no longer fit
  ExpectCorrupt(bytes);
}

TEST(PageSnippetTest, UnknownRecordTypeIsCorrupt) {
  auto bytes = ValidSnippet();
  bytes[20] = static_cast<uint8_t>(wal::RecordType::kFileCreate);
  ExpectCorrupt(bytes);
}

TEST(PageSnippetTest, HugeRecordCountIsCorrupt) {
  auto bytes = ValidSnippet();
  WriteBe32(&bytes[16], 0xFFFFFFFFu);
  ExpectCorrupt(bytes);
}

TEST(PageSnippetTest, EndLsnNotAfterStartIsCorrupt) {
  auto bytes = ValidSnippet();
  WriteBe64(&bytes[8], ReadBe64(&bytes[0]));
  ExpectCorrupt(bytes);
}

}  // namespace
}  // namespace pageserver::storage
