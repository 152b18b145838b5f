// The flush-time transformation and checksum validation for both formats (spec 4.3, 4.4):
// a prepared page validates and a flipped byte does not; the pages whose header bytes carry data
// (page 0 of every tablespace, TRX_SYS 0:5) keep bytes 0..3 / 26..33; the crc32 format's
// FIL_PAGE_TYPE fix-up on 16 KiB pages.
#include "redo/page_checksum.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/byte_order.h"
#include "common/crc32c.h"

namespace pageserver::redo {
namespace {

constexpr size_t kPs = 16384;
PageId P(uint32_t space, uint32_t page) { return {SpaceId(space), PageNo(page)}; }

// An in-memory frame as the applier leaves it: non-zero everywhere, header fields set, LSN
// stamped in the header and trailer (recovery does both), type INDEX unless told otherwise.
std::vector<uint8_t> Frame(PageId id, uint16_t type = 17855) {
  std::vector<uint8_t> page(kPs);
  for (size_t i = 0; i < kPs; ++i) page[i] = static_cast<uint8_t>(i * 13 + 7);
  WriteBe32(&page[4], id.page.value());
  WriteBe64(&page[16], 0x00000000DEADBEEFull + id.page.value());
  WriteBe16(&page[24], type);
  WriteBe32(&page[34], id.space.value());
  WriteBe64(&page[kPs - 8], ReadBe64(&page[16]));
  return page;
}

TEST(FullCrc32Test, PreparedPageIsValid) {
  std::vector<uint8_t> page = Frame(P(5, 10));
  PrepareForWrite(page, P(5, 10), true);
  EXPECT_TRUE(PageChecksumValid(page, true));
  EXPECT_EQ(ReadBe32(&page[0]), 0u);                         // key version of an unencrypted page
  EXPECT_EQ(ReadBe32(&page[kPs - 8]), ReadBe32(&page[20]));  // low 32 bits of FIL_PAGE_LSN
  EXPECT_EQ(ReadBe32(&page[kPs - 4]), Crc32c(0, page.data(), kPs - 4));
}

TEST(FullCrc32Test, FlippedByteIsInvalid) {
  std::vector<uint8_t> page = Frame(P(5, 10));
  PrepareForWrite(page, P(5, 10), true);
  for (size_t at : {0ul, 30ul, 5000ul, kPs - 5, kPs - 1}) {
    std::vector<uint8_t> bad = page;
    bad[at] ^= 0x01;
    EXPECT_FALSE(PageChecksumValid(bad, true)) << "byte " << at;
  }
}

TEST(FullCrc32Test, BytesTwentySixToThirtyThreeAreKept) {
  // full_crc32 zeroes only the key version; bytes 26..33 (R-tree split sequence) stay.
  std::vector<uint8_t> page = Frame(P(5, 10));
  const std::vector<uint8_t> before = page;
  PrepareForWrite(page, P(5, 10), true);
  for (size_t i = 26; i < 34; ++i) EXPECT_EQ(page[i], before[i]) << i;
}

TEST(FullCrc32Test, PageZeroKeepsBytesZeroToThree) {
  std::vector<uint8_t> page = Frame(P(5, 0), 8);
  const std::vector<uint8_t> before = page;
  PrepareForWrite(page, P(5, 0), true);
  EXPECT_EQ(ReadBe32(&page[0]), ReadBe32(&before[0]));
  EXPECT_TRUE(PageChecksumValid(page, true));
}

TEST(FullCrc32Test, TrxSysPageKeepsBytesZeroToThree) {
  std::vector<uint8_t> page = Frame(P(0, 5), 7);
  const std::vector<uint8_t> before = page;
  PrepareForWrite(page, P(0, 5), true);
  EXPECT_EQ(ReadBe32(&page[0]), ReadBe32(&before[0]));
  EXPECT_TRUE(PageChecksumValid(page, true));
}

TEST(FullCrc32Test, PageFiveOfOtherSpacesIsNotExempt) {
  std::vector<uint8_t> page = Frame(P(3, 5));
  PrepareForWrite(page, P(3, 5), true);
  EXPECT_EQ(ReadBe32(&page[0]), 0u);
}

TEST(FullCrc32Test, NoPageTypeFixUp) {
  std::vector<uint8_t> page = Frame(P(5, 0), 17855);
  PrepareForWrite(page, P(5, 0), true);
  EXPECT_EQ(ReadBe16(&page[24]), 17855);
}

TEST(Crc32Test, PreparedPageIsValid) {
  std::vector<uint8_t> page = Frame(P(5, 10));
  PrepareForWrite(page, P(5, 10), false);
  EXPECT_TRUE(PageChecksumValid(page, false));
  const uint32_t c = Crc32c(0, &page[4], 22) ^ Crc32c(0, &page[38], kPs - 38 - 8);
  EXPECT_EQ(Crc32PageChecksum(page), c);
  EXPECT_EQ(ReadBe32(&page[0]), c);
  EXPECT_EQ(ReadBe32(&page[kPs - 8]), c);
  EXPECT_EQ(ReadBe32(&page[kPs - 4]), ReadBe32(&page[20]));  // low 32 bits of FIL_PAGE_LSN
  for (size_t i = 26; i < 34; ++i) EXPECT_EQ(page[i], 0) << i;
}

TEST(Crc32Test, FlippedByteIsInvalid) {
  std::vector<uint8_t> page = Frame(P(5, 10));
  PrepareForWrite(page, P(5, 10), false);
  for (size_t at : {0ul, 4ul, 25ul, 38ul, 9000ul, kPs - 9, kPs - 8, kPs - 1}) {
    std::vector<uint8_t> bad = page;
    bad[at] ^= 0x01;
    EXPECT_FALSE(PageChecksumValid(bad, false)) << "byte " << at;
  }
}

TEST(Crc32Test, BytesOutsideTheChecksumDoNotMatter) {
  // The crc32 checksum covers 4..25 and 38..ps-9 only (buf_calc_page_crc32).
  std::vector<uint8_t> page = Frame(P(5, 10));
  PrepareForWrite(page, P(5, 10), false);
  page[30] ^= 0xFF;
  page[35] ^= 0xFF;
  EXPECT_TRUE(PageChecksumValid(page, false));
}

TEST(Crc32Test, PageZeroKeepsBytesTwentySixToThirtyThree) {
  std::vector<uint8_t> page = Frame(P(5, 0), 8);
  const std::vector<uint8_t> before = page;
  PrepareForWrite(page, P(5, 0), false);
  for (size_t i = 26; i < 34; ++i) EXPECT_EQ(page[i], before[i]) << i;
  EXPECT_TRUE(PageChecksumValid(page, false));
}

TEST(Crc32Test, TrxSysPageKeepsBytesTwentySixToThirtyThree) {
  std::vector<uint8_t> page = Frame(P(0, 5), 7);
  const std::vector<uint8_t> before = page;
  PrepareForWrite(page, P(0, 5), false);
  for (size_t i = 26; i < 34; ++i) EXPECT_EQ(page[i], before[i]) << i;
}

// The 16 KiB-only FIL_PAGE_TYPE fix-up of buf_flush_init_for_writing.
uint16_t TypeAfterFlush(PageId id, uint16_t type) {
  std::vector<uint8_t> page = Frame(id, type);
  PrepareForWrite(page, id, false);
  EXPECT_TRUE(PageChecksumValid(page, false));
  return ReadBe16(&page[24]);
}

TEST(Crc32Test, PageTypeFixUpAtFixedPositions) {
  EXPECT_EQ(TypeAfterFlush(P(5, 0), 17855), 8);      // FSP_HDR
  EXPECT_EQ(TypeAfterFlush(P(5, 16384), 3), 9);      // XDES
  EXPECT_EQ(TypeAfterFlush(P(5, 1), 0), 5);          // IBUF_BITMAP
  EXPECT_EQ(TypeAfterFlush(P(5, 16385), 17855), 5);  // IBUF_BITMAP
  EXPECT_EQ(TypeAfterFlush(P(0, 5), 17855), 7);      // TRX_SYS
}

TEST(Crc32Test, PageTypeFixUpKeepsKnownTypes) {
  for (uint16_t type : {17855, 18, 17854, 2, 3, 4, 0, 6, 7, 10, 11, 12}) {
    EXPECT_EQ(TypeAfterFlush(P(5, 7), type), type) << type;
  }
  EXPECT_EQ(TypeAfterFlush(P(5, 5), 7), 7);  // page 5 of a non-system space is an ordinary page
}

TEST(Crc32Test, PageTypeFixUpMarksOthersUnknown) {
  for (uint16_t type : {1, 8, 9, 5, 13, 14, 99, 0xFFFF}) {
    EXPECT_EQ(TypeAfterFlush(P(5, 7), type), 13) << type;
  }
  EXPECT_EQ(TypeAfterFlush(P(0, 16389), 7), 7);  // only page 0:5 is forced to TRX_SYS
}

TEST(Crc32Test, NoPageTypeFixUpOnOtherPageSizes) {
  std::vector<uint8_t> page(8192, 0x11);
  WriteBe16(&page[24], 99);
  PrepareForWrite(page, P(5, 7), false);
  EXPECT_EQ(ReadBe16(&page[24]), 99);
  EXPECT_TRUE(PageChecksumValid(page, false));
}

TEST(PageChecksumTest, AllZeroPageIsLeftAloneAndValid) {
  for (bool full_crc32 : {true, false}) {
    std::vector<uint8_t> page(kPs, 0);
    PrepareForWrite(page, P(5, 10), full_crc32);
    EXPECT_EQ(page, std::vector<uint8_t>(kPs, 0));
    EXPECT_TRUE(PageChecksumValid(page, full_crc32));
  }
}

TEST(PageChecksumTest, FormatsDoNotValidateEachOther) {
  std::vector<uint8_t> full = Frame(P(5, 10));
  PrepareForWrite(full, P(5, 10), true);
  EXPECT_FALSE(PageChecksumValid(full, false));
  std::vector<uint8_t> legacy = Frame(P(5, 10));
  PrepareForWrite(legacy, P(5, 10), false);
  EXPECT_FALSE(PageChecksumValid(legacy, true));
}

}  // namespace
}  // namespace pageserver::redo
