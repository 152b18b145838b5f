// LogFile reads MariaDB 10.8+'s single redo log file, ib_logfile0: the header block, the two
// checkpoint blocks, and the circular body addressed by LSN (reads that cross the end of the file
// continue at offset 12288). It refuses other formats (pre-10.8 logs, several log files) and
// encrypted logs with an error that says so.
//
// The file is re-read on every call, never mapped: a running mariadbd rewrites its last block in
// place. A LogFile is immutable after Open and safe to share between threads (pread only).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "wal/log_geometry.h"
#include "wal/record.h"

namespace pageserver::wal {

inline constexpr uint32_t kFormat10_8 = 0x50687973;  // "Phys"
// MariaDB 10.11.15+ (MDEV-36024) marks an encrypted log with its own format identifier.
inline constexpr uint32_t kFormatEncrypted10_11 = 0xF09F979D;

struct Checkpoint {
  uint64_t file_offset;  // 4096 or 8192
  Lsn checkpoint_lsn;    // replay starts here
  Lsn end_lsn;           // where the checkpoint's FILE_MODIFY.. FILE_CHECKPOINT records start
};

struct LogHeader {
  uint32_t format = 0;
  Lsn first_lsn;
  std::string creator;
};

class LogFile {
 public:
  static absl::StatusOr<LogFile> Open(const std::string& path);
  LogFile(LogFile&& other) noexcept;
  LogFile& operator=(LogFile&& other) noexcept;
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  ~LogFile();

  const std::string& path() const { return path_; }
  const LogHeader& header() const { return header_; }
  const LogGeometry& geometry() const { return geometry_; }
  uint64_t file_size() const { return file_size_; }
  // Both blocks as found (nullopt when invalid), and the one recovery would use.
  const std::optional<Checkpoint>& checkpoint_block(int i) const { return blocks_[i]; }
  const Checkpoint& checkpoint() const { return checkpoint_; }

  // Reads `size` bytes of the log body starting at `lsn`; size <= capacity.
  absl::Status Read(Lsn lsn, size_t size, uint8_t* out) const;

 private:
  LogFile() = default;
  absl::Status ReadFileAt(uint64_t offset, size_t size, uint8_t* out) const;

  std::string path_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  LogHeader header_;
  LogGeometry geometry_;
  std::optional<Checkpoint> blocks_[2];
  Checkpoint checkpoint_{};
};

// Why a scan stopped.
struct ScanEnd {
  Lsn end_lsn;         // end of the last mini-transaction delivered
  std::string reason;  // the end-of-log condition found there
  bool reached_limit;  // stopped because the next mini-transaction ends after `to_lsn`
};

// Delivers every valid mini-transaction from `from_lsn` (a mini-transaction boundary) to the end
// of the valid log, or up to the last one ending at or before `to_lsn`. Stops early when `on_mtr`
// returns an error, and returns that error. A corrupt record inside a checksummed
// mini-transaction is an error (DataLoss); the end of valid log is not. `on_mtr` may take the
// mini-transaction's contents (swap them out); the object is reused for the next one.
absl::StatusOr<ScanEnd> ScanLog(const LogFile& log, Lsn from_lsn, std::optional<Lsn> to_lsn,
                                const std::function<absl::Status(Mtr&)>& on_mtr,
                                uint32_t page_size = 16384);

}  // namespace pageserver::wal
