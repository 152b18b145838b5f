#include "storage/layer_file.h"

#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_format.h"
#include "common/file_io.h"
#include "common/status_macros.h"

namespace pageserver::storage {

LayerFile::LayerFile(std::string path, uint64_t size, int fd)
    : path_(std::move(path)), size_(size), fd_(fd) {
  last_read_ns_ = absl::ToUnixNanos(absl::Now());
}

LayerFile::~LayerFile() {
  absl::MutexLock l(&mu_);
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<std::shared_ptr<LayerFile>> LayerFile::Open(const std::string& path) {
  int fd = -1;
  absl::StatusOr<uint64_t> size = OpenForReading(path, &fd);
  if (!size.ok()) {
    if (fd >= 0) close(fd);
    return size.status();
  }
  return std::shared_ptr<LayerFile>(new LayerFile(path, *size, fd));
}

void LayerFile::SetRemote(Download download, RemoteRead remote_read, MayDownload may_download,
                          OnDownload on_download) {
  absl::MutexLock l(&mu_);
  download_ = std::move(download);
  remote_read_ = std::move(remote_read);
  may_download_ = std::move(may_download);
  on_download_ = std::move(on_download);
}

bool LayerFile::resident() const {
  absl::ReaderMutexLock l(&mu_);
  return fd_ >= 0;
}

bool LayerFile::evictable() const {
  absl::ReaderMutexLock l(&mu_);
  return download_ != nullptr;
}

absl::Status LayerFile::ReadAt(uint64_t offset, size_t size, uint8_t* out) const {
  last_read_ns_.store(absl::ToUnixNanos(absl::Now()), std::memory_order_relaxed);
  {
    absl::ReaderMutexLock l(&mu_);
    if (fd_ >= 0) return ReadFully(fd_, offset, size, out, path_);
  }
  MayDownload may_download;
  RemoteRead remote_read;
  {
    absl::ReaderMutexLock l(&mu_);
    may_download = may_download_;
    remote_read = remote_read_;
  }
  // Asked with no lock held: the timeline may evict other files to make room.
  if (remote_read && may_download && !may_download(*this)) {
    remote_reads_.fetch_add(1, std::memory_order_relaxed);
    return remote_read(offset, size, out);
  }
  OnDownload downloaded;
  absl::Status read;
  {
    absl::MutexLock l(&mu_);
    if (fd_ < 0) {
      RETURN_IF_ERROR(DownloadLocked());
      downloaded = on_download_;
    }
    read = ReadFully(fd_, offset, size, out, path_);
  }
  if (downloaded) downloaded();
  return read;
}

absl::Status LayerFile::DownloadLocked() const {
  if (!download_) {
    return absl::FailedPreconditionError(
        absl::StrFormat("layer file %s is not on the local disk and has no remote copy", path_));
  }
  RETURN_IF_ERROR(download_(path_));
  int fd = -1;
  absl::StatusOr<uint64_t> size = OpenForReading(path_, &fd);
  if (size.ok() && *size != size_) {
    size = absl::DataLossError(absl::StrFormat(
        "layer file %s: the remote copy holds %d bytes, the file had %d", path_, *size, size_));
  }
  if (!size.ok()) {
    if (fd >= 0) close(fd);
    unlink(path_.c_str());
    return size.status();
  }
  fd_ = fd;
  downloads_.fetch_add(1);
  return absl::OkStatus();
}

absl::Status LayerFile::Evict() {
  absl::MutexLock l(&mu_);
  if (!download_) {
    return absl::FailedPreconditionError(
        absl::StrFormat("layer file %s has no remote copy: it cannot be evicted", path_));
  }
  if (fd_ < 0) return absl::OkStatus();
  if (unlink(path_.c_str()) != 0 && errno != ENOENT) return ErrnoError("unlink", path_);
  close(fd_);
  fd_ = -1;
  return absl::OkStatus();
}

}  // namespace pageserver::storage
