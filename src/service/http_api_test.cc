// The HTTP JSON API over a FakeTimeline, on a real socket (127.0.0.1, any free port).
#include "service/http_api.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "common/testing/test_seed.h"
#include "nlohmann/json.hpp"
#include "service/testing/fake_timeline.h"

namespace pageserver::service {
namespace {

using nlohmann::json;
using testing::FakeTimeline;
using testing::PageImage;

std::string Base64(const std::vector<uint8_t>& bytes) {
  std::string out;
  absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                     &out);
  return out;
}

std::string Base64(const std::string& bytes) {
  return Base64(std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_.AddTimelineGauges(timeline_);
    api_ = std::make_unique<HttpApi>(timelines_, metrics_);
    absl::StatusOr<int> port = api_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    api_->Start();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
  }
  void TearDown() override { api_->Stop(); }

  // The answer's status and JSON body (null when the body is not JSON).
  std::pair<int, json> Post(const std::string& path, const std::string& body) {
    auto res = client_->Post(path.c_str(), body, "application/json");
    if (!res) return {-1, nullptr};
    return {res->status, json::parse(res->body, nullptr, false)};
  }
  std::pair<int, json> Get(const std::string& path) {
    auto res = client_->Get(path.c_str());
    if (!res) return {-1, nullptr};
    return {res->status, json::parse(res->body, nullptr, false)};
  }
  void ExpectError(const std::pair<int, json>& answer, int status, const std::string& code,
                   const std::string& says = "") {
    EXPECT_EQ(answer.first, status) << answer.second.dump();
    ASSERT_TRUE(answer.second.is_object()) << answer.second.dump();
    EXPECT_EQ(answer.second.value("code", ""), code) << answer.second.dump();
    EXPECT_NE(answer.second.value("error", "").find(says), std::string::npos)
        << answer.second.dump();
  }

  FakeTimeline timeline_{Lsn(1000),
                         {{SpaceId(0), "ibdata1", 0, 100}, {SpaceId(5), "test/t1.ibd", 0x21, 8}}};
  tenant::SingleTimeline timelines_{timeline_};
  PageServerMetrics metrics_;
  std::unique_ptr<HttpApi> api_;
  std::unique_ptr<httplib::Client> client_;
};

TEST(HttpStatusFor, Mapping) {
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kOk), 200);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kOutOfRange), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kFailedPrecondition), 409);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kDataLoss), 500);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInternal), 500);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnavailable), 503);
}

TEST_F(HttpApiTest, GetPage) {
  auto [status, body] = Post("/api/v1/get_page", R"({"space_id": 5, "page_no": 2})");
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["space_id"], 5);
  EXPECT_EQ(body["page_no"], 2);
  EXPECT_EQ(body["lsn"], 1000);
  EXPECT_EQ(body["page_data"], Base64(PageImage({SpaceId(5), PageNo(2)}, Lsn(1000))));
  EXPECT_EQ(body["freed"], false);
  EXPECT_EQ(body["records_applied"], 2);
}

TEST_F(HttpApiTest, GetPageAtAnLsnGivenAsAString) {
  auto [status, body] =
      Post("/api/v1/get_page", R"({"space_id": "5", "page_no": 3, "lsn": "1000"})");
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["freed"], true);
}

TEST_F(HttpApiTest, GetPageStorageErrors) {
  ExpectError(Post("/api/v1/get_page", R"({"space_id": 9, "page_no": 0})"), 404, "NOT_FOUND",
              "tablespace 9");
  ExpectError(Post("/api/v1/get_page", R"({"space_id": 5, "page_no": 8})"), 400, "OUT_OF_RANGE",
              "page 8");
  ExpectError(Post("/api/v1/get_page", R"({"space_id": 5, "page_no": 0, "lsn": 5})"), 400,
              "OUT_OF_RANGE", "LSN 5");
  ExpectError(Post("/api/v1/get_page", R"({"space_id": 5, "page_no": 0, "lsn": 99999})"), 504,
              "DEADLINE_EXCEEDED", "LSN 99999");
}

