// The gRPC service and the HTTP API over a real Tenant (tenant.h): branches made, listed and
// deleted through the management routes, pages of a branch read through gRPC (metadata
// `timeline`) and JSON (`"timeline"`) equal to its ancestor's at the branch LSN, a branch's own
// redo invisible on main, and every refusal with its code. Whether branches read right is
// storage/timeline_branch_test's job; this checks the wire.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "common/testing/temp_dir.h"
#include "nlohmann/json.hpp"
#include "service/http_api.h"
#include "service/page_service.h"
#include "service/testing/in_process_servers.h"
#include "storage/testing/timeline_model.h"
#include "tenant/tenant.h"

namespace pageserver::service {
namespace {

using json = nlohmann::json;
using storage::kBase;
using storage::kPages;
using storage::kSpace;
using storage::Stream;

class TimelinesApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = tenant::Tenant::Open(data_.path().string(), {.in_memory_layer_bytes = 8 << 10,
                                                          .wal_segment_bytes = 16 << 10,
                                                          .sync = false});
    ASSERT_TRUE(t.ok()) << t.status();
    tenant_ = std::move(*t);
    auto main = tenant_->Get(tenant::kMainTimeline);
    storage::ImportModelBase(**main);
    storage::IngestFrom(**main, kBase, stream_.bytes);

    servers_.Start(*tenant_, metrics_, ServiceOptions{}, tenant_.get());
  }
  void TearDown() override { servers_.Stop(); }

