#include "storage/layer_uploader.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "common/file_io.h"
#include "common/status_macros.h"

namespace pageserver::storage {

LayerUploader::LayerUploader(remote::RemoteStorage& remote, std::string layers_dir,
                             std::string prefix, absl::Duration pause_after_failure)
    : remote_(remote),
      layers_dir_(std::move(layers_dir)),
      prefix_(std::move(prefix)),
      pause_after_failure_(pause_after_failure) {
  thread_ = std::thread([this] { Run(); });
}

LayerUploader::~LayerUploader() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::string LayerUploader::IndexKey(Lsn lsn) {
  return absl::StrFormat("index/%020d.json", lsn.value());
}

void LayerUploader::Schedule(Manifest manifest) {
  {
    std::lock_guard<std::mutex> l(mu_);
    pending_ = std::move(manifest);
  }
  cv_.notify_all();
}

Lsn LayerUploader::remote_consistent_lsn() const {
  std::lock_guard<std::mutex> l(mu_);
  return remote_consistent_lsn_;
}

absl::Status LayerUploader::last_error() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_error_;
}

absl::Status LayerUploader::WaitUntilUploaded(absl::Time deadline) {
  std::unique_lock<std::mutex> l(mu_);
  const bool done = cv_.wait_for(l, absl::ToChronoNanoseconds(deadline - absl::Now()), [&] {
    return (!pending_ && !uploading_) || stopped_for_good_;
  });
  if (done) return last_error_;
  return absl::DeadlineExceededError(absl::StrFormat(
      "uploads to %s still pending%s%s", remote_.Describe(), last_error_.ok() ? "" : ": ",
      last_error_.message()));
}

void LayerUploader::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stopping_ || pending_; });
    if (stopping_) return;
    Manifest manifest = std::move(*pending_);
    pending_.reset();
    uploading_ = true;
    l.unlock();
    const absl::Status uploaded = Upload(manifest);
    l.lock();
    uploading_ = false;
    last_error_ = uploaded;
    if (uploaded.ok()) {
      remote_consistent_lsn_ = std::max(remote_consistent_lsn_, manifest.disk_consistent_lsn);
    } else {
      absl::FPrintF(stderr, "pageserver: uploading the timeline at LSN %d failed: %s\n",
                    manifest.disk_consistent_lsn.value(), uploaded.message());
      // Again after a pause, unless a newer manifest came meanwhile.
      if (!pending_) pending_ = std::move(manifest);
      if (absl::IsDataLoss(uploaded)) {  // two different files under one name: stop
        stopped_for_good_ = true;
        cv_.notify_all();
        return;
      }
      cv_.notify_all();
      cv_.wait_for(l, absl::ToChronoNanoseconds(pause_after_failure_), [&] { return stopping_; });
    }
    cv_.notify_all();
  }
}

absl::Status LayerUploader::PutOnce(const std::string& key, std::span<const uint8_t> bytes) {
  const absl::Status put = remote_.PutIfAbsent(key, bytes);
  if (!absl::IsAlreadyExists(put)) return put;
  ASSIGN_OR_RETURN(const std::vector<uint8_t> stored, remote_.Get(key, {}));
  if (std::equal(stored.begin(), stored.end(), bytes.begin(), bytes.end())) {
    return absl::OkStatus();
  }
  return absl::DataLossError(absl::StrFormat(
      "%s/%s holds other bytes than the local file of that name (%d vs %d bytes)",
      remote_.Describe(), key, stored.size(), bytes.size()));
}

absl::Status LayerUploader::Upload(const Manifest& manifest) {
  if (!listed_) {
    ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> listed,
                     remote_.List(prefix_ + "/layers/"));
    listed_.emplace();
    for (const remote::ObjectInfo& o : listed) {
      (*listed_)[o.key.substr(prefix_.size() + std::string("/layers/").size())] = o.size;
    }
  }
  for (const std::string& name : manifest.layers) {
    if (in_bucket_.contains(name)) continue;
    const std::string path = layers_dir_ + "/" + name;
    int fd = -1;
    ASSIGN_OR_RETURN(const uint64_t size, OpenForReading(path, &fd));
    if (auto found = listed_->find(name); found != listed_->end()) {
      close(fd);
      // Stored by an earlier run; not downloaded again to compare, but its size must match.
      if (found->second != size) {
        return absl::DataLossError(absl::StrFormat(
            "%s/%s/layers/%s holds %d bytes, the local file of that name %d", remote_.Describe(),
            prefix_, name, found->second, size));
      }
      in_bucket_.insert(name);
      continue;
    }
    std::vector<uint8_t> bytes(size);
    const absl::Status read = ReadFully(fd, 0, size, bytes.data(), path);
    close(fd);
    RETURN_IF_ERROR(read);
    RETURN_IF_ERROR(PutOnce(prefix_ + "/layers/" + name, bytes));
    in_bucket_.insert(name);
  }
  const std::string index = ManifestJson(manifest);
  return PutOnce(prefix_ + "/" + IndexKey(manifest.disk_consistent_lsn),
                 std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(index.data()),
                                          index.size()));
}

}  // namespace pageserver::storage
