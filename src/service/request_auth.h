// What a request must show when auth is on (issue 12): a token, "authorization: Bearer <jwt>"
// (gRPC metadata or HTTP header), that a configured public key verifies and whose scope allows
// what the request does on its timeline (auth/token.h). The gRPC service and the HTTP API ask
// it the same way, and every refusal is counted (pageserver_auth_refusals_total).
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "auth/token.h"
#include "service/metrics.h"

namespace pageserver::service {

// The header and metadata key that carries the token.
inline constexpr char kAuthorizationKey[] = "authorization";

// OK when `verifier` is null (auth off) or the token in `authorization` allows `need` on
// `timeline` (empty: main); otherwise Unauthenticated or PermissionDenied saying why, counted
// under `api` ("grpc" or "http").
absl::Status CheckRequestToken(const auth::TokenVerifier* verifier, PageServerMetrics& metrics,
                               std::string_view api, std::string_view authorization,
                               auth::Scope need, std::string_view timeline);

}  // namespace pageserver::service
