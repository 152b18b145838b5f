// CRC-32C (Castagnoli), as MariaDB's my_crc32c: reflected polynomial 0x82F63B78, initial value
// and final XOR 0xFFFFFFFF. Crc32c(Crc32c(0, a), b) == Crc32c(0, a + b). Uses the SSE4.2 crc32
// instruction when the CPU has it, a table otherwise. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace pageserver {

uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t size);
inline uint32_t Crc32c(std::span<const uint8_t> data) {
  return Crc32c(0, data.data(), data.size());
}

// Exposed for tests: the two implementations must agree.
uint32_t Crc32cPortable(uint32_t crc, const uint8_t* data, size_t size);
bool Crc32cHardwareAvailable();

}  // namespace pageserver
