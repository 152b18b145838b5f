// FaultInjectingStorage: RemoteStorage that fails on purpose, around a real one — the faults an
// object store and the network between produce: 5xx (Unavailable), SlowDown (ResourceExhausted),
// timeouts (DeadlineExceeded), and a lost answer (the operation is done, then its answer fails:
// the case that makes a retried PutIfAbsent meet its own object). A truncated response is the
// implementation's to detect (S3: Content-Length), and reaches callers as Unavailable.
//
// Faults are queued (FailNext) or drawn at random (FailRandomly, seeded). Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <random>

#include "remote/remote_storage.h"

namespace pageserver::remote::testing {

enum class Fault { kUnavailable, kSlowDown, kTimeout, kLostAnswer };

class FaultInjectingStorage final : public RemoteStorage {
 public:
  explicit FaultInjectingStorage(RemoteStorage& inner) : inner_(inner) {}

  void FailNext(int count, Fault fault) {
    std::lock_guard<std::mutex> l(mu_);
    for (int i = 0; i < count; ++i) queued_.push_back(fault);
  }
  // Each call fails with probability `p`, with a fault drawn from all four.
  void FailRandomly(double p, uint64_t seed) {
    std::lock_guard<std::mutex> l(mu_);
    probability_ = p;
    rng_.seed(seed);
  }
  uint64_t injected() const {
    std::lock_guard<std::mutex> l(mu_);
    return injected_;
  }

  absl::Status PutIfAbsent(const std::string& key, std::span<const uint8_t> data) override {
    return Around<absl::Status>("PUT " + key, [&] { return inner_.PutIfAbsent(key, data); });
  }
  absl::StatusOr<std::vector<uint8_t>> Get(const std::string& key, ByteRange range) override {
    return Around<absl::StatusOr<std::vector<uint8_t>>>(
        "GET " + key, [&] { return inner_.Get(key, range); });
  }
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    return Around<absl::StatusOr<std::vector<ObjectInfo>>>(
        "LIST " + prefix, [&] { return inner_.List(prefix); });
  }
  absl::Status Delete(const std::string& key) override {
    return Around<absl::Status>("DELETE " + key, [&] { return inner_.Delete(key); });
  }
  std::string Describe() const override { return inner_.Describe(); }

 private:
  std::optional<Fault> Draw() {
    std::lock_guard<std::mutex> l(mu_);
    std::optional<Fault> fault;
    if (!queued_.empty()) {
      fault = queued_.front();
      queued_.pop_front();
    } else if (probability_ > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < probability_) {
      fault = static_cast<Fault>(rng_() % 4);
    }
    if (fault) ++injected_;
    return fault;
  }

  template <typename Result, typename Op>
  Result Around(const std::string& what, Op&& op) {
    const std::optional<Fault> fault = Draw();
    if (!fault) return op();
    switch (*fault) {
      case Fault::kUnavailable:
        return absl::UnavailableError(what + ": injected 503 Service Unavailable");
      case Fault::kSlowDown:
        return absl::ResourceExhaustedError(what + ": injected 503 SlowDown");
      case Fault::kTimeout:
        return absl::DeadlineExceededError(what + ": injected timeout");
      case Fault::kLostAnswer: {
        Result done = op();  // it happened; the caller never hears so
        (void)done;
        return absl::UnavailableError(what + ": injected connection reset after the request");
      }
    }
    return op();
  }

  RemoteStorage& inner_;
  mutable std::mutex mu_;
  std::deque<Fault> queued_;
  double probability_ = 0;
  std::mt19937_64 rng_;
  uint64_t injected_ = 0;
};

}  // namespace pageserver::remote::testing
