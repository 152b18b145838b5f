// How the compute treats an unreachable page server: it waits. A page server restarting under
// load stalls mariadbd's reads, log flushes and aux-file syncs until it is back, up to a patience;
// only then does the operation fail (EIO to mariadbd). The client's own retries (a few, within
// one call's deadline) are the inner loop; this is the outer one.
#pragma once

#include <thread>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pageserver::compute {

inline bool IsUnreachable(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
}

// Runs `attempt` (returning a Status or StatusOr) until it succeeds, fails otherwise than
// unreachable, or `patience` has passed; `on_retry` is called before each wait.
template <typename Attempt, typename OnRetry>
auto WithPatience(absl::Duration patience, Attempt&& attempt, OnRetry&& on_retry) {
  const absl::Time give_up = absl::Now() + patience;
  absl::Duration backoff = absl::Milliseconds(50);
  while (true) {
    auto result = attempt();
    const absl::Status& status = [&]() -> const absl::Status& {
      if constexpr (std::is_same_v<decltype(result), absl::Status>) {
        return result;
      } else {
        return result.status();
      }
    }();
    if (status.ok() || !IsUnreachable(status) || absl::Now() + backoff > give_up) return result;
    on_retry();
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(backoff));
    backoff = std::min(backoff * 2, absl::Seconds(1));
  }
}

}  // namespace pageserver::compute
