#include "wal/log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/crc32c.h"
#include "common/file_io.h"
#include "common/status_macros.h"
#include "wal/mtr_decoder.h"

namespace pageserver::wal {
namespace {

constexpr uint64_t kCheckpointOffsets[2] = {4096, 8192};

std::optional<Checkpoint> ParseCheckpointBlock(const uint8_t* b, uint64_t offset, Lsn first_lsn) {
  if (Crc32c(0, b, 60) != ReadBe32(b + 60)) return std::nullopt;
  for (int i = 16; i < 60; ++i) {
    if (b[i] != 0) return std::nullopt;
  }
  Checkpoint c{offset, Lsn(ReadBe64(b)), Lsn(ReadBe64(b + 8))};
  if (c.checkpoint_lsn < first_lsn || c.end_lsn < c.checkpoint_lsn) return std::nullopt;
  return c;
}

std::string FormatName(uint32_t format) {
  switch (format & 0x7FFFFFFFu) {
    case 0:
      return "MariaDB <= 10.2.1";
    case 1:
      return "MariaDB 10.2";
    case 103:
      return "MariaDB 10.3";
    case 104:
      return "MariaDB 10.4";
    case 0x50485953:
      return "MariaDB 10.5/10.6 ('PHYS')";
    default:
      return "unknown";
  }
}

}  // namespace

LogFile::LogFile(LogFile&& other) noexcept { *this = std::move(other); }

LogFile& LogFile::operator=(LogFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    file_size_ = other.file_size_;
    header_ = other.header_;
    geometry_ = other.geometry_;
    blocks_[0] = other.blocks_[0];
    blocks_[1] = other.blocks_[1];
    checkpoint_ = other.checkpoint_;
  }
  return *this;
}

LogFile::~LogFile() {
  if (fd_ >= 0) close(fd_);
}

absl::Status LogFile::ReadFileAt(uint64_t offset, size_t size, uint8_t* out) const {
  return ReadFully(fd_, offset, size, out, path_);
}

absl::StatusOr<LogFile> LogFile::Open(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(path).parent_path();
  std::error_code ec;
  if (fs::exists((dir.empty() ? fs::path(".") : dir) / "ib_logfile1", ec)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: ib_logfile1 exists beside it: a log of several files is from "
                        "MariaDB 10.4 or older, not supported",
                        path));
  }
  LogFile log;
  log.path_ = path;
  log.fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (log.fd_ < 0) {
    return absl::NotFoundError(absl::StrFormat("%s: %s", path, std::strerror(errno)));
  }
  struct stat st;
  if (fstat(log.fd_, &st) != 0) {
    return absl::InternalError(absl::StrFormat("%s: %s", path, std::strerror(errno)));
  }
  log.file_size_ = static_cast<uint64_t>(st.st_size);
  if (log.file_size_ < kLogStartOffset + 16) {
    return absl::DataLossError(
        absl::StrFormat("%s: %d bytes is too small for a redo log", path, log.file_size_));
  }
  std::vector<uint8_t> head(kLogStartOffset);
  RETURN_IF_ERROR(log.ReadFileAt(0, head.size(), head.data()));
  const uint32_t format = ReadBe32(head.data());
  if (format == kFormatEncrypted10_11) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: the redo log is encrypted (innodb_encrypt_log=ON, format 0x%08x of MariaDB "
        "10.11.15+); encrypted logs are not supported",
        path, format));
  }
  if (format != kFormat10_8) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: redo log format 0x%08x (%s%s) is not supported; only MariaDB 10.8+ format "
        "0x%08x ('Phys')",
        path, format, FormatName(format), (format & 0x80000000u) ? ", encrypted" : "",
        kFormat10_8));
  }
  if (Crc32c(0, head.data(), 508) != ReadBe32(head.data() + 508)) {
    return absl::DataLossError(absl::StrFormat("%s: log header checksum mismatch", path));
  }
  if (ReadBe32(head.data() + 4) != 0) {
    return absl::DataLossError(absl::StrFormat("%s: log header bytes 4..7 are not zero", path));
  }
  log.header_.format = format;
  log.header_.first_lsn = Lsn(ReadBe64(head.data() + 8));
  const char* creator = reinterpret_cast<const char*>(head.data() + 16);
  log.header_.creator.assign(creator, strnlen(creator, 32));
  if (log.header_.first_lsn.value() < kLogStartOffset) {
    return absl::DataLossError(absl::StrFormat("%s: first LSN %d is below %d", path,
                                               log.header_.first_lsn.value(), kLogStartOffset));
  }
  if (ReadBe32(head.data() + 48) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: the redo log is encrypted (innodb_encrypt_log=ON); encrypted logs are not supported",
        path));
  }
  log.geometry_ = {log.header_.first_lsn, log.file_size_ - kLogStartOffset};
  for (int i = 0; i < 2; ++i) {
    log.blocks_[i] = ParseCheckpointBlock(head.data() + kCheckpointOffsets[i],
                                          kCheckpointOffsets[i], log.header_.first_lsn);
  }
  const auto& a = log.blocks_[0];
  const auto& b = log.blocks_[1];
  if (!a && !b) {
    return absl::DataLossError(
        absl::StrFormat("%s: neither checkpoint block (offset 4096, 8192) is valid", path));
  }
  // The block at 8192 wins a tie, as in MariaDB's scan (4096 first, then 8192 with >=).
  log.checkpoint_ = (b && (!a || b->checkpoint_lsn >= a->checkpoint_lsn)) ? *b : *a;
  return log;
}

