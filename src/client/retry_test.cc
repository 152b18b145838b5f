#include "client/retry.h"

#include <gtest/gtest.h>

namespace pageserver::client {
namespace {

using absl::Milliseconds;

TEST(BackoffDelay, DoublesFromInitialWithFullJitterOne) {
  EXPECT_EQ(BackoffDelay(0, Milliseconds(50), absl::Seconds(10), 1.0), Milliseconds(50));
  EXPECT_EQ(BackoffDelay(1, Milliseconds(50), absl::Seconds(10), 1.0), Milliseconds(100));
  EXPECT_EQ(BackoffDelay(2, Milliseconds(50), absl::Seconds(10), 1.0), Milliseconds(200));
  EXPECT_EQ(BackoffDelay(5, Milliseconds(50), absl::Seconds(10), 1.0), Milliseconds(1600));
}

TEST(BackoffDelay, JitterZeroWaitsHalf) {
  EXPECT_EQ(BackoffDelay(0, Milliseconds(50), absl::Seconds(10), 0.0), Milliseconds(25));
  EXPECT_EQ(BackoffDelay(3, Milliseconds(50), absl::Seconds(10), 0.0), Milliseconds(200));
}

TEST(BackoffDelay, JitterStaysBetweenHalfAndAll) {
  for (double jitter = 0; jitter <= 1.0; jitter += 0.125) {
    const absl::Duration d = BackoffDelay(2, Milliseconds(100), absl::Seconds(10), jitter);
    EXPECT_GE(d, Milliseconds(200));
    EXPECT_LE(d, Milliseconds(400));
  }
}

TEST(BackoffDelay, CappedAtMax) {
  EXPECT_EQ(BackoffDelay(10, Milliseconds(50), absl::Seconds(2), 1.0), absl::Seconds(2));
  EXPECT_EQ(BackoffDelay(10, Milliseconds(50), absl::Seconds(2), 0.0), absl::Seconds(1));
}

TEST(BackoffDelay, HugeRetryCountDoesNotOverflow) {
  EXPECT_EQ(BackoffDelay(1 << 30, Milliseconds(50), absl::Seconds(2), 1.0), absl::Seconds(2));
}

TEST(BackoffDelay, OutOfRangeArgumentsAreClamped) {
  EXPECT_EQ(BackoffDelay(0, Milliseconds(50), absl::Seconds(1), 7.0), Milliseconds(50));
  EXPECT_EQ(BackoffDelay(0, Milliseconds(50), absl::Seconds(1), -3.0), Milliseconds(25));
  EXPECT_EQ(BackoffDelay(4, Milliseconds(80), Milliseconds(10), 1.0), Milliseconds(80));
  EXPECT_EQ(BackoffDelay(-2, Milliseconds(50), absl::Seconds(1), 1.0), Milliseconds(50));
  EXPECT_EQ(BackoffDelay(3, -Milliseconds(50), absl::Seconds(1), 1.0), absl::ZeroDuration());
}

TEST(IsRetryable, OnlyUnavailable) {
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kUnavailable));
  for (auto code : {absl::StatusCode::kOk, absl::StatusCode::kCancelled, absl::StatusCode::kUnknown,
                    absl::StatusCode::kInvalidArgument, absl::StatusCode::kDeadlineExceeded,
                    absl::StatusCode::kNotFound, absl::StatusCode::kAlreadyExists,
                    absl::StatusCode::kPermissionDenied, absl::StatusCode::kResourceExhausted,
                    absl::StatusCode::kFailedPrecondition, absl::StatusCode::kAborted,
                    absl::StatusCode::kOutOfRange, absl::StatusCode::kUnimplemented,
                    absl::StatusCode::kInternal, absl::StatusCode::kDataLoss,
                    absl::StatusCode::kUnauthenticated}) {
    EXPECT_FALSE(IsRetryable(code)) << absl::StatusCodeToString(code);
  }
}

}  // namespace
}  // namespace pageserver::client
