// LocalStorage: RemoteStorage on a local directory (file:///PATH), the embedded default and the
// reference the S3 implementation is tested against.
//
// An object is the file ROOT/KEY. PutIfAbsent writes ROOT/.tmp/<unique>, fsyncs it, and links it
// to its key with link(2), which fails when the name exists: the no-overwrite rule holds however
// many writers race, and a reader never sees a partial object. Then the key's directory is
// fsynced and the temporary name removed. A crash leaves at most files under ROOT/.tmp, which
// the next Open removes (those of writers no longer running: names start with the writer's
// pid). Directories are created as keys need them and left in place.
//
// Thread-safety: any number of threads (the file system serialises what must be).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "remote/remote_storage.h"

namespace pageserver::remote {

class LocalStorage final : public RemoteStorage {
 public:
  // Creates `root` (and ROOT/.tmp) if missing.
  static absl::StatusOr<std::unique_ptr<LocalStorage>> Open(const std::string& root);

  absl::Status PutIfAbsent(const std::string& key, std::span<const uint8_t> data) override;
  absl::StatusOr<std::vector<uint8_t>> Get(const std::string& key, ByteRange range) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  absl::Status Delete(const std::string& key) override;
  std::string Describe() const override { return "file://" + root_; }

 private:
  explicit LocalStorage(std::string root) : root_(std::move(root)) {}
  std::string PathOf(const std::string& key) const { return root_ + "/" + key; }

  const std::string root_;
  std::atomic<uint64_t> next_tmp_{0};
};

}  // namespace pageserver::remote
