// Auth for the gRPC services the page server takes from gRPC itself (issue 12): the standard
// health service (grpc.health.v1) and server reflection. Their handlers are gRPC's and cannot
// ask for a token, so a server interceptor does, before they run: with auth on, a call to any
// service other than pageserver.PageServer (whose methods check their own scopes,
// page_service.h) needs a token a configured key verifies, of any scope, as /metrics does;
// health excepted when `health_without_auth` (load balancers' and orchestrators' probes cannot
// send one). A refused call is cancelled with UNAUTHENTICATED and the reason, and counted under
// api "grpc".
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "auth/token.h"
#include "service/metrics.h"

namespace pageserver::service {

// The interceptors' factory for ServerBuilder::experimental().SetInterceptorCreators();
// `verifier` and `metrics` must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeBuiltinServicesAuthInterceptorFactory(const auth::TokenVerifier& verifier,
                                          PageServerMetrics& metrics, bool health_without_auth);

}  // namespace pageserver::service
