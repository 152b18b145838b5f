#include "compute/starting_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/crc32c.h"
#include "common/file_io.h"
#include "common/status_macros.h"
#include "wal/log_file.h"
#include "wal/log_geometry.h"

namespace pageserver::compute {
namespace {

constexpr uint8_t kFileCheckpointType = 0xF0;  // FILE_CHECKPOINT, spec 2.1 (length nibble 10)
constexpr size_t kHeaderCrcOffset = 508;
constexpr size_t kCheckpointCrcOffset = 60;
constexpr uint64_t kCheckpointBlock0 = 4096;
constexpr char kCreator[] = "pageserver compute";

}  // namespace

std::vector<uint8_t> FileCheckpointMtr(Lsn checkpoint) {
  // Type + length 10: space id 0 and page 0 (one varint byte each), the 8-byte LSN.
  std::vector<uint8_t> mtr = {static_cast<uint8_t>(kFileCheckpointType | 10), 0, 0};
  uint8_t lsn[8];
  WriteBe64(lsn, checkpoint.value());
  mtr.insert(mtr.end(), lsn, lsn + 8);
  const uint32_t crc = Crc32c(0, mtr.data(), mtr.size());
  mtr.push_back(1);  // the terminator: sequence bit 1 on the first pass
  uint8_t crc_bytes[4];
  WriteBe32(crc_bytes, crc);
  mtr.insert(mtr.end(), crc_bytes, crc_bytes + 4);
  return mtr;
}

absl::Status WriteStartingLog(const std::string& path, uint64_t file_size, Lsn checkpoint) {
  if (file_size < wal::kLogStartOffset + 2 * 4096) {
    return absl::InvalidArgumentError(
        absl::StrFormat("a log file of %d bytes is too small for a compute", file_size));
  }
  std::vector<uint8_t> head(wal::kLogStartOffset, 0);
  WriteBe32(&head[0], wal::kFormat10_8);
  WriteBe64(&head[8], checkpoint.value());  // first_lsn: the checkpoint is at offset 12288
  std::memcpy(&head[16], kCreator, sizeof kCreator - 1);
  WriteBe32(&head[kHeaderCrcOffset], Crc32c(0, head.data(), kHeaderCrcOffset));
  uint8_t* block = &head[kCheckpointBlock0];
  WriteBe64(block, checkpoint.value());      // checkpoint_lsn
  WriteBe64(block + 8, checkpoint.value());  // end_lsn: where FILE_CHECKPOINT is
  WriteBe32(block + kCheckpointCrcOffset, Crc32c(0, block, kCheckpointCrcOffset));

  std::vector<uint8_t> body = FileCheckpointMtr(checkpoint);
  body.push_back(0);  // the end of the log

  const int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoError("creating", path);
  absl::Status s = WriteFully(fd, 0, head.data(), head.size(), path);
  if (s.ok()) s = WriteFully(fd, wal::kLogStartOffset, body.data(), body.size(), path);
  if (s.ok() && ftruncate(fd, static_cast<off_t>(file_size)) != 0) s = ErrnoError("sizing", path);
  close(fd);
  return s;
}

}  // namespace pageserver::compute
