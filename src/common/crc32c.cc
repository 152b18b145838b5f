#include "common/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace pageserver {
namespace {

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kTable = MakeTable();

#if defined(__x86_64__)
// The crc32 instruction takes 3 cycles and can start one every cycle, so one chain of it runs at
// a third of the possible speed. Three chains over three adjacent blocks run in parallel; the
// first two CRCs are then moved past the bytes that follow them ("shifted" over that many zero
// bytes, a linear map precomputed as four 256-entry tables) and combined with XOR. This is the
// method of Mark Adler's crc32c.c; the block sizes are chosen for the 16 KiB page (three blocks
// of 5456 bytes cover all but 16 of its bytes) and for 4 KiB index blocks (rounds of 3 x 256).
constexpr size_t kLongBlock = 5456;
constexpr size_t kShortBlock = 256;
constexpr uint32_t kPoly = 0x82F63B78u;

// GF(2) 32x32 matrices as 32 columns: the CRC register's next value after some input.
using Gf2Matrix = std::array<uint32_t, 32>;

uint32_t Gf2Times(const Gf2Matrix& mat, uint32_t vec) {
  uint32_t sum = 0;
  for (int i = 0; vec != 0; vec >>= 1, ++i) {
    if (vec & 1) sum ^= mat[i];
  }
  return sum;
}

Gf2Matrix Gf2Square(const Gf2Matrix& mat) {
  Gf2Matrix square;
  for (int n = 0; n < 32; ++n) square[n] = Gf2Times(mat, mat[n]);
  return square;
}

// The map that feeds `bytes` zero bytes through the register.
Gf2Matrix ZerosOperator(size_t bytes) {
  Gf2Matrix op;  // one zero bit
  op[0] = kPoly;
  for (int n = 1; n < 32; ++n) op[n] = 1u << (n - 1);
  for (int i = 0; i < 3; ++i) op = Gf2Square(op);  // one zero byte
  Gf2Matrix result{};
  for (int n = 0; n < 32; ++n) result[n] = 1u << n;  // identity
  for (; bytes != 0; bytes >>= 1, op = Gf2Square(op)) {
    if (bytes & 1) {
      Gf2Matrix next;
      for (int n = 0; n < 32; ++n) next[n] = Gf2Times(op, result[n]);
      result = next;
    }
  }
  return result;
}

struct ShiftTable {
  uint32_t byte[4][256];
  explicit ShiftTable(size_t bytes) {
    const Gf2Matrix op = ZerosOperator(bytes);
    for (uint32_t n = 0; n < 256; ++n) {
      for (int k = 0; k < 4; ++k) byte[k][n] = Gf2Times(op, n << (8 * k));
    }
  }
  uint32_t Shift(uint32_t crc) const {
    return byte[0][crc & 0xFF] ^ byte[1][(crc >> 8) & 0xFF] ^ byte[2][(crc >> 16) & 0xFF] ^
           byte[3][crc >> 24];
  }
};

const ShiftTable kLongShift(kLongBlock);
const ShiftTable kShortShift(kShortBlock);

__attribute__((target("sse4.2"))) uint64_t Crc32cWords(uint64_t c, const uint8_t* data,
                                                       size_t words) {
  for (size_t i = 0; i < words; ++i) {
    uint64_t word;
    std::memcpy(&word, data + 8 * i, 8);
    c = _mm_crc32_u64(c, word);
  }
  return c;
}

// Three chains over blocks of `block` bytes at data, data + block, data + 2 * block.
template <size_t block>
__attribute__((target("sse4.2"))) uint64_t Crc32cThreeWay(uint64_t c0, const uint8_t* data,
                                                          const ShiftTable& shift) {
  uint64_t c1 = 0, c2 = 0;
  for (size_t i = 0; i < block; i += 8) {
    uint64_t w0, w1, w2;
    std::memcpy(&w0, data + i, 8);
    std::memcpy(&w1, data + block + i, 8);
    std::memcpy(&w2, data + 2 * block + i, 8);
    c0 = _mm_crc32_u64(c0, w0);
    c1 = _mm_crc32_u64(c1, w1);
    c2 = _mm_crc32_u64(c2, w2);
  }
  c0 = shift.Shift(static_cast<uint32_t>(c0)) ^ c1;
  return shift.Shift(static_cast<uint32_t>(c0)) ^ c2;
}

__attribute__((target("sse4.2"))) uint32_t Crc32cSse42(uint32_t crc, const uint8_t* data,
                                                       size_t size) {
  uint64_t c = ~crc;
  while (size >= 3 * kLongBlock) {
    c = Crc32cThreeWay<kLongBlock>(c, data, kLongShift);
    data += 3 * kLongBlock;
    size -= 3 * kLongBlock;
  }
  while (size >= 3 * kShortBlock) {
    c = Crc32cThreeWay<kShortBlock>(c, data, kShortShift);
    data += 3 * kShortBlock;
    size -= 3 * kShortBlock;
  }
  c = Crc32cWords(c, data, size / 8);
  data += size / 8 * 8;
  size %= 8;
  uint32_t c32 = static_cast<uint32_t>(c);
  while (size--) c32 = _mm_crc32_u8(c32, *data++);
  return ~c32;
}
#endif

using Crc32cFn = uint32_t (*)(uint32_t, const uint8_t*, size_t);

Crc32cFn Choose() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) return Crc32cSse42;
#endif
  return Crc32cPortable;
}

const Crc32cFn kCrc32cImpl = Choose();

}  // namespace

uint32_t Crc32cPortable(uint32_t crc, const uint8_t* data, size_t size) {
  uint32_t c = ~crc;
  for (size_t i = 0; i < size; ++i) c = kTable[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return ~c;
}

bool Crc32cHardwareAvailable() { return kCrc32cImpl != Crc32cPortable; }

uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t size) {
  return kCrc32cImpl(crc, data, size);
}

}  // namespace pageserver
