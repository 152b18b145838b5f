#include "storage/wal_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <regex>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/file_io.h"
#include "common/status_macros.h"
#include "wal/mtr_decoder.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;
constexpr size_t kReadChunk = 4 << 20;

// Writes zeros over [from, to) of `fd`.
absl::Status WriteZeros(int fd, uint64_t from, uint64_t to, const std::string& path) {
  static constexpr uint8_t kZeros[64 << 10] = {};
  while (from < to) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(kZeros), to - from));
    RETURN_IF_ERROR(WriteFully(fd, from, kZeros, n, path));
    from += n;
  }
  return absl::OkStatus();
}

std::string SegmentName(Lsn start) { return absl::StrFormat("%020d.wal", start.value()); }

// Feeds [offset, offset + size) of a segment file to the decoder, delivering mini-transactions.
absl::Status DecodeFile(const std::string& path, uint64_t offset, uint64_t size,
                        wal::MtrDecoder& decoder, wal::Mtr& mtr,
                        const std::function<absl::Status(wal::Mtr&)>& on_mtr) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", path);
  absl::Status status;
  while (status.ok()) {
    auto next = decoder.Next(&mtr);
    if (!next.ok()) {
      status = next.status();
      break;
    }
    if (*next) {
      status = on_mtr(mtr);
      continue;
    }
    if (size == 0) break;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kReadChunk, size));
    status = ReadFully(fd, offset, n, decoder.PrepareFeed(n), path);
    if (status.ok()) decoder.CommitFeed(n);
    offset += n;
    size -= n;
  }
  close(fd);
  return status;
}

}  // namespace

WalLog::~WalLog() {
  if (tail_fd_ >= 0) close(tail_fd_);
}

absl::StatusOr<std::unique_ptr<WalLog>> WalLog::Open(const std::string& dir, Lsn start_lsn,
                                                     WalLogOptions options) {
  std::error_code ec;
  const bool created = fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrFormat("creating %s: %s", dir, ec.message()));
  std::unique_ptr<WalLog> log(new WalLog(dir, options));
  // A new directory's own name must be durable too, or a crash could lose the whole log.
  if (created) RETURN_IF_ERROR(log->SyncPath(fs::absolute(dir).parent_path().string()));
  RETURN_IF_ERROR(log->Recover(start_lsn));
  return log;
}

absl::Status WalLog::SyncPath(const std::string& dir) {
  if (!options_.sync) return absl::OkStatus();
  return SyncDirectory(dir);
}

absl::Status WalLog::SyncDir() { return SyncPath(dir_); }

absl::Status WalLog::StartSegment(Lsn start) {
  const std::string path = (fs::path(dir_) / SegmentName(start)).string();
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoError("create", path);
  if (tail_fd_ >= 0) close(tail_fd_);
  tail_fd_ = fd;
  tail_bytes_ = 0;
  tail_file_bytes_ = 0;
  segments_.push_back({start, path});
  // The new name must be durable before anything in it is acknowledged.
  return SyncDir();
}

absl::Status WalLog::SealTail() {
  const std::string& path = segments_.back().path;
  if (tail_file_bytes_ != tail_bytes_) {
    if (ftruncate(tail_fd_, static_cast<off_t>(tail_bytes_)) != 0) return ErrnoError("cut", path);
    tail_file_bytes_ = tail_bytes_;
  }
  // Only the last segment is ever synced later (SyncTicket): this one must be durable now.
  if (options_.sync && fdatasync(tail_fd_) != 0) return ErrnoError("sync", path);
  durable_lsn_ = end_lsn_;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> WalLog::ZeroLeftovers(uint64_t from) {
  const std::string& path = segments_.back().path;
  std::vector<uint8_t> chunk(1 << 20);
  uint64_t last_nonzero_end = from;
  for (uint64_t at = from; at < tail_file_bytes_; at += chunk.size()) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), tail_file_bytes_ - at));
    RETURN_IF_ERROR(ReadFully(tail_fd_, at, n, chunk.data(), path));
    for (size_t i = n; i > 0; --i) {
      if (chunk[i - 1] != 0) {
        last_nonzero_end = at + i;
        break;
      }
    }
  }
  if (last_nonzero_end == from) return 0;
  RETURN_IF_ERROR(WriteZeros(tail_fd_, from, last_nonzero_end, path));
  if (options_.sync && fdatasync(tail_fd_) != 0) return ErrnoError("sync", path);
  return last_nonzero_end - from;
}

