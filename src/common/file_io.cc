#include "common/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace pageserver {

absl::Status ReadFully(int fd, uint64_t offset, size_t size, uint8_t* out,
                       const std::string& path) {
  while (size > 0) {
    const ssize_t n = pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::InternalError(
          absl::StrFormat("%s: read at offset %d: %s", path, offset, std::strerror(errno)));
    }
    if (n == 0) {
      return absl::DataLossError(
          absl::StrFormat("%s: the file ends before offset %d", path, offset));
    }
    out += n;
    offset += static_cast<uint64_t>(n);
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WriteFully(int fd, uint64_t offset, const uint8_t* data, size_t size,
                        const std::string& path) {
  while (size > 0) {
    const ssize_t n = pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::InternalError(absl::StrFormat("%s: write at offset %d: %s", path, offset,
                                                 n < 0 ? std::strerror(errno) : "no progress"));
    }
    data += n;
    offset += static_cast<uint64_t>(n);
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status ErrnoError(std::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrFormat("%s %s: %s", what, path, std::strerror(errno)));
}

absl::StatusOr<uint64_t> OpenForReading(const std::string& path, int* fd) {
  *fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (*fd < 0) return ErrnoError("open", path);
  struct stat st;
  if (fstat(*fd, &st) != 0) return ErrnoError("stat", path);
  return static_cast<uint64_t>(st.st_size);
}

absl::StatusOr<std::vector<uint8_t>> ReadWholeFile(const std::string& path) {
  int fd = -1;
  absl::StatusOr<uint64_t> size = OpenForReading(path, &fd);
  if (!size.ok()) {
    if (fd >= 0) close(fd);
    return size.status();
  }
  std::vector<uint8_t> bytes(*size);
  const absl::Status read = ReadFully(fd, 0, bytes.size(), bytes.data(), path);
  close(fd);
  if (!read.ok()) return read;
  return bytes;
}

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", dir);
  const int rc = fsync(fd);
  close(fd);
  return rc == 0 ? absl::OkStatus() : ErrnoError("fsync", dir);
}

absl::Status SyncAndPublish(int fd, const std::string& tmp_path, const std::string& path) {
  const int sync_rc = fsync(fd);
  const int sync_errno = errno;
  close(fd);
  if (sync_rc != 0) {
    errno = sync_errno;
    return ErrnoError("fsync", tmp_path);
  }
  if (rename(tmp_path.c_str(), path.c_str()) != 0) return ErrnoError("rename to", path);
  return SyncDirectory(std::filesystem::path(path).parent_path().string());
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoError("create", tmp);
  if (absl::Status s =
          WriteFully(fd, 0, reinterpret_cast<const uint8_t*>(text.data()), text.size(), tmp);
      !s.ok()) {
    close(fd);
    return s;
  }
  return SyncAndPublish(fd, tmp, path);
}

absl::StatusOr<std::unique_ptr<PendingFile>> PendingFile::Create(const std::string& path) {
  std::unique_ptr<PendingFile> f(new PendingFile());
  f->path_ = path;
  f->tmp_path_ = path + ".tmp";
  f->fd_ = open(f->tmp_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (f->fd_ < 0) return ErrnoError("create", f->tmp_path_);
  return f;
}

PendingFile::~PendingFile() {
  if (fd_ >= 0) close(fd_);
  if (!published_) unlink(tmp_path_.c_str());
}

absl::Status PendingFile::Publish() {
  if (published_) return absl::FailedPreconditionError(path_ + " is already published");
  const int fd = fd_;
  fd_ = -1;  // SyncAndPublish closes it
  RETURN_IF_ERROR(SyncAndPublish(fd, tmp_path_, path_));
  published_ = true;
  return absl::OkStatus();
}

}  // namespace pageserver
