#include "service/builtin_services_auth.h"

#include <grpc/grpc.h>

#include <string>
#include <string_view>

#include "absl/time/clock.h"
#include "proto/page_service.grpc.pb.h"
#include "service/request_auth.h"

namespace pageserver::service {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Checks the token of one call, when its initial metadata arrives.
class BuiltinServicesAuthInterceptor final : public grpc::experimental::Interceptor {
 public:
  BuiltinServicesAuthInterceptor(grpc::experimental::ServerRpcInfo* info,
                                 const auth::TokenVerifier& verifier, PageServerMetrics& metrics)
      : info_(info), verifier_(verifier), metrics_(metrics) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      std::string_view authorization;
      const auto* metadata = methods->GetRecvInitialMetadata();
      if (auto it = metadata->find(kAuthorizationKey); it != metadata->end()) {
        authorization = std::string_view(it->second.data(), it->second.size());
      }
      absl::Status s = verifier_.VerifyHeader(authorization, absl::Now()).status();
      if (!s.ok()) {
        metrics_.CountAuthRefusal("grpc", s);
        // Ends the call with this status before the handler sees a message; the handler then
        // finds the call cancelled.
        const std::string reason = std::string(info_->method()) + ": " + std::string(s.message());
        grpc_call_cancel_with_status(info_->server_context()->c_call(),
                                     static_cast<grpc_status_code>(s.code()), reason.c_str(),
                                     nullptr);
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* const info_;
  const auth::TokenVerifier& verifier_;
  PageServerMetrics& metrics_;
};

class BuiltinServicesAuthFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  BuiltinServicesAuthFactory(const auth::TokenVerifier& verifier, PageServerMetrics& metrics,
                             bool health_without_auth)
      : verifier_(verifier), metrics_(metrics), health_without_auth_(health_without_auth) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // "/pageserver.PageServer/GetPage": those methods check their own scopes.
    const std::string own = "/" + std::string(::pageserver::PageServer::service_full_name()) + "/";
    const std::string_view method = info->method();
    if (method.rfind(own, 0) == 0) return nullptr;
    if (health_without_auth_ && method.rfind("/grpc.health.v1.Health/", 0) == 0) return nullptr;
    return new BuiltinServicesAuthInterceptor(info, verifier_, metrics_);
  }

 private:
  const auth::TokenVerifier& verifier_;
  PageServerMetrics& metrics_;
  const bool health_without_auth_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeBuiltinServicesAuthInterceptorFactory(const auth::TokenVerifier& verifier,
                                          PageServerMetrics& metrics, bool health_without_auth) {
  return std::make_unique<BuiltinServicesAuthFactory>(verifier, metrics, health_without_auth);
}

}  // namespace pageserver::service
