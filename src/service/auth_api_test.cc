// Auth on (issue 12): every gRPC method and HTTP route of the page server, asked with no token,
// a malformed header, an expired token, a forged one, one signed by a key rotated out, one of too
// small a scope and one for another timeline: each refused (UNAUTHENTICATED / PERMISSION_DENIED,
// 401 / 403), nothing stored, every refusal counted in /metrics; and with the right token, served.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "auth/testing/test_keys.h"
#include "auth/token.h"
#include "common/testing/temp_dir.h"
#include "nlohmann/json.hpp"
#include "service/page_service.h"
#include "service/request_auth.h"
#include "service/testing/in_process_servers.h"
#include "storage/testing/timeline_model.h"
#include "tenant/tenant.h"

namespace pageserver::service {
namespace {

using auth::Scope;
using json = nlohmann::json;
using storage::kBase;
using storage::kSpace;

// How a request presents itself, and what it must get.
struct Presented {
  const char* what;
  std::function<std::string(Scope need)> header;  // the authorization header for a method
  grpc::StatusCode grpc_code;                     // OK: served (any code but the two below)
  int http_status;                                // 200: served (anything but 401 / 403)
};

class AuthApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_ = new auth::testing::KeyPair(auth::testing::NewRsaKey());
    rotated_out_ = new auth::testing::KeyPair(auth::testing::NewRsaKey());
  }
  void SetUp() override {
    auto t = tenant::Tenant::Open(
        data_.path().string(),
        {.in_memory_layer_bytes = 8 << 10, .wal_segment_bytes = 16 << 10, .sync = false});
    ASSERT_TRUE(t.ok()) << t.status();
    tenant_ = std::move(*t);
    auto main = tenant_->Get(tenant::kMainTimeline);
    storage::ImportModelBase(**main);
    storage::IngestFrom(**main, kBase, stream_.bytes);
    ASSERT_TRUE(tenant_->CreateBranch({.name = "dev"}).ok());
    auto verifier = auth::TokenVerifier::Create({key_->public_pem});
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    verifier_ = std::move(*verifier);
    ServiceOptions options;
    options.auth = verifier_.get();
    servers_.Start(*tenant_, metrics_, options, tenant_.get());
  }
  void TearDown() override { servers_.Stop(); }

  static std::string Bearer(const auth::testing::KeyPair& key, Scope scope,
                            const std::string& timeline, absl::Duration ttl = absl::Hours(1)) {
    auto token = auth::MintToken(key.private_pem, scope, timeline, ttl, absl::Now());
    EXPECT_TRUE(token.ok()) << token.status();
    return "Bearer " + token.value_or("");
  }
  // The scope one below `need` (none below read: a read token for another timeline then).
  static std::string TooSmall(Scope need) {
    if (need == Scope::kAdmin) return Bearer(*key_, Scope::kCompute, "main");
    if (need == Scope::kCompute) return Bearer(*key_, Scope::kRead, "main");
    return Bearer(*key_, Scope::kRead, "dev");
  }
  static std::string Right(Scope need) {
    return need == Scope::kAdmin ? Bearer(*key_, Scope::kAdmin, "") : Bearer(*key_, need, "main");
  }
  std::vector<Presented> Table() const {
    return {
        {"no token", [](Scope) { return std::string(); }, grpc::UNAUTHENTICATED, 401},
        {"a malformed header", [](Scope) { return std::string("Bearer not.a-jwt"); },
         grpc::UNAUTHENTICATED, 401},
        {"another kind of header", [](Scope) { return std::string("Basic dXNlcjpwdw=="); },
         grpc::UNAUTHENTICATED, 401},
        {"an expired token",
         [](Scope) { return Bearer(*key_, Scope::kAdmin, "", absl::Seconds(-10)); },
         grpc::UNAUTHENTICATED, 401},
        {"a forged signature",
         [](Scope) {
           std::string t = Bearer(*key_, Scope::kAdmin, "");
           t[t.size() - 6] = t[t.size() - 6] == 'A' ? 'B' : 'A';
           return t;
         },
         grpc::UNAUTHENTICATED, 401},
        {"a key rotated out", [](Scope) { return Bearer(*rotated_out_, Scope::kAdmin, ""); },
         grpc::UNAUTHENTICATED, 401},
        {"too small a scope", [](Scope need) { return TooSmall(need); }, grpc::PERMISSION_DENIED,
         403},
        {"another timeline's token",
         [](Scope need) {
           return Bearer(*key_, need == Scope::kAdmin ? Scope::kCompute : need, "dev");
         },
         grpc::PERMISSION_DENIED, 403},
        {"the right token", [](Scope need) { return Right(need); }, grpc::OK, 200},
    };
  }
  // What a refused write must not have changed.
  std::string Fingerprint() {
    auto main = tenant_->Get("main");
    const storage::TimelineStatus s = (*main)->Status();
    auto aux = (*main)->ListAuxFiles(Lsn(0), absl::Now() + absl::Seconds(5));
    return absl::StrCat(s.base_lsn.value(), "/", s.last_record_lsn.value(), "/",
                        s.writer ? s.writer->generation : 0, "/", aux.ok() ? aux->size() : 999, "/",
                        tenant_->List().size());
  }

