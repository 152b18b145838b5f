#include "service/request_auth.h"

#include "absl/time/clock.h"

namespace pageserver::service {

absl::Status CheckRequestToken(const auth::TokenVerifier* verifier, PageServerMetrics& metrics,
                               std::string_view api, std::string_view authorization,
                               auth::Scope need, std::string_view timeline) {
  if (verifier == nullptr) return absl::OkStatus();
  absl::StatusOr<auth::Claims> claims = verifier->VerifyHeader(authorization, absl::Now());
  absl::Status allowed = claims.ok() ? auth::Authorize(*claims, need, timeline) : claims.status();
  if (!allowed.ok()) metrics.CountAuthRefusal(api, allowed);
  return allowed;
}

}  // namespace pageserver::service
