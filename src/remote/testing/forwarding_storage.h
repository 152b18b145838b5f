// ForwardingStorage: a RemoteStorage that passes every call to another it does not own — for
// tests that hand a wrapper (RetryingStorage owns what it wraps) a storage the test keeps.
#pragma once

#include "remote/remote_storage.h"

namespace pageserver::remote::testing {

class ForwardingStorage final : public RemoteStorage {
 public:
  explicit ForwardingStorage(RemoteStorage& to) : to_(to) {}
  absl::Status PutIfAbsent(const std::string& key, std::span<const uint8_t> data) override {
    return to_.PutIfAbsent(key, data);
  }
  absl::StatusOr<std::vector<uint8_t>> Get(const std::string& key, ByteRange range) override {
    return to_.Get(key, range);
  }
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    return to_.List(prefix);
  }
  absl::Status Delete(const std::string& key) override { return to_.Delete(key); }
  std::string Describe() const override { return to_.Describe(); }

 private:
  RemoteStorage& to_;
};

}  // namespace pageserver::remote::testing
