#define FUSE_USE_VERSION 31
#include "compute/compute_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fuse.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/file_io.h"
#include "common/status_macros.h"
#include "wal/record.h"

namespace pageserver::compute {
namespace {

// An open file: the shadow descriptor and the file's node.
struct Handle {
  int fd;
  std::shared_ptr<ComputeFs::Node> node;
};

ComputeFs& Fs() { return *static_cast<ComputeFs*>(fuse_get_context()->private_data); }
Handle& HandleOf(fuse_file_info* fi) { return *reinterpret_cast<Handle*>(fi->fh); }
std::string Relative(const char* path) { return path[0] == '/' ? path + 1 : path; }

int FsGetattr(const char* path, struct stat* st, fuse_file_info* fi) {
  const int r = fi ? fstat(HandleOf(fi).fd, st) : lstat(Fs().ShadowPath(path).c_str(), st);
  return r == 0 ? 0 : -errno;
}

int FsOpendir(const char* path, fuse_file_info* fi) {
  DIR* dir = opendir(Fs().ShadowPath(path).c_str());
  if (!dir) return -errno;
  fi->fh = reinterpret_cast<uint64_t>(dir);
  return 0;
}

int FsReaddir(const char*, void* buf, fuse_fill_dir_t filler, off_t, fuse_file_info* fi,
              fuse_readdir_flags) {
  DIR* dir = reinterpret_cast<DIR*>(fi->fh);
  rewinddir(dir);
  while (dirent* e = readdir(dir)) {
    struct stat st{};
    st.st_ino = e->d_ino;
    st.st_mode = static_cast<mode_t>(DTTOIF(e->d_type));
    if (filler(buf, e->d_name, &st, 0, static_cast<fuse_fill_dir_flags>(0))) break;
  }
  return 0;
}

int FsReleasedir(const char*, fuse_file_info* fi) {
  closedir(reinterpret_cast<DIR*>(fi->fh));
  return 0;
}

int FsMkdir(const char* path, mode_t mode) {
  return mkdir(Fs().ShadowPath(path).c_str(), mode) == 0 ? 0 : -errno;
}

int FsRmdir(const char* path) { return rmdir(Fs().ShadowPath(path).c_str()) == 0 ? 0 : -errno; }

int FsUnlink(const char* path) { return Fs().Unlink(path); }

int FsRename(const char* from, const char* to, unsigned int flags) {
  return Fs().Rename(from, to, flags);
}

int OpenShadow(const char* path, int flags, mode_t mode, fuse_file_info* fi,
               std::shared_ptr<ComputeFs::Node> node) {
  // The shadow of an InnoDB data file only keeps the size; it is never read or written. An aux
  // file's shadow is read for its upload even when mariadbd opened it write-only.
  int shadow_flags = (flags & ~(O_DIRECT | O_APPEND)) | O_CLOEXEC;
  if ((shadow_flags & O_ACCMODE) == O_WRONLY) shadow_flags = (shadow_flags & ~O_ACCMODE) | O_RDWR;
  const int fd = open(Fs().ShadowPath(path).c_str(), shadow_flags, mode);
  if (fd < 0) return -errno;
  // Data files and ib_logfile0 go through the kernel's page cache (writes are still passed on
  // one by one: no write-back cache). For data files it is the compute's page cache: it holds
  // what mariadbd wrote (the server's page at that FIL_PAGE_LSN; --verify-writes checks it) and
  // what the server answered, and nothing else changes the files. It is kept across opens. For
  // the log, a write's bytes are taken during mariadbd's write call, as on a local file system,
  // not later when a FUSE thread reads the request (redo_shipper.h).
  if (node->cls == FileClass::kInnodbData) fi->keep_cache = 1;
  if (IsAuxInCompute(node->cls) && (flags & (O_TRUNC | O_CREAT))) {
    std::lock_guard<std::mutex> lock(node->mu);
    node->dirty = true;
  }
  fi->fh = reinterpret_cast<uint64_t>(new Handle{fd, std::move(node)});
  return 0;
}

int FsOpen(const char* path, fuse_file_info* fi) {
  return OpenShadow(path, fi->flags, 0, fi, Fs().NodeFor(Relative(path)));
}

int FsCreate(const char* path, mode_t mode, fuse_file_info* fi) {
  return OpenShadow(path, fi->flags | O_CREAT, mode, fi, Fs().NewNode(Relative(path)));
}

int FsRead(const char*, char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  Handle& h = HandleOf(fi);
  ComputeFs::Node& node = *h.node;
  if (node.cls == FileClass::kRedoLog) {
    absl::StatusOr<size_t> n = Fs().shipper().Read(
        static_cast<uint64_t>(offset), {reinterpret_cast<uint8_t*>(buf), size});
    return n.ok() ? static_cast<int>(*n) : ReportError("reading", node.path, n.status());
  }
  if (node.cls != FileClass::kInnodbData) {
    const ssize_t n = pread(h.fd, buf, size, offset);
    return n >= 0 ? static_cast<int>(n) : -errno;
  }
  struct stat st;
  if (fstat(h.fd, &st) != 0) return -errno;
  if (offset >= st.st_size) return 0;
  size = std::min<uint64_t>(size, static_cast<uint64_t>(st.st_size - offset));
  absl::StatusOr<SpaceId> space = Fs().SpaceOf(node);
  if (!space.ok()) return ReportError("reading", node.path, space.status());
  absl::Status s = Fs().pages().Read(*space, node.path, static_cast<uint64_t>(offset),
                                     {reinterpret_cast<uint8_t*>(buf), size});
  return s.ok() ? static_cast<int>(size) : ReportError("reading", node.path, s);
}

// Grows a placeholder to `end` bytes when it is shorter.
int ExtendPlaceholder(int fd, uint64_t end) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  if (end > static_cast<uint64_t>(st.st_size) && ftruncate(fd, static_cast<off_t>(end)) != 0) {
    return -errno;
  }
  return 0;
}

int FsWrite(const char*, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  Handle& h = HandleOf(fi);
  ComputeFs::Node& node = *h.node;
  std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(buf), size);
  switch (node.cls) {
    case FileClass::kRedoLog: {
      absl::Status s = Fs().shipper().Write(static_cast<uint64_t>(offset), data);
      return s.ok() ? static_cast<int>(size) : ReportError("writing", node.path, s);
    }
    case FileClass::kInnodbData: {
      const bool zeros = std::all_of(data.begin(), data.end(), [](uint8_t b) { return b == 0; });
      SpaceId space(~0u);  // an extension written as zeros needs no tablespace
      bool gone = false;   // unlinked (or replaced) before it was ever resolved: unreachable
      {
        std::lock_guard<std::mutex> lock(node.mu);
        gone = node.path.empty() && !node.space;
      }
      if (!zeros && !gone) {
        absl::StatusOr<SpaceId> known = Fs().SpaceOf(node);
        if (!known.ok()) return ReportError("writing", node.path, known.status());
        space = *known;
        absl::Status s = Fs().pages().Write(space, node.path, static_cast<uint64_t>(offset), data);
        if (!s.ok()) return ReportError("writing", node.path, s);
      }
      const int r = ExtendPlaceholder(h.fd, static_cast<uint64_t>(offset) + size);
      return r == 0 ? static_cast<int>(size) : r;
    }
    default:
      break;
  }
  const ssize_t n = pwrite(h.fd, buf, size, offset);
  if (n < 0) return -errno;
  if (IsAuxInCompute(node.cls)) {
    std::lock_guard<std::mutex> lock(node.mu);
    node.dirty = true;
  }
  return static_cast<int>(n);
}

