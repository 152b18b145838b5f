#include "compute/aux_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/aux_file_limits.h"
#include "common/file_io.h"
#include "common/status_macros.h"
#include "compute/server_patience.h"

namespace pageserver::compute {

AuxFiles::AuxFiles(client::PageServerClient& client, RedoShipper& shipper,
                   absl::Duration patience)
    : client_(client), shipper_(shipper), patience_(patience) {}

absl::StatusOr<FetchedAuxFiles> AuxFiles::FetchAll(const std::string& root, Lsn lsn) {
  ASSIGN_OR_RETURN(std::vector<client::AuxFile> listing, client_.ListAuxFiles(lsn));
  FetchedAuxFiles fetched;
  for (const client::AuxFile& entry : listing) {
    ASSIGN_OR_RETURN(client::AuxFile file, client_.GetAuxFile(entry.path, lsn));
    const std::filesystem::path path = std::filesystem::path(root) / file.path;
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return absl::InternalError(
          absl::StrFormat("creating %s: %s", path.parent_path().string(), ec.message()));
    }
    const int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0660);
    if (fd < 0) return ErrnoError("creating", path.string());
    absl::Status s = WriteFully(fd, 0, file.content.data(), file.content.size(), path.string());
    close(fd);
    RETURN_IF_ERROR(s);
    ++fetched.files;
    fetched.bytes += file.content.size();
  }
  return fetched;
}

absl::Status AuxFiles::Upload(const std::string& relative_path, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoError("stat of", relative_path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > kMaxAuxFileBytes) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s: %d bytes, more than the %d the page server keeps of one non-InnoDB file",
        relative_path, size, kMaxAuxFileBytes));
  }
  std::vector<uint8_t> content(size);
  RETURN_IF_ERROR(ReadFully(fd, 0, content.size(), content.data(), relative_path));
  const RedoShipper::AuxStamp stamp = shipper_.StampAuxChange();
  const Lsn lsn = stamp.lsn;
  if (absl::Status s = WithPatience(
          patience_, [&] { return client_.PutAuxFile(relative_path, lsn, content); }, [] {});
      !s.ok()) {
    return absl::Status(s.code(), absl::StrFormat("storing %s (%d bytes) at LSN %d: %s",
                                                  relative_path, size, lsn.value(), s.message()));
  }
  uploads_.fetch_add(1);
  return absl::OkStatus();
}

absl::Status AuxFiles::Delete(const std::string& relative_path) {
  const RedoShipper::AuxStamp stamp = shipper_.StampAuxChange();
  const Lsn lsn = stamp.lsn;
  if (absl::Status s = WithPatience(
          patience_, [&] { return client_.DeleteAuxFile(relative_path, lsn); }, [] {});
      !s.ok()) {
    return absl::Status(s.code(), absl::StrFormat("deleting %s at LSN %d: %s", relative_path,
                                                  lsn.value(), s.message()));
  }
  uploads_.fetch_add(1);
  return absl::OkStatus();
}

}  // namespace pageserver::compute
