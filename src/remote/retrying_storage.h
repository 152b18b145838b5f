// RetryingStorage: RemoteStorage that retries what may pass — Unavailable (timeouts, 5xx,
// connection failures), DeadlineExceeded, ResourceExhausted (S3's SlowDown) — with exponential
// backoff and full jitter (a random wait up to the current backoff), as AWS recommends, until
// `max_attempts` or `give_up_after`. Everything else (NotFound, AlreadyExists, InvalidArgument,
// DataLoss, ...) is returned at once.
//
// A retried PutIfAbsent may find its own earlier attempt's object (the attempt stored it, then
// its answer was lost): AlreadyExists after a retry is therefore checked by reading the object
// back, and is OK when it holds the same bytes.
//
// Thread-safety: as the wrapped storage; the counters are atomic.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "absl/time/time.h"
#include "remote/remote_storage.h"

namespace pageserver::remote {

struct RetryOptions {
  int max_attempts = 10;
  absl::Duration first_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(5);
  absl::Duration give_up_after = absl::Minutes(2);
  // How to wait (tests replace it to run without sleeping).
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) { absl::SleepFor(d); };
};

// Whether `status` is worth another attempt.
bool IsRetryable(const absl::Status& status);

class RetryingStorage final : public RemoteStorage {
 public:
  RetryingStorage(std::unique_ptr<RemoteStorage> inner, RetryOptions options = {})
      : inner_(std::move(inner)), options_(std::move(options)) {}

  absl::Status PutIfAbsent(const std::string& key, std::span<const uint8_t> data) override;
  absl::StatusOr<std::vector<uint8_t>> Get(const std::string& key, ByteRange range) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  absl::Status Delete(const std::string& key) override;
  std::string Describe() const override { return inner_->Describe(); }

  // Attempts repeated after a retryable error, and operations that failed after every attempt.
  uint64_t retries() const { return retries_.load(); }
  uint64_t failures() const { return failures_.load(); }

 private:
  // Runs `attempt` until it succeeds, fails for good, or the budget is spent.
  template <typename Result, typename Attempt>
  Result Run(const std::string& what, Attempt&& attempt);

  std::unique_ptr<RemoteStorage> inner_;
  const RetryOptions options_;
  std::atomic<uint64_t> retries_{0}, failures_{0};
};

}  // namespace pageserver::remote
