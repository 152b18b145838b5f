// grpc_conventions_check --server HOST:PORT --expect-service NAME...: what operators' tools ask
// of a gRPC server, through a real gRPC client:
//   - server reflection lists its services (as `grpcurl HOST:PORT list` does), the health and
//     reflection services among them, and gives the file that defines each expected one (as
//     `grpcurl describe` needs);
//   - the standard health service (grpc.health.v1) answers SERVING for the server ("") and for
//     each expected service, and NOT_FOUND for a service the server does not have.
// Prints what it finds. Exit 0 when all of that holds, 1 otherwise.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <set>
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
void Fail(const std::string& what) {
  std::printf("FAIL: %s\n", what.c_str());
  ++failures;
}

// One request on a reflection stream, and its answer.
bool Ask(ServerReflection::Stub& stub, const ServerReflectionRequest& request,
         ServerReflectionResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub.ServerReflectionInfo(&context);
  if (!stream->Write(request) || !stream->Read(response)) {
    stream->WritesDone();
    const grpc::Status s = stream->Finish();
    Fail("reflection: " + s.error_message() + " (code " + std::to_string(s.error_code()) + ")");
    return false;
  }
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
  CLI11_PARSE(app, argc, argv);

  auto channel = grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30))) {
    std::printf("FAIL: no connection to %s\n", server.c_str());
    return 1;
  }

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
    if (!services.contains(conventional))
      Fail(std::string("reflection does not list ") + conventional);
  }
  for (const std::string& name : expected) {
    if (!services.contains(name)) {
      Fail("reflection does not list " + name);
      continue;
    }
    ServerReflectionRequest describe;
    describe.set_file_containing_symbol(name);
    ServerReflectionResponse described;
    if (!Ask(*reflection, describe, &described)) continue;
    bool defined = false;
    for (const std::string& bytes : described.file_descriptor_response().file_descriptor_proto()) {
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

  auto health = Health::NewStub(channel);
  auto check = [&](const std::string& service) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
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
    if (!status.ok()) {
      Fail("health of " + what + ": " + status.error_message());
    } else if (serving != HealthCheckResponse::SERVING) {
      Fail("health of " + what + ": " + HealthCheckResponse::ServingStatus_Name(serving));
    } else {
      std::printf("health of %s: SERVING\n", what.c_str());
    }
  }
  const auto [unknown, unused] = check("no.such.Service");
  if (unknown.error_code() != grpc::StatusCode::NOT_FOUND) {
    Fail("health of an unknown service: code " + std::to_string(unknown.error_code()) +
         ", not NOT_FOUND");
  } else {
    std::printf("health of no.such.Service: NOT_FOUND\n");
  }
  std::printf("%s\n", failures == 0 ? "PASS" : "FAILED");
  return failures == 0 ? 0 : 1;
}