TEST_F(HttpApiTest, GetPageMalformedRequests) {
  ExpectError(Post("/api/v1/get_page", "{not json"), 400, "INVALID_ARGUMENT", "JSON");
  ExpectError(Post("/api/v1/get_page", ""), 400, "INVALID_ARGUMENT", "JSON");
  ExpectError(Post("/api/v1/get_page", "[1, 2]"), 400, "INVALID_ARGUMENT", "object");
  ExpectError(Post("/api/v1/get_page", R"({"page_no": 1})"), 400, "INVALID_ARGUMENT", "space_id");
  ExpectError(Post("/api/v1/get_page", R"({"space_id": -1, "page_no": 1})"), 400,
              "INVALID_ARGUMENT", "space_id");
  ExpectError(Post("/api/v1/get_page", R"({"space_id": 1.5, "page_no": 1})"), 400,
              "INVALID_ARGUMENT", "space_id");
  ExpectError(Post("/api/v1/get_page", R"({"space_id": 4294967296, "page_no": 1})"), 400,
              "INVALID_ARGUMENT", "too large");
  ExpectError(Post("/api/v1/get_page", R"({"space_id": "5x", "page_no": 1})"), 400,
              "INVALID_ARGUMENT", "5x");
  ExpectError(Post("/api/v1/get_page", R"({"space_id": true, "page_no": 1})"), 400,
              "INVALID_ARGUMENT", "space_id");
  ExpectError(Post("/api/v1/get_page", R"({"space_id": 1, "page_no": {}})"), 400,
              "INVALID_ARGUMENT", "page_no");
  EXPECT_NE(metrics_.Render().find("pageserver_http_errors_total{handler=\"get_page\"} 10\n"),
            std::string::npos);
}

TEST_F(HttpApiTest, StreamWal) {
  auto [status, body] =
      Post("/api/v1/stream_wal",
           json{{"lsn", 1000}, {"wal_data", Base64(std::string(300, 'w'))}}.dump());
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["last_record_lsn"], 1300);
  EXPECT_EQ(body["received_lsn"], 1300);
  EXPECT_EQ(body["bytes_stored"], 300);
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("pageserver_wal_ingested_bytes_total 300\n"), std::string::npos);
  EXPECT_NE(text.find("pageserver_last_record_lsn 1300\n"), std::string::npos);
}

TEST_F(HttpApiTest, StreamWalErrors) {
  ExpectError(Post("/api/v1/stream_wal", json{{"lsn", 5000}, {"wal_data", "AAAA"}}.dump()), 409,
              "FAILED_PRECONDITION", "LSN 5000");
  ExpectError(Post("/api/v1/stream_wal", json{{"lsn", 1000}, {"wal_data", "@@@"}}.dump()), 400,
              "INVALID_ARGUMENT", "base64");
  ExpectError(Post("/api/v1/stream_wal", json{{"lsn", 1000}}.dump()), 400, "INVALID_ARGUMENT",
              "wal_data");
  ExpectError(Post("/api/v1/stream_wal", json{{"lsn", 1000}, {"wal_data", 7}}.dump()), 400,
              "INVALID_ARGUMENT", "wal_data");
  ExpectError(Post("/api/v1/stream_wal", json{{"wal_data", "AAAA"}}.dump()), 400,
              "INVALID_ARGUMENT", "lsn");
  ExpectError(Post("/api/v1/stream_wal", json{{"lsn", 1000}, {"wal_data", Base64("a\xFF")}}.dump()),
              400, "INVALID_ARGUMENT", "LSN 1001");
}

TEST_F(HttpApiTest, WaitUploadedAnswersOnceTheUploadsAreDone) {
  storage::TimelineStatus s = timeline_.Status();
  s.remote_consistent_lsn = Lsn(4242);
  timeline_.SetStatus(s);
  auto [ok, body] = Get("/api/v1/wait_uploaded?timeout_ms=1000");
  ASSERT_EQ(ok, 200);
  EXPECT_EQ(body["remote_consistent_lsn"], 4242);
  timeline_.SetUploads(absl::DeadlineExceededError("uploads to s3://b still pending"));
  auto [late, error] = Get("/api/v1/wait_uploaded");
  EXPECT_EQ(late, 504);
  EXPECT_NE(error["error"].get<std::string>().find("still pending"), std::string::npos);
  timeline_.SetUploads(absl::FailedPreconditionError("generation 1 is fenced"));
  EXPECT_EQ(Get("/api/v1/wait_uploaded").first, 409);
  EXPECT_EQ(Get("/api/v1/wait_uploaded?timeout_ms=soon").first, 400);
}

TEST_F(HttpApiTest, CheckpointFlushesTheTimeline) {
  storage::TimelineStatus s = timeline_.Status();
  s.disk_consistent_lsn = Lsn(1000);
  s.compactions = 3;
  timeline_.SetStatus(s);
  auto res = client_->Put("/api/v1/checkpoint", "", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json body = json::parse(res->body);
  EXPECT_EQ(body["disk_consistent_lsn"], 1000);
  EXPECT_EQ(body["compactions"], 3);
  EXPECT_EQ(timeline_.flushes(), 1);
  timeline_.SetFlushResult(absl::DataLossError("layer file damaged"));
  auto failed = client_->Put("/api/v1/checkpoint", "", "application/json");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 500);
  EXPECT_EQ(Get("/api/v1/checkpoint").first, 404) << "only PUT flushes";
}

