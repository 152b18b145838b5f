// Test-only: the gRPC service in process and the HTTP API on a loopback port, over a tenant's
// timelines, with a stub and an HTTP client to them. Header-only.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>

#include "service/http_api.h"
#include "service/page_service.h"

namespace pageserver::service::testing {

struct InProcessServers {
  // `tenant`, when given, serves the HTTP management routes.
  void Start(tenant::TimelineResolver& timelines, PageServerMetrics& metrics,
             ServiceOptions options = {}, tenant::Tenant* tenant = nullptr) {
    service = std::make_unique<PageService>(timelines, metrics, options);
    grpc::ServerBuilder builder;
    builder.RegisterService(service.get());
    server = builder.BuildAndStart();
    stub = PageServer::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
    http = std::make_unique<HttpApi>(timelines, metrics, options, tenant);
    auto port = http->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    http->Start();
    client = std::make_unique<httplib::Client>("127.0.0.1", *port);
  }
  void Stop() {
    if (http) http->Stop();
    if (server) server->Shutdown();
  }

  std::unique_ptr<PageService> service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<PageServer::Stub> stub;
  std::unique_ptr<HttpApi> http;
  std::unique_ptr<httplib::Client> client;
};

}  // namespace pageserver::service::testing