  static auth::testing::KeyPair* key_;
  static auth::testing::KeyPair* rotated_out_;
  const storage::Stream stream_ = storage::MakeStream(200, 3);
  pageserver::testing::TempDir data_{"auth_api_test"};
  std::unique_ptr<tenant::Tenant> tenant_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  PageServerMetrics metrics_;
  testing::InProcessServers servers_;
};
auth::testing::KeyPair* AuthApiTest::key_ = nullptr;
auth::testing::KeyPair* AuthApiTest::rotated_out_ = nullptr;

TEST_F(AuthApiTest, EveryGrpcMethodRefusesEveryBadTokenAndServesTheRightOne) {
  PageServer::Stub& stub = *servers_.stub;
  using Call = std::function<grpc::Status(grpc::ClientContext&)>;
  const Lsn end = stream_.mtrs.back().end_lsn;
  auto page_request = [&] {
    GetPageRequest r;
    r.set_space_id(kSpace.value());
    r.set_page_no(1);
    r.set_lsn(end.value());
    return r;
  };
  const std::vector<std::tuple<const char*, Scope, Call>> methods = {
      {"GetPage", Scope::kRead,
       [&](grpc::ClientContext& c) {
         GetPageResponse out;
         return stub.GetPage(&c, page_request(), &out);
       }},
      {"GetPages", Scope::kRead,
       [&](grpc::ClientContext& c) {
         GetPagesRequest in;
         *in.add_pages() = page_request();
         GetPagesResponse out;
         return stub.GetPages(&c, in, &out);
       }},
      {"StreamGetPages", Scope::kRead,
       [&](grpc::ClientContext& c) {
         auto s = stub.StreamGetPages(&c);
         s->Write(page_request());
         GetPageResponse out;
         s->Read(&out);
         s->WritesDone();
         return s->Finish();
       }},
      {"StreamWAL", Scope::kCompute,
       [&](grpc::ClientContext& c) {
         StreamWalResponse out;
         auto s = stub.StreamWAL(&c, &out);
         WalChunk chunk;
         chunk.set_start_lsn(end.value());
         chunk.set_wal_data(std::string(storage::MakeStream(5, 9).bytes.size(), '\0'));
         s->Write(chunk);
         s->WritesDone();
         return s->Finish();
       }},
      {"WalSession", Scope::kCompute,
       [&](grpc::ClientContext& c) {
         auto s = stub.WalSession(&c);
         s->WritesDone();
         StreamWalResponse out;
         while (s->Read(&out)) {
         }
         return s->Finish();
       }},
      {"GetTablespaceSize", Scope::kRead,
       [&](grpc::ClientContext& c) {
         TablespaceSizeRequest in;
         in.set_space_id(kSpace.value());
         TablespaceSizeResponse out;
         return stub.GetTablespaceSize(&c, in, &out);
       }},
      {"ListTablespaces", Scope::kRead,
       [&](grpc::ClientContext& c) {
         ListTablespacesRequest in;
         ListTablespacesResponse out;
         return stub.ListTablespaces(&c, in, &out);
       }},
      {"Import", Scope::kAdmin,
       [&](grpc::ClientContext& c) {
         ImportResponse out;
         auto s = stub.Import(&c, &out);
         s->WritesDone();
         return s->Finish();
       }},
      {"TruncateWal", Scope::kCompute,
       [&](grpc::ClientContext& c) {
         TruncateWalRequest in;
         in.set_lsn(end.value());
         TruncateWalResponse out;
         return stub.TruncateWal(&c, in, &out);
       }},
      {"AcquireWriter", Scope::kCompute,
       [&](grpc::ClientContext& c) {
         AcquireWriterRequest in;
         in.set_holder("auth_api_test");
         AcquireWriterResponse out;
         return stub.AcquireWriter(&c, in, &out);
       }},
      {"PutAuxFile", Scope::kCompute,
       [&](grpc::ClientContext& c) {
         PutAuxFileRequest in;
         in.set_path("db/refused.frm");
         in.set_lsn(end.value());
         in.set_content("x");
         PutAuxFileResponse out;
         return stub.PutAuxFile(&c, in, &out);
       }},
      {"GetAuxFile", Scope::kRead,
       [&](grpc::ClientContext& c) {
         GetAuxFileRequest in;
         in.set_path("db/none.frm");
         GetAuxFileResponse out;
         return stub.GetAuxFile(&c, in, &out);
       }},
      {"ListAuxFiles", Scope::kRead,
       [&](grpc::ClientContext& c) {
         ListAuxFilesRequest in;
         ListAuxFilesResponse out;
         return stub.ListAuxFiles(&c, in, &out);
       }},
      {"GetStatus", Scope::kRead,
       [&](grpc::ClientContext& c) {
         StatusRequest in;
         StatusResponse out;
         return stub.GetStatus(&c, in, &out);
       }},
      {"Ping", Scope::kRead,
       [&](grpc::ClientContext& c) {
         PingRequest in;
         PingResponse out;
         return stub.Ping(&c, in, &out);
       }},
  };
  const std::string before = Fingerprint();
  int refused = 0;
  for (const Presented& p : Table()) {
    for (const auto& [name, need, call] : methods) {
      if (p.grpc_code == grpc::OK) continue;  // served below, after the refusals
      grpc::ClientContext context;
      const std::string header = p.header(need);
      if (!header.empty()) context.AddMetadata(kAuthorizationKey, header);
      const grpc::Status s = call(context);
      EXPECT_EQ(s.error_code(), p.grpc_code)
          << name << " with " << p.what << ": " << s.error_code() << " " << s.error_message();
      ++refused;
    }
  }
  EXPECT_EQ(Fingerprint(), before) << "a refused call changed the timeline";
  const std::string rendered = metrics_.Render();
  EXPECT_NE(rendered.find("pageserver_auth_refusals_total{api=\"grpc\",code=\"unauthenticated\"} " +
                          std::to_string(6 * methods.size())),
            std::string::npos)
      << rendered.substr(rendered.find("pageserver_auth_refusals_total"), 600);
  EXPECT_NE(
      rendered.find("pageserver_auth_refusals_total{api=\"grpc\",code=\"permission_denied\"} " +
                    std::to_string(2 * methods.size())),
      std::string::npos);
  EXPECT_EQ(refused, static_cast<int>(8 * methods.size()));
  for (const auto& [name, need, call] : methods) {
    grpc::ClientContext context;
    context.AddMetadata(kAuthorizationKey, Right(need));
    const grpc::Status s = call(context);
    EXPECT_NE(s.error_code(), grpc::UNAUTHENTICATED) << name << ": " << s.error_message();
    EXPECT_NE(s.error_code(), grpc::PERMISSION_DENIED) << name << ": " << s.error_message();
  }
}

