// An ib_logfile0 built in memory for tests: header, checkpoint blocks and the ring, written
// through LSNs as MariaDB would, then saved as a file.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/byte_order.h"
#include "common/crc32c.h"
#include "wal/log_file.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::wal::testing {

// An ib_logfile0 image in memory: header, checkpoint blocks and the ring, addressed by LSN.
class LogImage {
 public:
  LogImage(Lsn first_lsn, uint64_t capacity)
      : geometry_{first_lsn, capacity}, bytes_(kLogStartOffset + capacity, 0) {
    WriteBe32(&bytes_[0], kFormat10_8);
    WriteBe64(&bytes_[8], first_lsn.value());
    const std::string creator = "MariaDB 10.11.19";
    std::copy(creator.begin(), creator.end(), bytes_.begin() + 16);
    SealHeader();
  }

  const LogGeometry& geometry() const { return geometry_; }
  Bytes& bytes() { return bytes_; }

  // Recomputes the header CRC at 508 (call after changing header bytes).
  void SealHeader() { WriteBe32(&bytes_[508], Crc32c(0, bytes_.data(), 508)); }

  // Checkpoint block 0 (offset 4096) or 1 (offset 8192), with a valid CRC at 60.
  void SetCheckpoint(int block, Lsn checkpoint, Lsn end) {
    uint8_t* b = &bytes_[block == 0 ? 4096 : 8192];
    std::fill(b, b + 64, 0);
    WriteBe64(b, checkpoint.value());
    WriteBe64(b + 8, end.value());
    WriteBe32(b + 60, Crc32c(0, b, 60));
  }
  uint8_t* CheckpointBlock(int block) { return &bytes_[block == 0 ? 4096 : 8192]; }

  void WriteAt(Lsn lsn, const Bytes& data) {
    for (size_t i = 0; i < data.size(); ++i) bytes_[geometry_.Offset(lsn + i)] = data[i];
  }
  // Writes `b` as MariaDB would at `lsn` (terminator from the geometry); returns its end LSN.
  Lsn Append(Lsn lsn, const MtrBuilder& b) {
    const Bytes mtr = b.Build(geometry_, lsn);
    WriteAt(lsn, mtr);
    return lsn + mtr.size();
  }

  std::string Save(const std::filesystem::path& dir) const {
    const std::string path = (dir / "ib_logfile0").string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes_.data()),
              static_cast<std::streamsize>(bytes_.size()));
    return path;
  }

 private:
  LogGeometry geometry_;
  Bytes bytes_;
};

}  // namespace pageserver::wal::testing