int FsTruncate(const char* path, off_t size, fuse_file_info* fi) {
  std::shared_ptr<ComputeFs::Node> node =
      fi ? HandleOf(fi).node : Fs().NodeFor(Relative(path));
  const int fd = fi ? HandleOf(fi).fd : open(Fs().ShadowPath(path).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  int r = ftruncate(fd, size) == 0 ? 0 : -errno;
  if (r == 0 && IsAuxInCompute(node->cls)) {
    std::lock_guard<std::mutex> lock(node->mu);
    node->dirty = true;
    if (!fi) {  // no descriptor whose close would upload it
      absl::Status s = Fs().SyncAux(*node, fd);
      if (!s.ok()) r = ReportError("truncating", node->path, s);
    }
  }
  if (!fi) close(fd);
  return r;
}

int FsFallocate(const char*, int mode, off_t offset, off_t length, fuse_file_info* fi) {
  Handle& h = HandleOf(fi);
  if (h.node->cls == FileClass::kInnodbData) {
    // InnoDB extends files this way; a punched hole (a freed page) changes nothing here.
    if (mode != 0) return 0;
    return ExtendPlaceholder(h.fd, static_cast<uint64_t>(offset + length));
  }
  return fallocate(h.fd, mode, offset, length) == 0 ? 0 : -errno;
}

int FsFsync(const char*, int, fuse_file_info* fi) {
  Handle& h = HandleOf(fi);
  ComputeFs::Node& node = *h.node;
  if (node.cls == FileClass::kRedoLog) {
    absl::StatusOr<Lsn> durable = Fs().shipper().Flush();
    return durable.ok() ? 0 : ReportError("syncing", node.path, durable.status());
  }
  if (IsAuxInCompute(node.cls)) {
    std::lock_guard<std::mutex> lock(node.mu);
    absl::Status s = Fs().SyncAux(node, h.fd);
    return s.ok() ? 0 : ReportError("syncing", node.path, s);
  }
  return 0;  // nothing local is durable; InnoDB pages are the server's
}

int FsRelease(const char*, fuse_file_info* fi) {
  Handle* h = &HandleOf(fi);
  if (IsAuxInCompute(h->node->cls)) {
    std::lock_guard<std::mutex> lock(h->node->mu);
    absl::Status s = Fs().SyncAux(*h->node, h->fd);
    if (!s.ok()) ReportError("closing", h->node->path, s);  // stays dirty: the next sync retries
  }
  close(h->fd);
  delete h;
  return 0;
}

int FsStatfs(const char* path, struct statvfs* st) {
  return statvfs(Fs().ShadowPath(path).c_str(), st) == 0 ? 0 : -errno;
}

int FsChmod(const char* path, mode_t mode, fuse_file_info* fi) {
  const int r = fi ? fchmod(HandleOf(fi).fd, mode) : chmod(Fs().ShadowPath(path).c_str(), mode);
  return r == 0 ? 0 : -errno;
}

int FsChown(const char* path, uid_t uid, gid_t gid, fuse_file_info* fi) {
  const int r = fi ? fchown(HandleOf(fi).fd, uid, gid)
                   : lchown(Fs().ShadowPath(path).c_str(), uid, gid);
  return r == 0 ? 0 : -errno;
}

int FsUtimens(const char* path, const timespec tv[2], fuse_file_info* fi) {
  const int r = fi ? futimens(HandleOf(fi).fd, tv)
                   : utimensat(AT_FDCWD, Fs().ShadowPath(path).c_str(), tv, AT_SYMLINK_NOFOLLOW);
  return r == 0 ? 0 : -errno;
}

int FsAccess(const char* path, int mask) {
  return access(Fs().ShadowPath(path).c_str(), mask) == 0 ? 0 : -errno;
}

void* FsInit(fuse_conn_info*, fuse_config* cfg) {
  cfg->use_ino = 0;
  cfg->nullpath_ok = 1;  // every operation on an open file goes through its Handle
  cfg->hard_remove = 1;  // an unlinked open file keeps its Handle, not a .fuse_hidden name
  return fuse_get_context()->private_data;
}

fuse_operations MakeOperations() {
  fuse_operations ops{};
  ops.init = FsInit;
  ops.getattr = FsGetattr;
  ops.opendir = FsOpendir;
  ops.readdir = FsReaddir;
  ops.releasedir = FsReleasedir;
  ops.mkdir = FsMkdir;
  ops.rmdir = FsRmdir;
  ops.unlink = FsUnlink;
  ops.rename = FsRename;
  ops.open = FsOpen;
  ops.create = FsCreate;
  ops.read = FsRead;
  ops.write = FsWrite;
  ops.truncate = FsTruncate;
  ops.fallocate = FsFallocate;
  ops.fsync = FsFsync;
  ops.release = FsRelease;
  ops.statfs = FsStatfs;
  ops.chmod = FsChmod;
  ops.chown = FsChown;
  ops.utimens = FsUtimens;
  ops.access = FsAccess;
  return ops;
}

}  // namespace

