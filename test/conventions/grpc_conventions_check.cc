// grpc_conventions_check --server HOST:PORT --expect-service NAME...: what operators' tools ask
// of a gRPC server, through a real gRPC client:
//   - server reflection lists its services (as `grpcurl HOST:PORT list` does), the health and
//     reflection services among them, and gives the file that defines each expected one (as
//     `grpcurl describe` needs);
//   - the standard health service (grpc.health.v1) answers SERVING for the server ("") and for
//     each expected service, and NOT_FOUND for a service the server does not have.
// With --token and --tls-ca/--tls-cert/--tls-key, the calls carry a token and go over TLS. With
// --expect-refused CODE, every one of those calls must instead fail with that gRPC status code
// (16: UNAUTHENTICATED, for a server with auth on and a call without a valid token). With
// --only reflection|health, only that service is checked.
// Prints what it finds. Exit 0 when all of that holds, 1 otherwise.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.pb.h"
#include "test/conventions/health.grpc.pb.h"
#include "test/conventions/reflection.grpc.pb.h"

namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using grpc::reflection::v1alpha::ServerReflection;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

int failures = 0;
std::string token;        // --token; empty: none
int expect_refused = -1;  // --expect-refused; -1: the calls must succeed

void Fail(const std::string& what) {
  std::printf("FAIL: %s\n", what.c_str());
  ++failures;
}

void Prepare(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
}

std::string ReadFile(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// With --expect-refused: whether `s` is that refusal (reported either way).
void CheckRefused(const std::string& what, const grpc::Status& s) {
  if (s.error_code() == expect_refused) {
    std::printf("%s refused: code %d: %s\n", what.c_str(), s.error_code(),
                s.error_message().c_str());
  } else {
    Fail(what + ": code " + std::to_string(s.error_code()) + " (" + s.error_message() +
         "), not the refusal " + std::to_string(expect_refused));
  }
}

// One request on a reflection stream, and its answer.
bool Ask(ServerReflection::Stub& stub, const ServerReflectionRequest& request,
         ServerReflectionResponse* response) {
  grpc::ClientContext context;
  Prepare(context);
  auto stream = stub.ServerReflectionInfo(&context);
  if (!stream->Write(request) || !stream->Read(response)) {
    stream->WritesDone();
    const grpc::Status s = stream->Finish();
    if (expect_refused >= 0) {
      CheckRefused("reflection", s);
    } else {
      Fail("reflection: " + s.error_message() + " (code " + std::to_string(s.error_code()) + ")");
    }
    return false;
  }
  if (expect_refused >= 0) Fail("reflection answered a call that should have been refused");
  stream->WritesDone();
  return stream->Finish().ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"grpc_conventions_check: server reflection and health of a gRPC server"};
  std::string server;
  std::vector<std::string> expected;
  app.add_option("--server", server, "HOST:PORT")->required();
  app.add_option("--expect-service", expected, "a service that must be listed and SERVING");
  app.add_option("--token", token, "a token every call carries");
  std::string ca, cert, key;
  app.add_option("--tls-ca", ca, "TLS: the CA that signed the server's certificate");
  app.add_option("--tls-cert", cert, "TLS: a client certificate");
  app.add_option("--tls-key", key, "TLS: its key");
  app.add_option("--expect-refused", expect_refused,
                 "every reflection and health call must fail with this gRPC status code");
  std::string only;
  app.add_option("--only", only, "check only this service")
      ->check(CLI::IsMember({"reflection", "health"}));
  CLI11_PARSE(app, argc, argv);

  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!ca.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(ca);
    ssl.pem_cert_chain = ReadFile(cert);
    ssl.pem_private_key = ReadFile(key);
    credentials = grpc::SslCredentials(ssl);
  }
  auto channel = grpc::CreateChannel(server, credentials);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30))) {
    std::printf("FAIL: no connection to %s\n", server.c_str());
    return 1;
  }

  if (only != "health") {
    auto reflection = ServerReflection::NewStub(channel);
    ServerReflectionRequest list;
    list.set_list_services("");
    ServerReflectionResponse listed;
    std::set<std::string> services;
    if (Ask(*reflection, list, &listed)) {
      for (const auto& s : listed.list_services_response().service()) {
        services.insert(s.name());
        std::printf("service %s\n", s.name().c_str());
      }
    }
    for (const char* conventional :
         {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}) {
      if (expect_refused < 0 && !services.contains(conventional))
        Fail(std::string("reflection does not list ") + conventional);
    }
    for (const std::string& name : expected) {
      if (expect_refused >= 0) break;
      if (!services.contains(name)) {
        Fail("reflection does not list " + name);
        continue;
      }
      ServerReflectionRequest describe;
      describe.set_file_containing_symbol(name);
      ServerReflectionResponse described;
      if (!Ask(*reflection, describe, &described)) continue;
      bool defined = false;
      for (const std::string& bytes :
           described.file_descriptor_response().file_descriptor_proto()) {
        google::protobuf::FileDescriptorProto file;
        if (!file.ParseFromString(bytes)) continue;
        for (const auto& service : file.service()) {
          const std::string full =
              file.package().empty() ? service.name() : file.package() + "." + service.name();
          if (full == name) {
            defined = true;
            std::printf("  %s is defined in %s (%d methods)\n", name.c_str(), file.name().c_str(),
                        service.method_size());
          }
        }
      }
      if (!defined) Fail("reflection gives no file that defines " + name);
    }
  }

  if (only != "reflection") {
    auto health = Health::NewStub(channel);
    auto check = [&](const std::string& service) {
      grpc::ClientContext context;
      Prepare(context);
      HealthCheckRequest request;
      request.set_service(service);
      HealthCheckResponse response;
      const grpc::Status s = health->Check(&context, request, &response);
      return std::make_pair(s, response.status());
    };
    std::vector<std::string> asked = {""};
    asked.insert(asked.end(), expected.begin(), expected.end());
    for (const std::string& service : asked) {
      const auto [status, serving] = check(service);
      const std::string what = service.empty() ? "the server" : service;
      if (expect_refused >= 0) {
        CheckRefused("health of " + what, status);
      } else if (!status.ok()) {
        Fail("health of " + what + ": " + status.error_message());
      } else if (serving != HealthCheckResponse::SERVING) {
        Fail("health of " + what + ": " + HealthCheckResponse::ServingStatus_Name(serving));
      } else {
        std::printf("health of %s: SERVING\n", what.c_str());
      }
    }
    const auto [unknown, unused] = check("no.such.Service");
    if (expect_refused >= 0) {
      CheckRefused("health of no.such.Service", unknown);
    } else if (unknown.error_code() != grpc::StatusCode::NOT_FOUND) {
      Fail("health of an unknown service: code " + std::to_string(unknown.error_code()) +
           ", not NOT_FOUND");
    } else {
      std::printf("health of no.such.Service: NOT_FOUND\n");
    }
  }
  std::printf("%s\n", failures == 0 ? "PASS" : "FAILED");
  return failures == 0 ? 0 : 1;
}
