// Test-only helpers shared by the MtrDecoder tests: decode one mini-transaction from bytes or
// from an MtrBuilder, and check that a failure is "end of log" (OutOfRange) or corruption
// (DataLoss) with the LSN and the reason in its message.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/testing/status_testing.h"
#include "wal/mtr_decoder.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::wal::testing {

// A big ring so the sequence bit stays 1 unless a test wants it to flip.
inline constexpr LogGeometry kGeometry{Lsn(12288), 64u << 20};
inline constexpr Lsn kStart(12288);

inline Bytes Hex(std::string_view hex) {
  Bytes out;
  int nibbles = 0;
  uint8_t cur = 0;
  for (char c : hex) {
    if (c == ' ' || c == '|') continue;
    const int v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    cur = static_cast<uint8_t>(cur << 4 | v);
    if (++nibbles % 2 == 0) out.push_back(cur);
  }
  return out;
}

inline MtrDecoderOptions WithGeometry(const LogGeometry& g = kGeometry,
                                      uint32_t page_size = 16384) {
  return {.page_size = page_size, .geometry = g};
}

// Decodes exactly one mini-transaction from `bytes`, fed in one piece.
inline absl::StatusOr<Mtr> DecodeOne(const Bytes& bytes, Lsn start = kStart,
                                     MtrDecoderOptions options = WithGeometry()) {
  MtrDecoder decoder(start, options);
  decoder.Feed(bytes);
  Mtr mtr;
  auto next = decoder.Next(&mtr);
  if (!next.ok()) return next.status();
  if (!*next) return absl::UnavailableError("need more bytes");
  return mtr;
}

inline absl::StatusOr<Mtr> DecodeBuilt(const MtrBuilder& b, Lsn start = kStart,
                                       MtrDecoderOptions options = WithGeometry()) {
  return DecodeOne(b.Build(options.geometry ? *options.geometry : kGeometry, start), start,
                   options);
}

inline void ExpectEndOfLog(const absl::StatusOr<Mtr>& r, Lsn lsn, std::string_view why) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange) << r.status();
  EXPECT_TRUE(pageserver::testing::MessageHas(r.status(), "LSN " + std::to_string(lsn.value())))
      << r.status();
  EXPECT_TRUE(pageserver::testing::MessageHas(r.status(), why)) << r.status();
}

inline void ExpectCorrupt(const absl::StatusOr<Mtr>& r, std::string_view why,
                          Lsn record_lsn = kStart) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_TRUE(
      pageserver::testing::MessageHas(r.status(), "LSN " + std::to_string(record_lsn.value())))
      << r.status();
  EXPECT_TRUE(pageserver::testing::MessageHas(r.status(), why)) << r.status();
}

inline PageId P(uint32_t space, uint32_t page) { return {SpaceId(space), PageNo(page)}; }

}  // namespace pageserver::wal::testing