int ReportError(const char* what, const std::string& path, const absl::Status& status) {
  std::fprintf(stderr, "compute: %s %s: %s\n", what, path.c_str(),
               std::string(status.message()).c_str());
  return absl::IsNotFound(status) ? -ENOENT : -EIO;
}

ComputeFs::ComputeFs(std::string shadow_root, client::PageServerClient& client,
                     RedoShipper& shipper, PageIo& pages, AuxFiles& aux)
    : shadow_root_(std::move(shadow_root)), client_(client), shipper_(shipper), pages_(pages),
      aux_(aux) {}

ComputeFs::~ComputeFs() { Unmount(); }

std::string ComputeFs::ShadowPath(const char* path) const {
  return shadow_root_ + (path[0] == '/' ? "" : "/") + path;
}

absl::Status ComputeFs::AddTablespace(const std::string& relative_path, SpaceId space,
                                      uint64_t bytes) {
  const std::string shadow = ShadowPath(relative_path.c_str());
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(shadow).parent_path(), ec);
  const int fd = open(shadow.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0660);
  if (fd < 0) return ErrnoError("creating", shadow);
  const int r = ftruncate(fd, static_cast<off_t>(bytes));
  close(fd);
  if (r != 0) return ErrnoError("sizing", shadow);
  std::shared_ptr<Node> node = NewNode(relative_path);
  node->space = space;
  return absl::OkStatus();
}

