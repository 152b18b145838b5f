// CRC-32C: the standard check value, agreement of the SSE4.2 and table implementations on
// every length and alignment the redo reader meets, and continuation over a concatenation
// (the decoder and the page checksum both rely on it).
#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "common/testing/test_seed.h"

namespace pageserver {
namespace {

uint32_t Crc(std::string_view s) {
  return Crc32c(0, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(Crc32cTest, CheckValue) {
  // The catalogue check value for CRC-32C (Castagnoli), as in the spec's conventions.
  EXPECT_EQ(Crc("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32cPortable(0, reinterpret_cast<const uint8_t*>("123456789"), 9), 0xE3069283u);
}

TEST(Crc32cTest, EmptyInputKeepsTheCrc) {
  EXPECT_EQ(Crc32c(0, nullptr, 0), 0u);
  EXPECT_EQ(Crc32c(0x12345678u, nullptr, 0), 0x12345678u);
  EXPECT_EQ(Crc32cPortable(0x12345678u, nullptr, 0), 0x12345678u);
}

TEST(Crc32cTest, KnownVectors) {
  // RFC 3720 (iSCSI) appendix B.4 vectors.
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xFF), inc(32), dec(32);
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<uint8_t>(i);
    dec[i] = static_cast<uint8_t>(31 - i);
  }
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(inc), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(dec), 0x113FDB5Cu);
}

TEST(Crc32cTest, SpanOverloadMatchesPointerForm) {
  const uint8_t data[] = {1, 2, 3, 4, 5};
  EXPECT_EQ(Crc32c(std::span<const uint8_t>(data)), Crc32c(0, data, sizeof(data)));
}

TEST(Crc32cTest, HardwareAndPortableAgree) {
  // Without SSE4.2 both calls run the table code and the test is trivially true; say so.
  if (!Crc32cHardwareAvailable()) std::cout << "no SSE4.2: only the portable code runs\n";
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> buffer(65536 + 64);
  for (auto& b : buffer) b = static_cast<uint8_t>(rng());
  // Every length up to 300 (the 8-byte loop plus every tail) at every alignment 0..15, then
  // page-sized and odd large lengths.
  for (size_t align = 0; align < 16; ++align) {
    for (size_t len = 0; len <= 300; ++len) {
      const uint32_t init = static_cast<uint32_t>(rng());
      ASSERT_EQ(Crc32c(init, buffer.data() + align, len),
                Crc32cPortable(init, buffer.data() + align, len))
          << "align " << align << " len " << len << " init " << init;
    }
  }
  // Around the three-way block sizes (3 x 256 and 3 x 5456 bytes) and their multiples.
  for (size_t len : {511u, 512u, 767u, 768u, 769u, 1536u, 4095u, 4096u, 16367u, 16368u, 16369u,
                     16380u, 16384u, 32736u, 32768u, 65536u}) {
    const size_t align = rng() % 64;
    ASSERT_EQ(Crc32c(0, buffer.data() + align, len), Crc32cPortable(0, buffer.data() + align, len))
        << "align " << align << " len " << len;
  }
  for (int i = 0; i < 200; ++i) {
    const size_t align = rng() % 64;
    const size_t len = rng() % 65537;
    ASSERT_EQ(Crc32c(0, buffer.data() + align, len), Crc32cPortable(0, buffer.data() + align, len))
        << "align " << align << " len " << len;
  }
}

TEST(Crc32cTest, ContinuationEqualsConcatenation) {
  // Crc32c(Crc32c(0, a), b) == Crc32c(0, a + b): a CRC may be computed across the wrap point of
  // the log ring in two pieces.
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> data(1000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  const uint32_t whole = Crc32c(0, data.data(), data.size());
  for (size_t split = 0; split <= data.size(); ++split) {
    const uint32_t first = Crc32c(0, data.data(), split);
    ASSERT_EQ(Crc32c(first, data.data() + split, data.size() - split), whole) << split;
    ASSERT_EQ(Crc32cPortable(Crc32cPortable(0, data.data(), split), data.data() + split,
                             data.size() - split),
              whole)
        << split;
  }
  EXPECT_EQ(Crc32c(Crc("1234"), reinterpret_cast<const uint8_t*>("56789"), 5), 0xE3069283u);
}

}  // namespace
}  // namespace pageserver
