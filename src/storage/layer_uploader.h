// LayerUploader: a timeline's layer files and manifests to remote storage (issue 10), in the
// background, so that the bucket becomes the durable home of the data.
//
// After every flush (and at open) the timeline hands it its new manifest. The uploader stores
// each layer file the manifest names that the bucket lacks, then the manifest itself, as an
// index object named by its disk_consistent_lsn — only after every layer it names, so an index in
// the bucket never points at a missing layer. remote_consistent_lsn is the disk_consistent_lsn
// of the newest index stored: everything up to it is in the bucket.
//
// Keys, under the timeline's prefix:
//   layers/<layer file name>              the file's bytes
//   index/<disk_consistent_lsn, 20 digits>.json   the manifest's text (ManifestJson)
// Objects are never overwritten (PutIfAbsent). One found in the bucket already (an upload a
// crash interrupted after its PUT, a restart) must hold the same bytes (a layer listed at the
// first upload of a run: the same size; one met by a PUT: compared byte for byte), or the
// uploader stops with DataLoss naming it: two different files under one name mean two writers,
// which generations (to come) will keep apart.
//
// Only the newest manifest waiting is uploaded (an older one's layers are in it too: layers are
// never removed yet). A failed upload (the storage retries first) is logged, and tried again
// after a pause; the timeline's reads and writes never wait for uploads.
//
// Not uploaded yet: WAL segments, so redo after remote_consistent_lsn is only on the local disk.
//
// Thread-safety: every method may be called from any thread; one background thread uploads.
#pragma once

#include <condition_variable>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/types.h"
#include "remote/remote_storage.h"
#include "storage/timeline_manifest.h"

namespace pageserver::storage {

class LayerUploader {
 public:
  // `layers_dir`: where the layer files are; `prefix`: the timeline's keys in `remote` (no
  // trailing '/').
  LayerUploader(remote::RemoteStorage& remote, std::string layers_dir, std::string prefix,
                absl::Duration pause_after_failure = absl::Seconds(5));
  ~LayerUploader();  // stops; what was not uploaded is uploaded after the next open
  LayerUploader(const LayerUploader&) = delete;
  LayerUploader& operator=(const LayerUploader&) = delete;

  void Schedule(Manifest manifest);

  Lsn remote_consistent_lsn() const;
  // Until the newest manifest scheduled is in the bucket (OK), the uploader stopped for good
  // (its DataLoss), or `deadline` (DeadlineExceeded, with the last upload error if there was
  // one). For tests and orderly shutdown.
  absl::Status WaitUntilUploaded(absl::Time deadline);
  // The error of the last failed upload, OK after a success.
  absl::Status last_error() const;

  static std::string IndexKey(Lsn disk_consistent_lsn);

 private:
  void Run();
  absl::Status Upload(const Manifest& manifest);
  // PutIfAbsent, where an existing object with the same bytes is fine.
  absl::Status PutOnce(const std::string& key, std::span<const uint8_t> bytes);

  remote::RemoteStorage& remote_;
  const std::string layers_dir_;
  const std::string prefix_;
  const absl::Duration pause_after_failure_;

  mutable std::mutex mu_;  // guards everything below; never held during I/O
  std::condition_variable cv_;
  std::optional<Manifest> pending_;
  bool uploading_ = false;
  bool stopping_ = false;
  bool stopped_for_good_ = false;  // DataLoss: nothing more is uploaded until a restart
  Lsn remote_consistent_lsn_;
  absl::Status last_error_;
  // The uploader's thread only: layers this run stored or checked, and what the bucket held
  // when it was first listed (name -> size).
  std::set<std::string> in_bucket_;
  std::optional<std::map<std::string, uint64_t>> listed_;

  std::thread thread_;
};

}  // namespace pageserver::storage