absl::Status WalLog::Recover(Lsn start_lsn) {
  static const std::regex kName("([0-9]{20})\\.wal");
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir_, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::smatch m;
    const std::string name = it->path().filename().string();
    if (!std::regex_match(name, m, kName)) continue;
    uint64_t start = 0;
    const std::string digits = m[1].str();
    if (std::from_chars(digits.data(), digits.data() + digits.size(), start).ec != std::errc()) {
      return absl::DataLossError(absl::StrFormat("%s: not an LSN", it->path().string()));
    }
    segments_.push_back({Lsn(start), it->path().string()});
  }
  if (ec) return absl::InternalError(absl::StrFormat("listing %s: %s", dir_, ec.message()));
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.start < b.start; });
  if (segments_.empty()) {
    end_lsn_ = start_lsn;
    durable_lsn_ = start_lsn;
    return StartSegment(start_lsn);
  }
  // Every segment but the last was complete and durable before its successor was created.
  for (size_t i = 0; i + 1 < segments_.size(); ++i) {
    const uint64_t size = fs::file_size(segments_[i].path, ec);
    if (ec || segments_[i].start + size != segments_[i + 1].start) {
      return absl::DataLossError(absl::StrFormat(
          "%s: %d bytes from LSN %d do not reach the next segment at LSN %d", segments_[i].path,
          ec ? 0 : size, segments_[i].start.value(), segments_[i + 1].start.value()));
    }
  }
  // The last one may end in a torn append: keep its valid mini-transactions, cut the rest.
  const Segment& last = segments_.back();
  const uint64_t size = fs::file_size(last.path, ec);
  if (ec) return absl::InternalError(absl::StrFormat("%s: %s", last.path, ec.message()));
  wal::MtrDecoder decoder(last.start, {});
  wal::Mtr mtr;
  absl::Status decoded =
      DecodeFile(last.path, 0, size, decoder, mtr, [](wal::Mtr&) { return absl::OkStatus(); });
  if (!decoded.ok() && !absl::IsOutOfRange(decoded)) {
    return absl::DataLossError(absl::StrFormat("%s: %s", last.path, decoded.message()));
  }
  const uint64_t valid = decoder.next_lsn() - last.start;
  tail_fd_ = open(last.path.c_str(), O_RDWR | O_CLOEXEC);
  if (tail_fd_ < 0) return ErrnoError("open", last.path);
  tail_bytes_ = valid;
  tail_file_bytes_ = size;
  end_lsn_ = decoder.next_lsn();
  // What follows the valid log must read as its end, and keep doing so once appends resume.
  ASSIGN_OR_RETURN(truncated_bytes_, ZeroLeftovers(valid));
  // A killed process's unsynced writes are still in the page cache: durable from here on.
  if (options_.sync && fdatasync(tail_fd_) != 0) return ErrnoError("sync", last.path);
  durable_lsn_ = end_lsn_;
  return absl::OkStatus();
}

absl::Status WalLog::Append(Lsn lsn, std::span<const uint8_t> bytes) {
  RETURN_IF_ERROR(failed_);
  if (lsn != end_lsn_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "append at LSN %d, but the log ends at LSN %d", lsn.value(), end_lsn_.value()));
  }
  if (bytes.empty()) return absl::OkStatus();
  // Only whole, well-formed mini-transactions go in: recovery decodes the last segment from its
  // start, so a segment must never begin inside one, nor hold one recovery would refuse.
  wal::MtrDecoder check(lsn, {});
  check.Feed(bytes);
  wal::Mtr mtr;
  for (;;) {
    auto next = check.Next(&mtr);
    if (!next.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("not appended: %s", next.status().message()));
    }
    if (!*next) break;
  }
  if (check.buffered() != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("not appended: the bytes end inside the mini-transaction at LSN %d",
                        check.next_lsn().value()));
  }
  return AppendDecoded(lsn, bytes);
}

absl::Status WalLog::AppendDecoded(Lsn lsn, std::span<const uint8_t> bytes) {
  RETURN_IF_ERROR(WriteDecoded(lsn, bytes));
  ASSIGN_OR_RETURN(const SyncTicket ticket, BeginSync());
  return EndSync(ticket, ticket.Sync());
}