absl::Status LogFile::Read(Lsn lsn, size_t size, uint8_t* out) const {
  if (lsn < header_.first_lsn || size > geometry_.capacity) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: cannot read %d bytes at LSN %d: the file holds LSN %d onwards, %d bytes at a time",
        path_, size, lsn.value(), header_.first_lsn.value(), geometry_.capacity));
  }
  const uint64_t offset = geometry_.Offset(lsn);
  const size_t first = static_cast<size_t>(std::min<uint64_t>(size, file_size_ - offset));
  RETURN_IF_ERROR(ReadFileAt(offset, first, out));
  if (first < size) RETURN_IF_ERROR(ReadFileAt(kLogStartOffset, size - first, out + first));
  return absl::OkStatus();
}

absl::StatusOr<ScanEnd> ScanLog(const LogFile& log, Lsn from_lsn, std::optional<Lsn> to_lsn,
                                const std::function<absl::Status(Mtr&)>& on_mtr,
                                uint32_t page_size) {
  if (from_lsn < log.header().first_lsn) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: LSN %d is before the first LSN %d of this log file", log.path(),
                        from_lsn.value(), log.header().first_lsn.value()));
  }
  // Reads start small and double: a compute's flush scans a few KiB of new redo, a replay
  // megabytes, and each chunk is zero-filled and copied before it is decoded.
  constexpr size_t kFirstChunk = 64 << 10, kMaxChunk = 4 << 20;
  size_t chunk = kFirstChunk;
  const uint64_t capacity = log.geometry().capacity;
  MtrDecoder decoder(from_lsn, {.page_size = page_size, .geometry = log.geometry()});
  uint64_t fed = 0;  // never read more than one capacity: after that the bytes repeat
  Mtr mtr;
  for (;;) {
    auto next = decoder.Next(&mtr);
    if (!next.ok()) {
      if (absl::IsOutOfRange(next.status())) {
        return ScanEnd{decoder.next_lsn(), std::string(next.status().message()), false};
      }
      return next.status();
    }
    if (*next) {
      if (to_lsn && mtr.end_lsn > *to_lsn) {
        return ScanEnd{mtr.start_lsn, "reached the requested LSN", true};
      }
      RETURN_IF_ERROR(on_mtr(mtr));
      continue;
    }
    if (fed >= capacity) {
      return ScanEnd{decoder.next_lsn(),
                     "incomplete mini-transaction after one whole pass over the log body", false};
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, capacity - fed));
    RETURN_IF_ERROR(log.Read(from_lsn + fed, n, decoder.PrepareFeed(n)));
    decoder.CommitFeed(n);
    fed += n;
    chunk = std::min(chunk * 2, kMaxChunk);
  }
}

}  // namespace pageserver::wal
