// FSP_SPACE_FLAGS decoding (spec 5.2) and the features v1 refuses (spec 6): page_compressed in
// both flag layouts, ROW_FORMAT=COMPRESSED, page sizes other than 16 KiB, and encryption
// metadata on page 0. Refusals are FailedPrecondition and name the feature and the tablespace.
#include "redo/tablespace_format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "common/byte_order.h"
#include "common/testing/status_testing.h"

namespace pageserver::redo {
namespace {

using pageserver::testing::MessageHas;

constexpr SpaceId kSpace(42);

void ExpectRefused(uint32_t flags, std::string_view feature) {
  auto format = ParseSpaceFlags(flags, kSpace);
  ASSERT_FALSE(format.ok()) << std::hex << flags;
  EXPECT_TRUE(absl::IsFailedPrecondition(format.status())) << format.status();
  EXPECT_TRUE(MessageHas(format.status(), feature)) << format.status();
  EXPECT_TRUE(MessageHas(format.status(), "tablespace 42")) << format.status();
}

void ExpectSupported(uint32_t flags, bool full_crc32) {
  auto format = ParseSpaceFlags(flags, kSpace);
  ASSERT_TRUE(format.ok()) << format.status();
  EXPECT_EQ(format->full_crc32, full_crc32) << flags;
  EXPECT_EQ(format->page_size, 16384u) << flags;
}

TEST(TablespaceFormatTest, FullCrc32Default) { ExpectSupported(0x15, true); }

TEST(TablespaceFormatTest, LegacyDynamicIsCrc32) { ExpectSupported(0x21, false); }

TEST(TablespaceFormatTest, LegacyRedundantIsCrc32) { ExpectSupported(0x0, false); }

TEST(TablespaceFormatTest, LegacyExplicitSixteenKiBPageSize) {
  auto format = ParseSpaceFlags(0x21 | (5u << 6), kSpace);
  ASSERT_TRUE(format.ok()) << format.status();
  EXPECT_EQ(format->page_size, 16384u);
}

TEST(TablespaceFormatTest, FullCrc32PageCompressedRefused) {
  for (uint32_t algorithm = 1; algorithm < 8; ++algorithm) {
    ExpectRefused(0x15 | algorithm << 5, "page_compressed");
  }
}

TEST(TablespaceFormatTest, LegacyPageCompressedRefused) {
  ExpectRefused(0x21 | 1u << 16, "page_compressed");
}

TEST(TablespaceFormatTest, RowFormatCompressedRefused) {
  // ZIP_SSIZE is 1..7 in practice; its bit 3 would be the full_crc32 marker (bit 4 of flags).
  for (uint32_t zip_ssize = 1; zip_ssize < 8; ++zip_ssize) {
    ExpectRefused(0x21 | zip_ssize << 1, "ROW_FORMAT=COMPRESSED");
  }
}

TEST(TablespaceFormatTest, FullCrc32FourKiBPageRefused) { ExpectRefused(0x13, "page size 4096"); }

TEST(TablespaceFormatTest, LegacyFourKiBPageRefused) {
  ExpectRefused(0x21 | 3u << 6, "page size 4096");
}

TEST(TablespaceFormatTest, SixtyFourKiBPageRefused) {
  ExpectRefused(0x17, "page size 65536");
  ExpectRefused(7u << 6, "page size 65536");
}

TEST(TablespaceFormatTest, FullCrc32PageSizeCodeZeroRefused) { ExpectRefused(0x10, "page size"); }

// A 16 KiB page 0 with the given flags and, optionally, crypt data where MariaDB puts it
// (offset 10428, magic "s\x0e\x0cREt", as found in a real ENCRYPTED=YES tablespace).
std::vector<uint8_t> PageZero(uint32_t flags, int crypt_scheme = -1) {
  std::vector<uint8_t> page(16384, 0);
  WriteBe32(&page[54], flags);
  if (crypt_scheme >= 0) {
    std::memcpy(&page[10428], "s\x0e\x0cREt", 6);
    page[10434] = static_cast<uint8_t>(crypt_scheme);
  }
  return page;
}

TEST(TablespaceFormatTest, ReadsFlagsFromPageZero) {
  auto format = ReadTablespaceFormat(PageZero(0x15), kSpace);
  ASSERT_TRUE(format.ok()) << format.status();
  EXPECT_TRUE(format->full_crc32);
  format = ReadTablespaceFormat(PageZero(0x21), kSpace);
  ASSERT_TRUE(format.ok()) << format.status();
  EXPECT_FALSE(format->full_crc32);
}

TEST(TablespaceFormatTest, EncryptedTablespaceRefused) {
  auto format = ReadTablespaceFormat(PageZero(0x15, 1), kSpace);
  ASSERT_FALSE(format.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(format.status())) << format.status();
  EXPECT_TRUE(MessageHas(format.status(), "encrypt")) << format.status();
}

TEST(TablespaceFormatTest, UnencryptedCryptDataAccepted) {
  // Crypt data with scheme 0 (CRYPT_SCHEME_UNENCRYPTED): the pages are plain.
  EXPECT_TRUE(ReadTablespaceFormat(PageZero(0x15, 0), kSpace).ok());
}

TEST(TablespaceFormatTest, PageZeroFlagRefusalComesFirst) {
  auto format = ReadTablespaceFormat(PageZero(0x35, 1), kSpace);
  EXPECT_TRUE(MessageHas(format.status(), "page_compressed")) << format.status();
}

TEST(TablespaceFormatTest, TruncatedPageZeroIsDataLoss) {
  const std::vector<uint8_t> page(57, 0);
  EXPECT_TRUE(absl::IsDataLoss(ReadTablespaceFormat(page, kSpace).status()));
}

}  // namespace
}  // namespace pageserver::redo