std::shared_ptr<ComputeFs::Node> ComputeFs::NodeFor(const std::string& relative) {
  std::lock_guard<std::mutex> lock(nodes_mu_);
  std::shared_ptr<Node>& node = nodes_[relative];
  if (!node) node = std::make_shared<Node>(ClassifyDatadirPath(relative), relative);
  return node;
}

std::shared_ptr<ComputeFs::Node> ComputeFs::NewNode(const std::string& relative) {
  auto node = std::make_shared<Node>(ClassifyDatadirPath(relative), relative);
  std::lock_guard<std::mutex> lock(nodes_mu_);
  std::shared_ptr<Node>& slot = nodes_[relative];
  if (slot) {
    std::lock_guard<std::mutex> old(slot->mu);
    slot->path.clear();
  }
  slot = node;
  return node;
}

absl::StatusOr<SpaceId> ComputeFs::SpaceOf(Node& node) {
  std::lock_guard<std::mutex> lock(node.mu);
  if (node.space) return *node.space;
  // A file mariadbd created: InnoDB logs FILE_CREATE (and makes it durable) before it creates
  // the file, so the server knows the tablespace once the log is shipped.
  ASSIGN_OR_RETURN(const Lsn durable, shipper_.Flush());
  ASSIGN_OR_RETURN(client::TablespaceList list, client_.ListTablespaces(durable));
  for (const client::Tablespace& t : list.tablespaces) {
    if (wal::NormalizeRelativePath(t.path) == node.path) {
      node.space = t.space;
      return t.space;
    }
  }
  return absl::NotFoundError(absl::StrFormat(
      "%s is not a tablespace the page server knows at LSN %d", node.path, durable.value()));
}

