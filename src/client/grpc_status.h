// The client's one translation between gRPC statuses and absl::Status: the same code, the same
// message. A status carried inside an answer (PageError of a batch or stream answer) is
// translated here too, and an error code the server should never send is reported as such.
// Pure functions; thread-safe.
#pragma once

#include <grpcpp/support/status.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace pageserver::client {

absl::Status FromGrpcStatus(const grpc::Status& status);

// A per-page error (`code` a grpc::StatusCode): code 0 is OK; a code outside the gRPC range is
// Unknown, naming the code.
absl::Status FromPageError(int32_t code, const std::string& message);

}  // namespace pageserver::client
