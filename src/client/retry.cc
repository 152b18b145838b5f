#include "client/retry.h"

#include <algorithm>

namespace pageserver::client {

bool IsRetryable(absl::StatusCode code) { return code == absl::StatusCode::kUnavailable; }

absl::Duration BackoffDelay(int retry, absl::Duration initial, absl::Duration max, double jitter) {
  if (initial < absl::ZeroDuration()) initial = absl::ZeroDuration();
  if (max < initial) max = initial;
  absl::Duration delay = initial;
  for (int i = 0; i < retry && delay > absl::ZeroDuration() && delay < max; ++i) delay *= 2;
  delay = std::min(delay, max);
  jitter = std::clamp(jitter, 0.0, 1.0);
  return delay / 2 + (delay / 2) * jitter;
}

}  // namespace pageserver::client