absl::Status ComputeFs::SyncAux(Node& node, int fd) {
  if (!node.dirty || node.path.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(aux_.Upload(node.path, fd));
  node.dirty = false;
  return absl::OkStatus();
}

int ComputeFs::Unlink(const char* path) {
  const std::string relative = Relative(path);
  std::lock_guard<std::mutex> lock(nodes_mu_);
  if (unlink(ShadowPath(path).c_str()) != 0) return -errno;
  FileClass cls = ClassifyDatadirPath(relative);
  if (auto it = nodes_.find(relative); it != nodes_.end()) {
    std::lock_guard<std::mutex> node(it->second->mu);
    cls = it->second->cls;
    it->second->path.clear();
    nodes_.erase(it);
  }
  if (IsAuxInCompute(cls)) {
    absl::Status s = aux_.Delete(relative);
    if (!s.ok()) return ReportError("deleting", relative, s);
  }
  return 0;
}

int ComputeFs::Rename(const char* from, const char* to, unsigned int flags) {
  const std::string old_name = Relative(from), new_name = Relative(to);
  std::lock_guard<std::mutex> lock(nodes_mu_);
  const std::string shadow_from = ShadowPath(from), shadow_to = ShadowPath(to);
  struct stat st;
  if (lstat(shadow_from.c_str(), &st) != 0) return -errno;
  if (S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "compute: renaming directory %s: not supported\n", old_name.c_str());
    return -ENOTSUP;
  }
  if (flags != 0) return -EINVAL;  // RENAME_NOREPLACE / RENAME_EXCHANGE: InnoDB uses neither
  if (rename(shadow_from.c_str(), shadow_to.c_str()) != 0) return -errno;
  std::shared_ptr<Node> node;
  if (auto it = nodes_.find(old_name); it != nodes_.end()) {
    node = it->second;
    nodes_.erase(it);
  } else {
    node = std::make_shared<Node>(ClassifyDatadirPath(old_name), old_name);
  }
  if (auto it = nodes_.find(new_name); it != nodes_.end()) {  // the file it replaces
    std::lock_guard<std::mutex> replaced(it->second->mu);
    it->second->path.clear();
  }
  nodes_[new_name] = node;
  std::lock_guard<std::mutex> moved(node->mu);
  node->path = new_name;
  if (!IsAuxInCompute(node->cls)) return 0;
  // The new name first: a crash between the two leaves both names, never neither.
  const int fd = open(shadow_to.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  node->dirty = true;
  absl::Status s = SyncAux(*node, fd);
  close(fd);
  if (s.ok()) s = aux_.Delete(old_name);
  return s.ok() ? 0 : ReportError("renaming", old_name + " to " + new_name, s);
}

absl::Status ComputeFs::Mount(const std::string& mountpoint) {
  static const fuse_operations kOperations = MakeOperations();
  std::vector<std::string> argv_storage = {"pageserver-compute", "-o",
                                           "fsname=pageserver,subtype=compute"};
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_ = fuse_new(&args, &kOperations, sizeof kOperations, this);
  // fuse_new may copy the arguments to a list of its own (it adds options): that list is ours.
  fuse_opt_free_args(&args);
  if (!fuse_) return absl::InternalError("fuse_new failed (see the message above)");
  if (fuse_mount(fuse_, mountpoint.c_str()) != 0) {
    fuse_destroy(fuse_);
    fuse_ = nullptr;
    return absl::UnavailableError(absl::StrFormat(
        "mounting the compute's filesystem at %s failed (is /dev/fuse usable?)", mountpoint));
  }
  mountpoint_ = mountpoint;
  loop_ = std::thread([f = fuse_] { fuse_loop_mt(f, 0); });
  return absl::OkStatus();
}

void ComputeFs::Unmount() {
  if (!fuse_) return;
  fuse_exit(fuse_);
  fuse_unmount(fuse_);  // wakes the loop: its /dev/fuse channel closes
  if (loop_.joinable()) loop_.join();
  fuse_destroy(fuse_);
  fuse_ = nullptr;
}

}  // namespace pageserver::compute
