// Which failed calls the client retries, and how long it waits before each retry.
//
// Rule: only UNAVAILABLE is retried. It is the transport's failure (no connection, connection
// reset, server shutting down), and the request may be sent again unchanged: every PageServer
// RPC the client retries is idempotent (reads; StreamWAL accepts an overlap with identical
// bytes). Every other code is the server's answer about the request and asking again gives the
// same answer: INVALID_ARGUMENT, OUT_OF_RANGE, NOT_FOUND, FAILED_PRECONDITION, DATA_LOSS...
// DEADLINE_EXCEEDED in particular means the call's time is used up, or the LSN was not reached
// within it; a retry could only wait past the caller's deadline.
//
// Pure functions; thread-safe.
#pragma once

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace pageserver::client {

bool IsRetryable(absl::StatusCode code);

// The wait before retry number `retry` (0 before the first retry): `initial` doubled `retry`
// times, capped at `max`, then scaled by `jitter` (in [0, 1], drawn at random by the caller) to
// between half and all of it ("equal jitter"), so that clients that failed together do not
// all come back together. Out-of-range arguments are clamped, never undefined.
absl::Duration BackoffDelay(int retry, absl::Duration initial, absl::Duration max, double jitter);

}  // namespace pageserver::client
