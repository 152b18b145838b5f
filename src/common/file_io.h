// Whole reads and writes at an offset (pread/pwrite loops that retry EINTR and short transfers),
// returning a Status that names the file and the offset. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace pageserver {

// Reads exactly `size` bytes at `offset`; the file ending first is DataLoss.
absl::Status ReadFully(int fd, uint64_t offset, size_t size, uint8_t* out, const std::string& path);
// Writes exactly `size` bytes at `offset`.
absl::Status WriteFully(int fd, uint64_t offset, const uint8_t* data, size_t size,
                        const std::string& path);

}  // namespace pageserver
