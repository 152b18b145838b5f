// The redo-log varint (spec 2.2): each width's first and last value, the width limits the
// callers impose (page ids 5 bytes, offsets and lengths 3), truncated input, invalid first bytes
// and the 5-byte overflow. The test encoder (testing/mtr_builder.h) is checked against the
// decoder here so the other tests can trust it.
#include "wal/varint.h"

#include <gtest/gtest.h>

#include <vector>

#include "wal/testing/mtr_builder.h"

namespace pageserver::wal {
namespace {

using testing::Bytes;

std::optional<Varint> Decode(const Bytes& b, size_t max_bytes = 5) {
  return DecodeVarint(b.data(), b.size(), max_bytes);
}

void ExpectDecodes(const Bytes& bytes, uint32_t value) {
  auto v = Decode(bytes);
  ASSERT_TRUE(v.has_value()) << "value " << value;
  EXPECT_EQ(v->value, value);
  EXPECT_EQ(v->size, bytes.size());
  EXPECT_EQ(VarintLength(bytes[0]), bytes.size());
}

TEST(VarintTest, OneByteBoundaries) {
  ExpectDecodes({0x00}, 0);
  ExpectDecodes({0x7F}, 127);
}

TEST(VarintTest, TwoByteBoundaries) {
  ExpectDecodes({0x80, 0x00}, 128);
  ExpectDecodes({0xBF, 0xFF}, 16511);
}

TEST(VarintTest, ThreeByteBoundaries) {
  ExpectDecodes({0xC0, 0x00, 0x00}, 16512);
  ExpectDecodes({0xDF, 0xFF, 0xFF}, 2113663);
}

TEST(VarintTest, FourByteBoundaries) {
  ExpectDecodes({0xE0, 0x00, 0x00, 0x00}, 2113664);
  ExpectDecodes({0xEF, 0xFF, 0xFF, 0xFF}, 270549119);
}

TEST(VarintTest, FiveByteBoundaries) {
  ExpectDecodes({0xF0, 0x00, 0x00, 0x00, 0x00}, 270549120);
  // The largest u32: raw = 0xFFFFFFFF - 270549120 = 0xEFDFBF7F.
  ExpectDecodes({0xF0, 0xEF, 0xDF, 0xBF, 0x7F}, 0xFFFFFFFFu);
}

TEST(VarintTest, FiveByteOverflowRejected) {
  // One past the largest u32 would wrap around to 0.
  EXPECT_FALSE(Decode({0xF0, 0xEF, 0xDF, 0xBF, 0x80}).has_value());
  EXPECT_FALSE(Decode({0xF0, 0xFF, 0xFF, 0xFF, 0xFF}).has_value());
}

TEST(VarintTest, InvalidFirstBytesRejected) {
  // 0xF1..0xFF start no varint; only 0xF0 exactly starts the 5-byte form.
  for (int b = 0xF1; b <= 0xFF; ++b) {
    EXPECT_EQ(VarintLength(static_cast<uint8_t>(b)), 0u) << b;
    EXPECT_FALSE(Decode(Bytes(6, static_cast<uint8_t>(b))).has_value()) << b;
  }
}

TEST(VarintTest, TooWideForTheFieldRejected) {
  // Offsets, lengths and the record-length extension allow at most 3 bytes.
  EXPECT_FALSE(Decode({0xE0, 0x00, 0x00, 0x00}, 3).has_value());
  EXPECT_FALSE(Decode({0xF0, 0x00, 0x00, 0x00, 0x00}, 3).has_value());
  EXPECT_TRUE(Decode({0xDF, 0xFF, 0xFF}, 3).has_value());
  EXPECT_FALSE(Decode({0x80, 0x00}, 1).has_value());
  EXPECT_FALSE(Decode({0xC0, 0x00, 0x00}, 2).has_value());
}

TEST(VarintTest, TruncatedInputRejected) {
  const std::vector<Bytes> whole = {
      {0x80, 0x01}, {0xC0, 0x01, 0x02}, {0xE0, 1, 2, 3}, {0xF0, 1, 2, 3, 4}};
  for (const Bytes& w : whole) {
    for (size_t n = 0; n < w.size(); ++n) {
      EXPECT_FALSE(DecodeVarint(w.data(), n, 5).has_value())
          << "first byte " << int{w[0]} << " with " << n << " bytes";
    }
    EXPECT_TRUE(DecodeVarint(w.data(), w.size(), 5).has_value());
  }
}

TEST(VarintTest, IgnoresBytesAfterTheVarint) {
  auto v = Decode({0x05, 0xFF, 0xFF});
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->value, 5u);
  EXPECT_EQ(v->size, 1u);
}

TEST(VarintTest, TestEncoderRoundTripsAtEveryBoundary) {
  const uint32_t values[] = {0,         1,         127,        128,        129,
                             16511,     16512,     2113663,    2113664,    270549119,
                             270549120, 270549121, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFFFFFF};
  const size_t sizes[] = {1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 5, 5, 5};
  for (size_t i = 0; i < std::size(values); ++i) {
    const Bytes b = testing::EncodeVarint(values[i]);
    EXPECT_EQ(b.size(), sizes[i]) << values[i];
    auto v = Decode(b);
    ASSERT_TRUE(v.has_value()) << values[i];
    EXPECT_EQ(v->value, values[i]);
    EXPECT_EQ(v->size, b.size());
  }
}

}  // namespace
}  // namespace pageserver::wal