TEST_F(HttpApiTest, PingAndStatus) {
  auto [status, ping] = Get("/api/v1/ping");
  ASSERT_EQ(status, 200);
  EXPECT_EQ(ping["status"], "ok");
  EXPECT_EQ(ping["last_record_lsn"], 1000);

  storage::TimelineStatus s = timeline_.Status();
  s.image_layer_bytes = 10;
  s.delta_layer_bytes = 5;
  s.remote_consistent_lsn = Lsn(777);
  s.wal_syncs = 12;
  timeline_.SetStatus(s);
  auto [code, body] = Get("/api/v1/status");
  ASSERT_EQ(code, 200);
  for (const char* key :
       {"base_lsn", "last_record_lsn", "durable_lsn", "received_lsn", "disk_consistent_lsn",
        "image_layers", "delta_layers", "layer_bytes", "image_layer_bytes", "delta_layer_bytes",
        "in_memory_bytes", "tablespaces"}) {
    EXPECT_TRUE(body.contains(key)) << key;
  }
  EXPECT_EQ(body["layer_bytes"], 15);
  EXPECT_EQ(body["tablespaces"], 2);
  EXPECT_EQ(body["remote_consistent_lsn"], 777);
  EXPECT_EQ(body["wal_syncs"], 12);
}

TEST_F(HttpApiTest, Tablespaces) {
  auto [status, body] = Get("/api/v1/tablespaces");
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["lsn"], 1000);
  ASSERT_EQ(body["tablespaces"].size(), 2u);
  EXPECT_EQ(body["tablespaces"][1]["path"], "test/t1.ibd");
  EXPECT_EQ(body["tablespaces"][1]["flags"], 0x21);
  EXPECT_EQ(body["tablespaces"][1]["pages"], 8);

  ExpectError(Get("/api/v1/tablespaces?lsn=abc"), 400, "INVALID_ARGUMENT", "lsn");
  ExpectError(Get("/api/v1/tablespaces?lsn=1"), 400, "OUT_OF_RANGE", "LSN 1");
}

TEST_F(HttpApiTest, TablespaceSize) {
  auto [status, body] = Get("/api/v1/tablespace_size?space_id=5&lsn=1000");
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["space_id"], 5);
  EXPECT_EQ(body["pages"], 8);
  ExpectError(Get("/api/v1/tablespace_size"), 400, "INVALID_ARGUMENT", "space_id");
  ExpectError(Get("/api/v1/tablespace_size?space_id=-3"), 400, "INVALID_ARGUMENT", "space_id");
  ExpectError(Get("/api/v1/tablespace_size?space_id=77"), 404, "NOT_FOUND", "77");
}

TEST_F(HttpApiTest, Metrics) {
  Post("/api/v1/get_page", R"({"space_id": 5, "page_no": 2})");
  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), kPrometheusContentType);
  EXPECT_NE(res->body.find("pageserver_http_requests_total{handler=\"get_page\"} 1\n"),
            std::string::npos);
  EXPECT_NE(res->body.find("pageserver_getpage_latency_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(res->body.find("# TYPE pageserver_last_record_lsn gauge\n"), std::string::npos);
}

TEST_F(HttpApiTest, UnknownPathIsJson404) {
  ExpectError(Get("/api/v1/nothing"), 404, "NOT_FOUND", "/api/v1/nothing");
  ExpectError(Post("/api/v1/ping", "{}"), 404, "NOT_FOUND");
}

TEST_F(HttpApiTest, RandomBodiesNeverCrashTheServer) {
  std::mt19937_64 rng(pageserver::testing::TestSeed());
  const std::string alphabet =
      "{}[]\":,0123456789-+.eE truefalsnul\\u"
      "\xff"
      "xyz";
  const char* fields[] = {"space_id", "page_no", "lsn", "wal_data"};
  for (int i = 0; i < 200; ++i) {
    std::string body;
    if (i % 2 == 0) {
      size_t n = rng() % 64;
      for (size_t k = 0; k < n; ++k) body += alphabet[rng() % alphabet.size()];
    } else {
      json j = json::object();
      for (const char* f : fields) {
        switch (rng() % 5) {
          case 0:
            break;
          case 1:
            j[f] = static_cast<int64_t>(rng());
            break;
          case 2:
            j[f] = std::to_string(rng() % 3000);
            break;
          case 3:
            j[f] = json::array({1, "x"});
            break;
          default:
            j[f] = Base64(std::string(rng() % 10, 'a'));
        }
      }
      body = j.dump();
    }
    for (const char* path : {"/api/v1/get_page", "/api/v1/stream_wal"}) {
      auto [status, answer] = Post(path, body);
      ASSERT_GT(status, 0) << "server gone after body " << body;
      EXPECT_NE(status, 500) << body << " -> " << answer.dump();
      EXPECT_TRUE(answer.is_object()) << body;
    }
  }
  EXPECT_EQ(Get("/api/v1/ping").first, 200);
}

}  // namespace
}  // namespace pageserver::service