  // (HTTP status, JSON body) of a request.
  std::pair<int, json> Call(const std::string& method, const std::string& path,
                            const json& body = nullptr) {
    httplib::Result r = method == "GET"      ? servers_.client->Get(path)
                        : method == "DELETE" ? servers_.client->Delete(path)
                                             : servers_.client->Post(path, body.dump(), "application/json");
    EXPECT_TRUE(r) << method << " " << path;
    if (!r) return {0, nullptr};
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  // A page through gRPC, on `timeline` (none: the default).
  grpc::Status GrpcPage(const std::string& timeline, PageId id, Lsn lsn, std::string* data) {
    grpc::ClientContext context;
    if (!timeline.empty()) context.AddMetadata(kTimelineMetadataKey, timeline);
    GetPageRequest request;
    request.set_space_id(id.space.value());
    request.set_page_no(id.page.value());
    request.set_lsn(lsn.value());
    GetPageResponse response;
    grpc::Status status = servers_.stub->GetPage(&context, request, &response);
    *data = response.page_data();
    return status;
  }
  std::string ModelPage(PageId id, Lsn lsn) {
    const storage::Bytes page = storage::ModelPage(stream_, id, lsn);
    return std::string(page.begin(), page.end());
  }

  const Stream stream_ = storage::MakeStream(800, 11);
  pageserver::testing::TempDir data_{"timelines_api_test"};
  std::unique_ptr<tenant::Tenant> tenant_;
  PageServerMetrics metrics_;
  testing::InProcessServers servers_;
};

TEST_F(TimelinesApiTest, BranchesAreMadeReadListedAndDeletedOverTheWire) {
  const Lsn mid = stream_.mtrs[400].end_lsn;
  const Lsn end = stream_.mtrs.back().end_lsn;
  auto [status, made] = Call("POST", "/api/v1/timelines", {{"name", "b"}, {"lsn", mid.value()}});
  ASSERT_EQ(status, 200) << made.dump();
  EXPECT_EQ(made["name"], "b");
  EXPECT_EQ(made["ancestor"], "main");
  EXPECT_EQ(made["ancestor_lsn"], mid.value());
  EXPECT_EQ(made["timeline_id"].get<std::string>().size(), 32u);
  ASSERT_EQ(Call("POST", "/api/v1/timelines", {{"name", "c"}, {"from", "b"}}).first, 200);

  // Every page of b at the branch LSN, through gRPC and JSON, is main's there.
  for (uint32_t p = 0; p < kPages; ++p) {
    const PageId id{kSpace, PageNo(p)};
    std::string grpc_page;
    ASSERT_TRUE(GrpcPage("b", id, mid, &grpc_page).ok());
    EXPECT_EQ(grpc_page, ModelPage(id, mid)) << ToString(id);
    auto [code, answer] = Call("POST", "/api/v1/get_page",
                               {{"timeline", "b"}, {"space_id", kSpace.value()},
                                {"page_no", p}, {"lsn", mid.value()}});
    ASSERT_EQ(code, 200) << answer.dump();
    std::string json_page;
    ASSERT_TRUE(absl::Base64Unescape(answer["page_data"].get<std::string>(), &json_page));
    EXPECT_EQ(json_page, ModelPage(id, mid)) << ToString(id);
    ASSERT_TRUE(GrpcPage("", id, end, &grpc_page).ok());
    EXPECT_EQ(grpc_page, ModelPage(id, end)) << "main, " << ToString(id);
  }
  // The latest LSN of b is its branch LSN: main's redo after it is not b's.
  auto [ping_code, ping] = Call("GET", "/api/v1/ping?timeline=b");
  ASSERT_EQ(ping_code, 200);
  EXPECT_EQ(ping["last_record_lsn"], mid.value());

  auto [list_code, list] = Call("GET", "/api/v1/timelines");
  ASSERT_EQ(list_code, 200);
  ASSERT_EQ(list["timelines"].size(), 3u);
  EXPECT_EQ(list["timelines"][0]["name"], "main");
  EXPECT_TRUE(list["timelines"][0]["ancestor"].is_null());
  EXPECT_EQ(list["timelines"][2]["name"], "c");
  EXPECT_EQ(list["timelines"][2]["ancestor"], "b");

  // b has a branch: deleted only in a cascade.
  auto [refused, why] = Call("DELETE", "/api/v1/timelines/b");
  EXPECT_EQ(refused, 409) << why.dump();
  EXPECT_EQ(Call("DELETE", "/api/v1/timelines/b?cascade=true").first, 200);
  EXPECT_EQ(Call("GET", "/api/v1/timelines").second["timelines"].size(), 1u);
  std::string gone;
  EXPECT_EQ(GrpcPage("c", PageId{kSpace, PageNo(1)}, mid, &gone).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(TimelinesApiTest, WhatCannotBeDoneIsRefusedWithItsCode) {
  const Lsn end = stream_.mtrs.back().end_lsn;
  auto expect = [&](const std::string& method, const std::string& path, const json& body,
                    int code, const std::string& says) {
    auto [status, answer] = Call(method, path, body);
    EXPECT_EQ(status, code) << method << " " << path << " " << body.dump() << ": "
                            << answer.dump();
    EXPECT_NE(answer.value("error", "").find(says), std::string::npos) << answer.dump();
  };
  expect("POST", "/api/v1/timelines", {{"name", "b"}, {"lsn", end.value() + 1}}, 400,
         "above the timeline's last LSN");
  expect("POST", "/api/v1/timelines", {{"name", "b"}, {"from", "nowhere"}}, 404, "nowhere");
  expect("POST", "/api/v1/timelines", {{"name", "main"}}, 409, "exists already");
  expect("POST", "/api/v1/timelines", {{"name", "a/b"}}, 400, "no timeline name");
  expect("POST", "/api/v1/timelines", {{"lsn", 5}}, 400, "missing field name");
  expect("POST", "/api/v1/timelines", {{"name", "b"}, {"at", "yesterday"}}, 400, "is no time");
  expect("POST", "/api/v1/timelines", {{"name", "b"}, {"at", "2001-01-01 00:00:00"}}, 400,
         "no redo of the timeline is known to have arrived before");
  expect("POST", "/api/v1/get_page", {{"timeline", "nowhere"}, {"space_id", 5}, {"page_no", 1}},
         404, "nowhere");
  expect("GET", "/api/v1/status?timeline=nowhere", nullptr, 404, "nowhere");
  expect("DELETE", "/api/v1/timelines/main", nullptr, 409, "cannot be deleted");
  expect("DELETE", "/api/v1/timelines/nowhere", nullptr, 404, "nowhere");
  EXPECT_EQ(tenant_->List().size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(data_.path() / "timelines" / "b"));
  std::string page;
  EXPECT_EQ(GrpcPage("nowhere", PageId{kSpace, PageNo(1)}, end, &page).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace pageserver::service
