// Where an LSN lives in ib_logfile0: the circular body starts at file offset 12288 and holds
// `capacity` bytes; first_lsn is the LSN at offset 12288 on the first pass.
#pragma once

#include <cstdint>

#include "common/types.h"

namespace pageserver::wal {

inline constexpr uint64_t kLogStartOffset = 12288;  // START_OFFSET, also FIRST_LSN

struct LogGeometry {
  Lsn first_lsn;
  uint64_t capacity = 0;  // file size - 12288

  uint64_t Offset(Lsn lsn) const {
    return kLogStartOffset + (lsn.value() - first_lsn.value()) % capacity;
  }
  uint64_t Pass(Lsn lsn) const { return (lsn.value() - first_lsn.value()) / capacity; }
  // The terminator byte MariaDB writes: 1 on even passes (the first), 0 on odd ones.
  int SequenceBit(Lsn lsn) const { return Pass(lsn) % 2 == 0 ? 1 : 0; }
};

}  // namespace pageserver::wal
