#include "client/grpc_status.h"

#include "absl/strings/str_format.h"

namespace pageserver::client {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  // grpc::StatusCode and absl::StatusCode share their numbering (both are google.rpc.Code).
  return FromPageError(static_cast<int32_t>(status.error_code()), status.error_message());
}

absl::Status FromPageError(int32_t code, const std::string& message) {
  if (code == 0) return absl::OkStatus();
  if (code < 0 || code > static_cast<int32_t>(absl::StatusCode::kUnauthenticated)) {
    return absl::UnknownError(absl::StrFormat(
        "server sent error code %d, which is not a gRPC status code: %s", code, message));
  }
  return absl::Status(static_cast<absl::StatusCode>(code), message);
}

}  // namespace pageserver::client
