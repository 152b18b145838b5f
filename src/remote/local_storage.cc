#include "remote/local_storage.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cerrno>
#include <filesystem>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "common/file_io.h"
#include "common/status_macros.h"

namespace pageserver::remote {
namespace {

namespace fs = std::filesystem;
constexpr char kTmpDir[] = ".tmp";

}  // namespace

absl::StatusOr<std::unique_ptr<LocalStorage>> LocalStorage::Open(const std::string& root) {
  if (root.empty() || root[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrFormat("a local remote storage needs an absolute path, not \"%s\"", root));
  }
  std::error_code ec;
  fs::create_directories(fs::path(root) / kTmpDir, ec);
  if (ec) return absl::InternalError(absl::StrFormat("creating %s: %s", root, ec.message()));
  // Leftovers of puts a crash interrupted: never linked to a key, nobody's objects. A name
  // starts with its writer's pid; a live writer's (another instance on the same root) stay.
  for (auto it = fs::directory_iterator(fs::path(root) / kTmpDir, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const pid_t writer = static_cast<pid_t>(std::atoll(it->path().filename().c_str()));
    if (writer > 0 && (kill(writer, 0) == 0 || errno != ESRCH)) continue;
    fs::remove(it->path(), ec);
  }
  if (ec) return absl::InternalError(absl::StrFormat("cleaning %s/.tmp: %s", root, ec.message()));
  std::string normal = fs::path(root).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return std::unique_ptr<LocalStorage>(new LocalStorage(normal));
}

absl::Status LocalStorage::PutIfAbsent(const std::string& key, std::span<const uint8_t> data) {
  RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  const fs::path dir = fs::path(path).parent_path();
  // Every directory created on the way must be durable in its parent.
  std::vector<fs::path> created;
  for (fs::path d = dir; d.string().size() > root_.size() && !fs::exists(d); d = d.parent_path()) {
    created.push_back(d);
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrFormat("creating %s: %s", dir.string(), ec.message()));
  for (const fs::path& d : created) RETURN_IF_ERROR(SyncDirectory(d.parent_path().string()));

  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::string tmp = absl::StrFormat("%s/%s/%d.%d.%x", root_, kTmpDir, getpid(),
                                          next_tmp_.fetch_add(1), rng());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoError("creating", tmp);
  absl::Status written = WriteFully(fd, 0, data.data(), data.size(), tmp);
  if (written.ok() && fsync(fd) != 0) written = ErrnoError("syncing", tmp);
  close(fd);
  if (!written.ok()) {
    unlink(tmp.c_str());
    return written;
  }
  // link(2) refuses an existing name: the object is created whole, or not at all.
  if (link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    if (err == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrFormat("%s/%s exists; objects are never overwritten", Describe(), key));
    }
    errno = err;
    return ErrnoError("linking", path);
  }
  RETURN_IF_ERROR(SyncDirectory(dir.string()));
  unlink(tmp.c_str());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> LocalStorage::Get(const std::string& key, ByteRange range) {
  RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  struct stat st;
  if (stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    return absl::NotFoundError(absl::StrFormat("%s/%s: no such object", Describe(), key));
  }
  int fd = -1;
  ASSIGN_OR_RETURN(const uint64_t size_value, OpenForReading(path, &fd));
  const uint64_t* size = &size_value;
  if (range.offset > *size) {
    close(fd);
    return absl::OutOfRangeError(absl::StrFormat("%s/%s: offset %d is past its end (%d bytes)",
                                                 Describe(), key, range.offset, *size));
  }
  const uint64_t n = std::min(*size - range.offset, range.length.value_or(*size));
  std::vector<uint8_t> out(n);
  const absl::Status read = ReadFully(fd, range.offset, n, out.data(), path);
  close(fd);
  RETURN_IF_ERROR(read);
  return out;
}

absl::StatusOr<std::vector<ObjectInfo>> LocalStorage::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::error_code ec;
  const fs::path tmp = fs::path(root_) / kTmpDir;
  for (auto it = fs::recursive_directory_iterator(root_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path() == tmp) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    std::string key = it->path().string().substr(root_.size() + 1);
    if (!absl::StartsWith(key, prefix)) continue;
    const uint64_t size = it->file_size(ec);
    if (ec) break;
    out.push_back({std::move(key), size});
  }
  // An object deleted while listing is simply not listed.
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return absl::InternalError(absl::StrFormat("listing %s: %s", Describe(), ec.message()));
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

absl::Status LocalStorage::Delete(const std::string& key) {
  RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  if (unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoError("deleting", path);
  }
  return SyncDirectory(fs::path(path).parent_path().string());
}

}  // namespace pageserver::remote
