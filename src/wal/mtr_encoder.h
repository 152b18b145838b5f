// Encoding MariaDB 10.8+ redo (spec section 2): varints, one record's type byte and length (the
// nibble, or the long form: varint + 15), a mini-transaction's terminator and CRC-32C. The mirror
// image of MtrDecoder, used where the project writes redo of its own (the compute's starting log)
// and by the tests' MtrBuilder. Header-only, stateless.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/byte_order.h"
#include "common/crc32c.h"
#include "wal/varint.h"

namespace pageserver::wal {

// Appends `value` in the shortest varint form (1..5 bytes).
inline void AppendVarint(std::vector<uint8_t>* out, uint32_t value) {
  if (value < kVarintMin2) {
    out->push_back(static_cast<uint8_t>(value));
  } else if (value < kVarintMin3) {
    const uint32_t v = value - kVarintMin2;
    out->push_back(static_cast<uint8_t>(0x80 | v >> 8));
    out->push_back(static_cast<uint8_t>(v));
  } else if (value < kVarintMin4) {
    const uint32_t v = value - kVarintMin3;
    out->push_back(static_cast<uint8_t>(0xC0 | v >> 16));
    out->push_back(static_cast<uint8_t>(v >> 8));
    out->push_back(static_cast<uint8_t>(v));
  } else if (value < kVarintMin5) {
    const uint32_t v = value - kVarintMin4;
    out->push_back(static_cast<uint8_t>(0xE0 | v >> 24));
    out->push_back(static_cast<uint8_t>(v >> 16));
    out->push_back(static_cast<uint8_t>(v >> 8));
    out->push_back(static_cast<uint8_t>(v));
  } else {
    const uint32_t v = value - kVarintMin5;
    out->push_back(0xF0);
    uint8_t raw[4];
    WriteBe32(raw, v);
    out->insert(out->end(), raw, raw + 4);
  }
}

inline size_t VarintSize(uint32_t value) {
  std::vector<uint8_t> bytes;
  AppendVarint(&bytes, value);
  return bytes.size();
}

// Appends one record to a mini-transaction's body: `type_bits | length`, then `payload`
// (everything after the length: page id, offsets, data). The nibble holds 1..15 bytes unless
// `long_form`; the long form's varint counts itself and 15 is added. False when no varint can
// express the length (nothing appended).
inline bool AppendRecord(std::vector<uint8_t>* body, uint8_t type_bits,
                         std::span<const uint8_t> payload, bool long_form = false) {
  const size_t n = payload.size();
  if (!long_form && n >= 1 && n <= 15) {
    body->push_back(static_cast<uint8_t>(type_bits | n));
  } else {
    bool encoded = false;
    for (size_t vlen = 1; vlen <= 3 && !encoded; ++vlen) {
      if (n + vlen < 15) continue;
      const uint32_t v = static_cast<uint32_t>(n + vlen - 15);
      if (VarintSize(v) == vlen) {
        body->push_back(type_bits);
        AppendVarint(body, v);
        encoded = true;
      }
    }
    if (!encoded) return false;
  }
  body->insert(body->end(), payload.begin(), payload.end());
  return true;
}

// The mini-transaction as written to the log: the body, the terminator, the CRC-32C of the body.
inline std::vector<uint8_t> FinishMtr(std::span<const uint8_t> body, uint8_t terminator) {
  std::vector<uint8_t> out(body.begin(), body.end());
  out.push_back(terminator);
  uint8_t crc[4];
  WriteBe32(crc, Crc32c(0, body.data(), body.size()));
  out.insert(out.end(), crc, crc + 4);
  return out;
}

}  // namespace pageserver::wal
