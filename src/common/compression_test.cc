#include "common/compression.h"

#include <gtest/gtest.h>

#include <random>

namespace pageserver {
namespace {

std::vector<uint8_t> Mixed(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = (i / 64) % 3 == 0 ? static_cast<uint8_t>(rng()) : 0;
  return v;
}

TEST(CompressionTest, RoundTripsAndShrinksWhatRepeats) {
  Compressor c;
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{16384}, size_t{1 << 20}}) {
    const std::vector<uint8_t> in = Mixed(n, static_cast<uint32_t>(n));
    std::vector<uint8_t> out = {9, 9};  // appended after what is there
    const size_t size = c.Compress(in, &out);
    ASSERT_EQ(out.size(), 2 + size);
    if (n >= 16384) {
      EXPECT_LT(size, n / 2);
    }
    std::vector<uint8_t> back(n);
    ASSERT_TRUE(Decompress(std::span(out).subspan(2), back).ok());
    EXPECT_EQ(back, in);
  }
}

TEST(CompressionTest, DamageAndWrongSizesAreDataLoss) {
  Compressor c;
  const std::vector<uint8_t> in = Mixed(16384, 7);
  std::vector<uint8_t> frame;
  c.Compress(in, &frame);
  std::vector<uint8_t> out(in.size());
  std::vector<uint8_t> shorter(in.size() - 1), longer(in.size() + 1);
  EXPECT_EQ(Decompress(frame, shorter).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Decompress(frame, longer).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Decompress(std::span(frame).first(frame.size() / 2), out).code(),
            absl::StatusCode::kDataLoss);
  std::vector<uint8_t> garbage(100, 0xab);
  EXPECT_EQ(Decompress(garbage, out).code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace pageserver
