// Limits of aux files (the non-InnoDB files a compute needs, kept whole by the page server),
// shared by the server, which enforces them, and the tools that check before sending.
#pragma once

#include <cstdint>

namespace pageserver {

// Bytes of one aux file version, at most (one gRPC message carries it whole).
inline constexpr uint64_t kMaxAuxFileBytes = 48ull << 20;

}  // namespace pageserver