WalLog::SyncTicket& WalLog::SyncTicket::operator=(SyncTicket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    end_ = other.end_;
    path_ = std::move(other.path_);
  }
  return *this;
}

WalLog::SyncTicket::~SyncTicket() {
  if (fd_ >= 0) close(fd_);
}

absl::Status WalLog::SyncTicket::Sync() const {
  if (fd_ >= 0 && fdatasync(fd_) != 0) {
    return ErrnoError(absl::StrFormat("sync up to LSN %d", end_.value()), path_);
  }
  return absl::OkStatus();
}

absl::StatusOr<WalLog::SyncTicket> WalLog::BeginSync() {
  RETURN_IF_ERROR(failed_);
  SyncTicket ticket;
  ticket.end_ = end_lsn_;
  if (!options_.sync || durable_lsn_ == end_lsn_) return ticket;
  ticket.path_ = segments_.back().path;
  ticket.fd_ = fcntl(tail_fd_, F_DUPFD_CLOEXEC, 0);
  if (ticket.fd_ < 0) return ErrnoError("duplicating the descriptor of", ticket.path_);
  return ticket;
}

absl::Status WalLog::EndSync(const SyncTicket& ticket, absl::Status synced) {
  if (!synced.ok()) {
    if (failed_.ok()) failed_ = synced;
    return synced;
  }
  RETURN_IF_ERROR(failed_);
  // A segment roll or a truncation in between synced at least as far.
  if (ticket.end() > durable_lsn_ && ticket.end() <= end_lsn_) durable_lsn_ = ticket.end();
  return absl::OkStatus();
}

absl::Status WalLog::WriteDecoded(Lsn lsn, std::span<const uint8_t> bytes) {
  RETURN_IF_ERROR(failed_);
  if (lsn != end_lsn_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "append at LSN %d, but the log ends at LSN %d", lsn.value(), end_lsn_.value()));
  }
  if (bytes.empty()) return absl::OkStatus();
  if (tail_bytes_ >= options_.segment_bytes) {
    absl::Status s = SealTail();
    if (s.ok()) s = StartSegment(end_lsn_);
    if (!s.ok()) {
      failed_ = s;  // the new segment may or may not be durable: stop here
      return s;
    }
  }
  const std::string& path = segments_.back().path;
  // What reached the disk is unknown after a failed write: nothing more is appended.
  auto fail = [&](const absl::Status& s) {
    failed_ = absl::Status(s.code(),
                           absl::StrFormat("append at LSN %d: %s", lsn.value(), s.message()));
    return failed_;
  };
  if (absl::Status s = WriteFully(tail_fd_, tail_bytes_, bytes.data(), bytes.size(), path);
      !s.ok()) {
    return fail(s);
  }
  const uint64_t data_end = tail_bytes_ + bytes.size();
  if (options_.zero_ahead_bytes > 0 && data_end >= tail_file_bytes_) {
    // Past the zeroed part: zero the next stretch with this append, which pays for its sync.
    const uint64_t step = options_.zero_ahead_bytes;
    const uint64_t zeroed_end = (data_end / step + 1) * step;
    if (absl::Status s = WriteZeros(tail_fd_, data_end, zeroed_end, path); !s.ok()) return fail(s);
    tail_file_bytes_ = zeroed_end;
  }
  tail_file_bytes_ = std::max(tail_file_bytes_, data_end);
  tail_bytes_ += bytes.size();
  end_lsn_ = end_lsn_ + bytes.size();
  return absl::OkStatus();
}

absl::Status WalLog::Scan(Lsn from, const std::function<absl::Status(wal::Mtr&)>& on_mtr) const {
  if (from < start_lsn() || from > end_lsn_) {
    return absl::OutOfRangeError(absl::StrFormat("LSN %d is outside the log (%d..%d)", from.value(),
                                                 start_lsn().value(), end_lsn_.value()));
  }
  size_t i = segments_.size() - 1;
  while (segments_[i].start > from) --i;
  wal::MtrDecoder decoder(from, {});
  wal::Mtr mtr;
  for (; i < segments_.size(); ++i) {
    const Segment& seg = segments_[i];
    const Lsn seg_end = i + 1 < segments_.size() ? segments_[i + 1].start : end_lsn_;
    const Lsn begin = std::max(seg.start, from);
    absl::Status s = DecodeFile(seg.path, begin - seg.start, seg_end - begin, decoder, mtr, on_mtr);
    if (absl::IsOutOfRange(s)) {
      return absl::DataLossError(absl::StrFormat("%s: %s", seg.path, s.message()));
    }
    RETURN_IF_ERROR(s);
  }
  if (decoder.next_lsn() != end_lsn_) {
    return absl::DataLossError(absl::StrFormat("the log ends inside the mini-transaction at LSN %d",
                                               decoder.next_lsn().value()));
  }
  return absl::OkStatus();
}

