// MariaDB's redo-log varint (mtr0log.h): big-endian, prefix-coded by the leading one bits of the
// first byte, each longer form biased by the values of all shorter forms. 1 to 5 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace pageserver::wal {

inline constexpr uint32_t kVarintMin2 = 0x80;
inline constexpr uint32_t kVarintMin3 = 0x4080;
inline constexpr uint32_t kVarintMin4 = 0x204080;
inline constexpr uint32_t kVarintMin5 = 0x10204080;

// Length of the varint whose first byte is `b`, or 0 if `b` starts no valid varint.
inline constexpr size_t VarintLength(uint8_t b) {
  if (b < 0x80) return 1;
  if (b < 0xC0) return 2;
  if (b < 0xE0) return 3;
  if (b < 0xF0) return 4;
  if (b == 0xF0) return 5;
  return 0;
}

struct Varint {
  uint32_t value;
  size_t size;
};

// Decodes a varint of at most `max_bytes` bytes from [p, p + avail). nullopt when it does not fit,
// is wider than allowed, or overflows 32 bits.
inline std::optional<Varint> DecodeVarint(const uint8_t* p, size_t avail, size_t max_bytes) {
  if (avail == 0) return std::nullopt;
  const size_t n = VarintLength(p[0]);
  if (n == 0 || n > max_bytes || n > avail) return std::nullopt;
  switch (n) {
    case 1:
      return Varint{p[0], 1};
    case 2:
      return Varint{kVarintMin2 + ((uint32_t{p[0]} & 0x3F) << 8 | p[1]), 2};
    case 3:
      return Varint{kVarintMin3 + ((uint32_t{p[0]} & 0x1F) << 16 | uint32_t{p[1]} << 8 | p[2]), 3};
    case 4:
      return Varint{kVarintMin4 + ((uint32_t{p[0]} & 0x0F) << 24 | uint32_t{p[1]} << 16 |
                                   uint32_t{p[2]} << 8 | p[3]),
                    4};
    default: {
      const uint32_t raw = uint32_t{p[1]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 8 | p[4];
      if (raw > 0xFFFFFFFFu - kVarintMin5) return std::nullopt;
      return Varint{kVarintMin5 + raw, 5};
    }
  }
}

}  // namespace pageserver::wal
