#include "replay/tablespace_set.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/status_macros.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"

namespace pageserver::replay {
namespace {

constexpr uint32_t kPageSize = redo::kSupportedPageSize;

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrFormat("%s %s: %s", what, path, std::strerror(errno)));
}

}  // namespace

TablespaceSet::TablespaceSet(std::string out_dir, size_t max_cached_pages)
    : out_dir_(std::move(out_dir)), max_cached_pages_(max_cached_pages) {}

TablespaceSet::~TablespaceSet() {
  for (auto& [id, space] : spaces_) {
    if (space.fd >= 0) close(space.fd);
  }
}

std::string TablespaceSet::FullPath(const std::string& relative) const {
  return out_dir_ + "/" + relative;
}

// Paths come from the log: they must name a file inside the output tree.
static absl::Status CheckRelativePath(SpaceId space, const std::string& path) {
  if (!path.empty() && path[0] == '/') {
    return absl::FailedPreconditionError(absl::StrFormat(
        "tablespace %d lives outside the datadir (%s): DATA DIRECTORY tablespaces are not "
        "supported",
        space.value(), path));
  }
  for (const auto& part : std::filesystem::path(path)) {
    if (part == "..") {
      return absl::DataLossError(absl::StrFormat(
          "tablespace %d: path %s in the log leaves the datadir", space.value(), path));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TablespaceSet::Space*> TablespaceSet::Find(SpaceId space) {
  auto it = spaces_.find(space.value());
  if (it == spaces_.end()) {
    return absl::NotFoundError(absl::StrFormat(
        "tablespace %d has no file: it is not in the base datadir and no FILE_CREATE or "
        "FILE_MODIFY record named it",
        space.value()));
  }
  return &it->second;
}

absl::Status TablespaceSet::Open(SpaceId space, const std::string& relative_path) {
  if (auto it = spaces_.find(space.value()); it != spaces_.end()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("tablespace id %d is in two files, %s and %s", space.value(),
                        it->second.path, relative_path));
  }
  Space s;
  s.path = relative_path;
  const std::string full = FullPath(relative_path);
  s.fd = open(full.c_str(), O_RDWR | O_CLOEXEC);
  if (s.fd < 0) return Errno("open", full);
  spaces_[space.value()] = std::move(s);
  return RefreshFormat(space);
}

absl::Status TablespaceSet::Create(SpaceId space, const std::string& relative_path) {
  RETURN_IF_ERROR(CheckRelativePath(space, relative_path));
  if (auto it = spaces_.find(space.value()); it != spaces_.end()) {
    if (it->second.path == relative_path) return absl::OkStatus();
    return absl::DataLossError(
        absl::StrFormat("the log creates tablespace %d as %s, but it exists as %s", space.value(),
                        relative_path, it->second.path));
  }
  for (const auto& [id, other] : spaces_) {
    if (other.path == relative_path) {
      return absl::DataLossError(
          absl::StrFormat("the log creates tablespace %d as %s, which is tablespace %d's file",
                          space.value(), relative_path, id));
    }
  }
  const std::string full = FullPath(relative_path);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(full).parent_path(), ec);
  Space s;
  s.path = relative_path;
  // Never truncate: a file already there (one the base listing could not attribute, e.g. with an
  // unwritten page 0) keeps its bytes; the log initialises the pages it uses.
  s.fd = open(full.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0660);
  if (s.fd < 0) return Errno("create", full);
  spaces_[space.value()] = std::move(s);
  return absl::OkStatus();
}

absl::Status TablespaceSet::Rename(SpaceId space, const std::string& new_relative_path) {
  RETURN_IF_ERROR(CheckRelativePath(space, new_relative_path));
  ASSIGN_OR_RETURN(Space * s, Find(space));
  const std::string from = FullPath(s->path);
  const std::string to = FullPath(new_relative_path);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(to).parent_path(), ec);
  if (rename(from.c_str(), to.c_str()) != 0) return Errno("rename " + from + " to", to);
  s->path = new_relative_path;
  return absl::OkStatus();
}

void TablespaceSet::DropCachedPages(SpaceId space) {
  absl::erase_if(cache_, [&](const auto& entry) { return entry.first.space == space; });
  absl::erase_if(freed_, [&](const PageId& id) { return id.space == space; });
}

absl::Status TablespaceSet::Delete(SpaceId space) {
  ASSIGN_OR_RETURN(Space * s, Find(space));
  DropCachedPages(space);
  close(s->fd);
  const std::string full = FullPath(s->path);
  spaces_.erase(space.value());  // forgotten whatever unlink says: its descriptor is closed
  if (unlink(full.c_str()) != 0 && errno != ENOENT) return Errno("unlink", full);
  return absl::OkStatus();
}

