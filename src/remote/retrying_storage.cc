#include "remote/retrying_storage.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace pageserver::remote {

bool IsRetryable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsResourceExhausted(status);
}

template <typename Result, typename Attempt>
Result RetryingStorage::Run(const std::string& what, Attempt&& attempt) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const absl::Time give_up = absl::Now() + options_.give_up_after;
  absl::Duration backoff = options_.first_backoff;
  for (int n = 1;; ++n) {
    Result result = attempt(n);
    const absl::Status& status = [&]() -> const absl::Status& {
      if constexpr (std::is_same_v<Result, absl::Status>) {
        return result;
      } else {
        return result.status();
      }
    }();
    if (status.ok() || !IsRetryable(status)) return result;
    if (n >= options_.max_attempts || absl::Now() + backoff > give_up) {
      failures_.fetch_add(1);
      return absl::Status(status.code(),
                          absl::StrFormat("%s: gave up after %d attempts: %s", what, n,
                                          status.message()));
    }
    // Full jitter: anywhere in [0, backoff), so that many clients do not retry in step.
    const int64_t us = absl::ToInt64Microseconds(backoff);
    options_.sleep(absl::Microseconds(us > 0 ? static_cast<int64_t>(rng() % us) : 0));
    retries_.fetch_add(1);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status RetryingStorage::PutIfAbsent(const std::string& key, std::span<const uint8_t> data) {
  return Run<absl::Status>(
      absl::StrFormat("storing %s/%s", Describe(), key), [&](int attempt) -> absl::Status {
        absl::Status put = inner_->PutIfAbsent(key, data);
        if (!absl::IsAlreadyExists(put) || attempt == 1) return put;
        // An earlier attempt may have stored it before its answer was lost.
        absl::StatusOr<std::vector<uint8_t>> stored = inner_->Get(key, {});
        if (!stored.ok()) return stored.status();
        if (std::equal(stored->begin(), stored->end(), data.begin(), data.end())) {
          return absl::OkStatus();
        }
        return put;
      });
}

absl::StatusOr<std::vector<uint8_t>> RetryingStorage::Get(const std::string& key,
                                                          ByteRange range) {
  return Run<absl::StatusOr<std::vector<uint8_t>>>(
      absl::StrFormat("reading %s/%s", Describe(), key),
      [&](int) { return inner_->Get(key, range); });
}

absl::StatusOr<std::vector<ObjectInfo>> RetryingStorage::List(const std::string& prefix) {
  return Run<absl::StatusOr<std::vector<ObjectInfo>>>(
      absl::StrFormat("listing %s/%s", Describe(), prefix),
      [&](int) { return inner_->List(prefix); });
}

absl::Status RetryingStorage::Delete(const std::string& key) {
  return Run<absl::Status>(absl::StrFormat("deleting %s/%s", Describe(), key),
                           [&](int) { return inner_->Delete(key); });
}

}  // namespace pageserver::remote
