#include "compute/starting_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/file_io.h"
#include "common/status_macros.h"
#include "wal/mtr_encoder.h"
#include "wal/log_file.h"
#include "wal/log_geometry.h"

namespace pageserver::compute {
namespace {

constexpr uint8_t kFileModifyType = 0xB0;      // FILE_MODIFY, spec 2.1
constexpr uint8_t kFileCheckpointType = 0xF0;  // FILE_CHECKPOINT
constexpr size_t kMaxMtrBody = size_t{1} << 20;  // MariaDB's MTR_SIZE_MAX
constexpr size_t kHeaderCrcOffset = 508;
constexpr size_t kCheckpointCrcOffset = 60;
constexpr uint64_t kCheckpointBlock0 = 4096;
constexpr char kCreator[] = "pageserver compute";

}  // namespace

absl::StatusOr<std::vector<uint8_t>> CheckpointMtr(Lsn checkpoint,
                                                   std::span<const TablespaceFile> files) {
  std::vector<uint8_t> body;
  for (const TablespaceFile& f : files) {
    // Space id, page 0, the path as MariaDB writes it ("./db/t.ibd").
    std::vector<uint8_t> payload;
    wal::AppendVarint(&payload, f.space.value());
    wal::AppendVarint(&payload, 0);
    const std::string path = "./" + f.path;
    payload.insert(payload.end(), path.begin(), path.end());
    if (!wal::AppendRecord(&body, kFileModifyType, payload) || body.size() >= kMaxMtrBody) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%d tablespaces do not fit in one checkpoint mini-transaction (1 MiB of records)",
          files.size()));
    }
  }
  std::vector<uint8_t> payload = {0, 0};  // space id 0, page 0
  uint8_t lsn[8];
  WriteBe64(lsn, checkpoint.value());
  payload.insert(payload.end(), lsn, lsn + 8);
  wal::AppendRecord(&body, kFileCheckpointType, payload);
  return wal::FinishMtr(body, 1);  // the terminator: sequence bit 1 on the first pass
}

std::vector<uint8_t> FileCheckpointMtr(Lsn checkpoint) { return *CheckpointMtr(checkpoint, {}); }

absl::Status WriteStartingLog(const std::string& path, uint64_t file_size, Lsn checkpoint,
                              std::span<const uint8_t> mtr) {
  if (file_size < wal::kLogStartOffset + mtr.size() + 2 * 4096) {
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

  std::vector<uint8_t> body(mtr.begin(), mtr.end());
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