absl::Status WalLog::Read(Lsn lsn, std::span<uint8_t> out) const {
  if (lsn < start_lsn() || lsn + out.size() > end_lsn_) {
    return absl::OutOfRangeError(absl::StrFormat("LSN %d..%d is outside the stored log (%d..%d)",
                                                 lsn.value(), (lsn + out.size()).value(),
                                                 start_lsn().value(), end_lsn_.value()));
  }
  size_t i = segments_.size() - 1;
  while (segments_[i].start > lsn) --i;
  size_t done = 0;
  for (; done < out.size(); ++i) {
    const Segment& seg = segments_[i];
    const Lsn seg_end = i + 1 < segments_.size() ? segments_[i + 1].start : end_lsn_;
    const Lsn at = lsn + done;
    const size_t n = std::min<size_t>(out.size() - done, seg_end - at);
    const int fd = open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("open", seg.path);
    const absl::Status s = ReadFully(fd, at - seg.start, n, out.data() + done, seg.path);
    close(fd);
    RETURN_IF_ERROR(s);
    done += n;
  }
  return absl::OkStatus();
}

absl::Status WalLog::TruncateAfter(Lsn lsn) {
  RETURN_IF_ERROR(failed_);
  if (lsn < start_lsn() || lsn > end_lsn_) {
    return absl::OutOfRangeError(absl::StrFormat("LSN %d is outside the log (%d..%d)", lsn.value(),
                                                 start_lsn().value(), end_lsn_.value()));
  }
  while (segments_.size() > 1 && segments_.back().start >= lsn) {
    const Segment gone = segments_.back();
    close(tail_fd_);
    tail_fd_ = -1;
    segments_.pop_back();
    if (unlink(gone.path.c_str()) != 0 && errno != ENOENT) {
      failed_ = ErrnoError("remove", gone.path);
      return failed_;
    }
    if (absl::Status s = SyncDir(); !s.ok()) {
      failed_ = s;
      return s;
    }
    const Segment& last = segments_.back();
    tail_fd_ = open(last.path.c_str(), O_RDWR | O_CLOEXEC);
    if (tail_fd_ < 0) {
      failed_ = ErrnoError("open", last.path);
      return failed_;
    }
    tail_bytes_ = gone.start - last.start;
    tail_file_bytes_ = tail_bytes_;  // sealed when `gone` was begun
    end_lsn_ = gone.start;
  }
  // Zeroed rather than cut, so that the segment stays zeroed ahead (see the header).
  const Segment& last = segments_.back();
  const uint64_t keep = lsn - last.start;
  if (absl::Status s = WriteZeros(tail_fd_, keep, tail_bytes_, last.path); !s.ok()) {
    failed_ = s;
    return failed_;
  }
  if (options_.sync && fdatasync(tail_fd_) != 0) {
    failed_ = ErrnoError(absl::StrFormat("truncate at LSN %d", lsn.value()), last.path);
    return failed_;
  }
  tail_bytes_ = keep;
  end_lsn_ = lsn;
  durable_lsn_ = lsn;  // the sync above covered the segment's kept bytes; earlier ones were sealed
  return absl::OkStatus();
}

absl::Status WalLog::RemoveSegmentsBefore(Lsn lsn) {
  size_t remove = 0;
  while (remove + 1 < segments_.size() && segments_[remove + 1].start <= lsn) ++remove;
  if (remove == 0) return absl::OkStatus();
  for (size_t i = 0; i < remove; ++i) {
    if (unlink(segments_[i].path.c_str()) != 0 && errno != ENOENT) {
      absl::Status s = ErrnoError("remove", segments_[i].path);
      segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(i));
      return s;
    }
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(remove));
  return SyncDir();
}

}  // namespace pageserver::storage