TEST_F(AuthApiTest, EveryHttpRouteRefusesEveryBadTokenAndServesTheRightOne) {
  const Lsn end = stream_.mtrs.back().end_lsn;
  const json page = {{"space_id", kSpace.value()}, {"page_no", 1}, {"lsn", end.value()}};
  struct Route {
    const char* method;
    std::string path;
    Scope need;
    std::string body;
  };
  const std::vector<Route> routes = {
      {"POST", "/api/v1/get_page", Scope::kRead, page.dump()},
      {"POST", "/api/v1/stream_wal", Scope::kCompute,
       json{{"lsn", end.value()}, {"wal_data", ""}}.dump()},
      {"GET", "/api/v1/ping", Scope::kRead, ""},
      {"GET", "/api/v1/status", Scope::kRead, ""},
      {"GET", "/api/v1/tablespaces", Scope::kRead, ""},
      {"GET", "/api/v1/tablespace_size?space_id=1", Scope::kRead, ""},
      {"GET", "/api/v1/wait_uploaded", Scope::kAdmin, ""},
      {"PUT", "/api/v1/checkpoint", Scope::kAdmin, ""},
      {"GET", "/api/v1/timelines", Scope::kAdmin, ""},
      {"POST", "/api/v1/timelines", Scope::kAdmin, json{{"name", "made"}}.dump()},
      {"DELETE", "/api/v1/timelines/dev", Scope::kAdmin, ""},
  };
  auto send = [&](const Route& r, const std::string& header) {
    httplib::Headers headers;
    if (!header.empty()) headers.emplace(kAuthorizationKey, header);
    httplib::Client& c = *servers_.client;
    const std::string method = r.method;
    httplib::Result res = method == "GET"    ? c.Get(r.path, headers)
                          : method == "PUT"  ? c.Put(r.path, headers, r.body, "application/json")
                          : method == "POST" ? c.Post(r.path, headers, r.body, "application/json")
                                             : c.Delete(r.path, headers);
    EXPECT_TRUE(res) << r.method << " " << r.path;
    return res ? res->status : 0;
  };
  const std::string before = Fingerprint();
  int unauthenticated = 0, denied = 0;
  for (const Presented& p : Table()) {
    if (p.http_status == 200) continue;
    for (const Route& r : routes) {
      EXPECT_EQ(send(r, p.header(r.need)), p.http_status)
          << r.method << " " << r.path << " with " << p.what;
      (p.http_status == 401 ? unauthenticated : denied)++;
    }
    // /metrics takes any valid token: only the unauthenticated ones are refused there.
    if (p.http_status == 401) {
      EXPECT_EQ(send({"GET", "/metrics", Scope::kRead, ""}, p.header(Scope::kRead)), 401)
          << "/metrics with " << p.what;
      ++unauthenticated;
    }
  }
  EXPECT_EQ(Fingerprint(), before) << "a refused request changed something";
  EXPECT_EQ(send({"GET", "/metrics", Scope::kRead, ""}, Bearer(*key_, Scope::kRead, "dev")), 200);
  const std::string rendered = metrics_.Render();
  EXPECT_NE(rendered.find("pageserver_auth_refusals_total{api=\"http\",code=\"unauthenticated\"} " +
                          std::to_string(unauthenticated)),
            std::string::npos);
  EXPECT_NE(
      rendered.find("pageserver_auth_refusals_total{api=\"http\",code=\"permission_denied\"} " +
                    std::to_string(denied)),
      std::string::npos);
  for (const Route& r : routes) {
    const int status = send(r, Right(r.need));
    EXPECT_NE(status, 401) << r.method << " " << r.path;
    EXPECT_NE(status, 403) << r.method << " " << r.path;
  }
}

}  // namespace
}  // namespace pageserver::service
