// Whole reads and writes at an offset (pread/pwrite loops that retry EINTR and short transfers),
// returning a Status that names the file and the offset. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pageserver {

// Reads exactly `size` bytes at `offset`; the file ending first is DataLoss.
absl::Status ReadFully(int fd, uint64_t offset, size_t size, uint8_t* out, const std::string& path);
// Writes exactly `size` bytes at `offset`.
absl::Status WriteFully(int fd, uint64_t offset, const uint8_t* data, size_t size,
                        const std::string& path);

// InternalError "<what> <path>: <strerror(errno)>".
absl::Status ErrnoError(std::string_view what, const std::string& path);

// Opens `path` read-only (close-on-exec) into *fd and returns its size.
absl::StatusOr<uint64_t> OpenForReading(const std::string& path, int* fd);

// The whole file.
absl::StatusOr<std::vector<uint8_t>> ReadWholeFile(const std::string& path);

// fsyncs a directory, so that creations, renames and removals in it are durable.
absl::Status SyncDirectory(const std::string& dir);

// The last step of writing an immutable file: fsync `fd` (and close it), rename `tmp_path` to
// `path`, fsync the directory. After an OK return the file is durable under its final name;
// before it, a crash leaves at most the temporary file.
absl::Status SyncAndPublish(int fd, const std::string& tmp_path, const std::string& path);

// Replaces `path` with `text` atomically and durably: written to `path`.tmp, fsynced, renamed,
// the directory fsynced. A crash leaves the old file or the new one, never a mix.
absl::Status WriteFileAtomically(const std::string& path, std::string_view text);

// An immutable file being written: it lives as `path` + ".tmp" until Publish (SyncAndPublish)
// gives it its name; destroyed before that, it is removed. Owns its descriptor.
class PendingFile {
 public:
  static absl::StatusOr<std::unique_ptr<PendingFile>> Create(const std::string& path);
  ~PendingFile();
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

  absl::Status WriteAt(uint64_t offset, const uint8_t* data, size_t size) {
    return WriteFully(fd_, offset, data, size, tmp_path_);
  }
  absl::Status Publish();
  bool published() const { return published_; }

 private:
  PendingFile() = default;
  std::string path_;
  std::string tmp_path_;
  int fd_ = -1;
  bool published_ = false;
};

}  // namespace pageserver