absl::Status TablespaceSet::Trim(SpaceId space, uint32_t pages) {
  ASSIGN_OR_RETURN(Space * s, Find(space));
  struct stat st;
  if (fstat(s->fd, &st) != 0) return Errno("stat", FullPath(s->path));
  if (uint64_t{pages} * kPageSize > static_cast<uint64_t>(st.st_size)) {
    return absl::DataLossError(absl::StrFormat(
        "TRIM_PAGES would grow tablespace %d (%s) from %d to %d pages; it only shrinks",
        space.value(), s->path, st.st_size / kPageSize, pages));
  }
  // MariaDB discards the dirty pages of the truncated undo tablespace without writing them.
  // The file is truncated as soon as the mini-transaction is durable.
  DropCachedPages(space);
  if (ftruncate(s->fd, static_cast<off_t>(uint64_t{pages} * kPageSize)) != 0) {
    return Errno("truncate", FullPath(s->path));
  }
  s->trimmed_size = pages;
  s->initialized_since_trim.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::span<uint8_t>> TablespaceSet::Frame(PageId id, bool need_content) {
  auto it = cache_.find(id);
  if (it != cache_.end()) return std::span<uint8_t>(it->second.frame.get(), kPageSize);
  ASSIGN_OR_RETURN(Space * s, Find(id.space));
  CachedPage page;
  page.frame = std::make_unique_for_overwrite<uint8_t[]>(kPageSize);
  uint8_t* frame = page.frame.get();
  const off_t offset = static_cast<off_t>(uint64_t{id.page.value()} * kPageSize);
  size_t done = 0;
  while (need_content && done < kPageSize) {
    const ssize_t n =
        pread(s->fd, frame + done, kPageSize - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read " + ToString(id) + " from", FullPath(s->path));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  std::memset(frame + done, 0, kPageSize - done);  // past the end of the file: never written
  auto [pos, inserted] = cache_.emplace(id, std::move(page));
  return std::span<uint8_t>(pos->second.frame.get(), kPageSize);
}

void TablespaceSet::MarkDirty(PageId id) {
  if (auto it = cache_.find(id); it != cache_.end()) it->second.dirty = true;
}

void TablespaceSet::MarkFreed(PageId id) { freed_.insert(id); }

void TablespaceSet::MarkInitialized(PageId id) {
  freed_.erase(id);
  auto it = spaces_.find(id.space.value());
  if (it != spaces_.end() && it->second.trimmed_size) {
    it->second.initialized_since_trim.insert(id.page.value());
  }
}

absl::Status TablespaceSet::RefreshFormat(SpaceId space) {
  ASSIGN_OR_RETURN(std::span<uint8_t> page0, Frame(PageId{space, PageNo(0)}));
  ASSIGN_OR_RETURN(Space * s, Find(space));
  if (std::all_of(page0.begin(), page0.end(), [](uint8_t b) { return b == 0; })) {
    return absl::OkStatus();  // not initialised yet: the format comes with its first records
  }
  auto format = redo::ReadTablespaceFormat(page0, space);
  if (!format.ok()) {
    return absl::Status(format.status().code(),
                        absl::StrFormat("%s (file %s)", format.status().message(), s->path));
  }
  s->format = *format;
  return absl::OkStatus();
}

absl::Status TablespaceSet::WritePage(PageId id, uint8_t* frame) {
  ASSIGN_OR_RETURN(Space * s, Find(id.space));
  if (!s->format) {
    return absl::DataLossError(absl::StrFormat(
        "%s: page 0 of tablespace %d was never initialised, so its page format is unknown",
        ToString(id), id.space.value()));
  }
  redo::PrepareForWrite({frame, kPageSize}, id, s->format->full_crc32);
  const off_t offset = static_cast<off_t>(uint64_t{id.page.value()} * kPageSize);
  if (pwrite(s->fd, frame, kPageSize, offset) != static_cast<ssize_t>(kPageSize)) {
    return Errno("write " + ToString(id) + " to", FullPath(s->path));
  }
  ++pages_written_;
  return absl::OkStatus();
}

absl::Status TablespaceSet::FlushAll(bool drop) {
  std::vector<PageId> dirty;
  for (auto& [id, page] : cache_) {
    if (page.dirty && !freed_.count(id)) dirty.push_back(id);
  }
  std::sort(dirty.begin(), dirty.end());
  for (const PageId& id : dirty) {
    RETURN_IF_ERROR(WritePage(id, cache_[id].frame.get()));
    cache_[id].dirty = false;
  }
  if (drop) {
    // Freed dirty pages keep their frames: a later record may still read them.
    absl::erase_if(cache_, [&](const auto& entry) { return !entry.second.dirty; });
  }
  return absl::OkStatus();
}

absl::Status TablespaceSet::MaybeEvict() {
  if (cache_.size() <= max_cached_pages_) return absl::OkStatus();
  return FlushAll(true);
}

absl::StatusOr<std::vector<PageId>> TablespaceSet::Finish() {
  RETURN_IF_ERROR(FlushAll(false));
  std::vector<PageId> freed(freed_.begin(), freed_.end());
  for (auto& [id, s] : spaces_) {
    const SpaceId space(id);
    struct stat st;
    if (fstat(s.fd, &st) != 0) return Errno("stat", FullPath(s.path));
    const uint64_t file_pages = static_cast<uint64_t>(st.st_size) / kPageSize;
    if (s.trimmed_size) {
      // Pages below the truncated size that nothing re-initialised hold stale content.
      for (uint32_t p = 0; p < *s.trimmed_size; ++p) {
        if (!s.initialized_since_trim.count(p) && !freed_.count(PageId{space, PageNo(p)})) {
          freed.push_back(PageId{space, PageNo(p)});
        }
      }
    }
    // InnoDB extends files without logging it; FSP_SIZE says how far the space reaches.
    ASSIGN_OR_RETURN(std::span<uint8_t> page0, Frame(PageId{space, PageNo(0)}));
    const uint64_t target_pages =
        std::max<uint64_t>(file_pages, ReadBe32(page0.data() + redo::kFspSize));
    if (target_pages != file_pages &&
        ftruncate(s.fd, static_cast<off_t>(target_pages * kPageSize)) != 0) {
      return Errno("resize", FullPath(s.path));
    }
    if (fsync(s.fd) != 0) return Errno("fsync", FullPath(s.path));
  }
  std::sort(freed.begin(), freed.end());
  return freed;
}

}  // namespace pageserver::replay
