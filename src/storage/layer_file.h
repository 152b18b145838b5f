// LayerFile: the bytes of one immutable layer file, either resident on the local disk or evicted
// (the local copy removed, the bucket's copy kept). With remote storage the local disk is a cache
// of the bucket: the timeline evicts the least recently read layers to stay within its disk
// budget (Neon's on-demand download). A read of an evicted file downloads it whole when the
// timeline finds room for it without evicting a file read recently; otherwise it reads just the
// bytes it needs from the bucket (a ranged GET). So a working set larger than the budget is
// served from the bucket instead of thrashing whole downloads, and the budget always holds.
//
// A layer object (ImageLayer, DeltaLayer) keeps what it learnt at open (its summary, sparse index
// and page filter) in memory, so a lookup of a page the layer does not hold never downloads it.
//
// Rules: a file is evicted only when it can be downloaded again (it has a download function; the
// timeline gives one only once the bucket holds the layer). A download lands under a temporary
// name and is renamed into place (WriteFileAtomically), and must have the size the file had when
// it was opened; the layer's own checksums catch any other difference on read.
//
// Thread-safety: every method may be called from any thread. mu_ is held shared by reads through
// the descriptor and exclusively to download or evict, so an eviction waits for the reads in
// progress, and one download serves every reader waiting for it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pageserver::storage {

class LayerFile {
 public:
  // Stores the file's bytes at `path` (atomically and durably).
  using Download = std::function<absl::Status(const std::string& path)>;
  // Reads `size` bytes at `offset` of the remote copy.
  using RemoteRead = std::function<absl::Status(uint64_t offset, size_t size, uint8_t* out)>;
  // Whether an evicted file may be downloaded now (the timeline makes room for it if it can).
  using MayDownload = std::function<bool(const LayerFile& file)>;
  // Called after a download, outside any lock (the timeline enforces its disk budget).
  using OnDownload = std::function<void()>;

  // The local file at `path`, which must exist.
  static absl::StatusOr<std::shared_ptr<LayerFile>> Open(const std::string& path);
  ~LayerFile();
  LayerFile(const LayerFile&) = delete;
  LayerFile& operator=(const LayerFile&) = delete;

  // Makes the file evictable: `download` brings it back, `remote_read` reads the bucket's copy
  // when `may_download` says no.
  void SetRemote(Download download, RemoteRead remote_read, MayDownload may_download,
                 OnDownload on_download);

  // Exactly `size` bytes at `offset`, downloading the file first when it is evicted.
  absl::Status ReadAt(uint64_t offset, size_t size, uint8_t* out) const;

  // Removes the local copy (reads in progress finish first). FailedPrecondition without a
  // download function. OK when already evicted.
  absl::Status Evict();

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  bool resident() const;
  bool evictable() const;
  absl::Time last_read() const { return absl::FromUnixNanos(last_read_ns_.load()); }
  uint64_t downloads() const { return downloads_.load(); }
  uint64_t remote_reads() const { return remote_reads_.load(); }

 private:
  LayerFile(std::string path, uint64_t size, int fd);
  absl::Status DownloadLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const uint64_t size_;
  mutable absl::Mutex mu_;
  mutable int fd_ ABSL_GUARDED_BY(mu_) = -1;  // -1: evicted
  Download download_ ABSL_GUARDED_BY(mu_);
  RemoteRead remote_read_ ABSL_GUARDED_BY(mu_);
  MayDownload may_download_ ABSL_GUARDED_BY(mu_);
  OnDownload on_download_ ABSL_GUARDED_BY(mu_);
  mutable std::atomic<int64_t> last_read_ns_{0};
  mutable std::atomic<uint64_t> downloads_{0};
  mutable std::atomic<uint64_t> remote_reads_{0};
};

}  // namespace pageserver::storage
