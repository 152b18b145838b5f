// The gRPC service and the HTTP API over a real storage::Timeline: a base imported through
// Import, redo streamed through StreamWAL in small chunks, pages read back through GetPages
// and the HTTP API and compared with the timeline's own answer. Whether those answers are
// right is storage/timeline_test's job; this checks nothing is lost or changed on the wire.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/byte_order.h"
#include "common/testing/temp_dir.h"
#include "common/testing/test_seed.h"
#include "nlohmann/json.hpp"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "service/http_api.h"
#include "service/page_service.h"
#include "service/testing/in_process_servers.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::service {
namespace {

using wal::testing::Bytes;
using wal::testing::MtrBuilder;

constexpr Lsn kBase(1'000'000);
constexpr SpaceId kSpace(5);
constexpr uint32_t kPages = 8;
constexpr uint32_t kFlags = 0x15;  // full_crc32, 16 KiB
constexpr size_t kPageSize = 16384;

Bytes BasePage(uint32_t page) {
  Bytes p(kPageSize, 0);
  WriteBe32(&p[redo::kFilPageOffset], page);
  WriteBe32(&p[redo::kFilPageSpaceId], kSpace.value());
  if (page == 0) WriteBe32(&p[redo::kFspSpaceFlags], kFlags);
  redo::PrepareForWrite(p, PageId{kSpace, PageNo(page)}, true);
  return p;
}

// `count` mini-transactions of WRITEs to pages 1.. of kSpace, and the end LSN of each.
Bytes MakeRedo(int count, std::mt19937& rng, std::vector<Lsn>* ends) {
  Bytes out;
  for (int i = 0; i < count; ++i) {
    MtrBuilder b;
    b.Write(PageId{kSpace, PageNo(1 + rng() % (kPages - 1))}, 200 + rng() % 1000,
            Bytes(1 + rng() % 40, static_cast<uint8_t>(rng())));
    Bytes mtr = b.Build(1);
    out.insert(out.end(), mtr.begin(), mtr.end());
    ends->push_back(kBase + out.size());
  }
  return out;
}

class ServiceE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = storage::Timeline::Open(dir_.path().string(), {.in_memory_layer_bytes = 8 << 10,
                                                            .wal_segment_bytes = 16 << 10,
                                                            .image_chain_threshold = 6,
                                                            .sync = false});
    ASSERT_TRUE(t.ok()) << t.status();
    timeline_ = std::move(*t);
    ServiceOptions options;
    options.wal_batch_bytes = 1000;  // several batches per stream
    options.read_wait_limit = absl::Milliseconds(200);
    timelines_ = std::make_unique<tenant::SingleTimeline>(*timeline_);
    servers_.Start(*timelines_, metrics_, options);
  }
  void TearDown() override { servers_.Stop(); }

  grpc::Status Import() {
    grpc::ClientContext context;
    ImportResponse response;
    auto writer = servers_.stub->Import(&context, &response);
    ImportChunk first;
    first.mutable_catalog()->set_lsn(kBase.value());
    first.mutable_catalog()->set_page_size(kPageSize);
    Tablespace* t = first.mutable_catalog()->add_tablespaces();
    t->set_space_id(kSpace.value());
    t->set_path("db/t.ibd");
    t->set_flags(kFlags);
    t->set_pages(kPages);
    writer->Write(first);
    for (uint32_t p = 0; p < kPages; ++p) {
      ImportChunk chunk;
      ImportChunk::Page* page = chunk.add_pages();
      page->set_space_id(kSpace.value());
      page->set_page_no(p);
      Bytes image = BasePage(p);
      page->set_page_data(std::string(image.begin(), image.end()));
      writer->Write(chunk);
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (status.ok()) {
      EXPECT_EQ(response.pages(), kPages);
    }
    return status;
  }

  // Sends bytes[from, to) at kBase + from in chunks of 1..max_chunk bytes.
  grpc::Status Stream(const Bytes& bytes, size_t from, size_t to, std::mt19937& rng,
                      size_t max_chunk, StreamWalResponse* response,
                      std::vector<size_t>* chunk_starts = nullptr) {
    grpc::ClientContext context;
    auto writer = servers_.stub->StreamWAL(&context, response);
    for (size_t at = from; at < to;) {
      size_t n = std::min<size_t>(to - at, 1 + rng() % max_chunk);
      WalChunk chunk;
      chunk.set_start_lsn((kBase + at).value());
      chunk.set_wal_data(std::string(bytes.begin() + at, bytes.begin() + at + n));
      if (chunk_starts != nullptr) chunk_starts->push_back(at);
      if (!writer->Write(chunk)) break;
      at += n;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  pageserver::testing::TempDir dir_{"service_e2e_test"};
  std::unique_ptr<storage::Timeline> timeline_;
  PageServerMetrics metrics_;
  std::unique_ptr<tenant::SingleTimeline> timelines_;
  testing::InProcessServers servers_;
};

TEST_F(ServiceE2eTest, PagesReadOverTheWireEqualTheTimelines) {
  std::mt19937 rng(pageserver::testing::TestSeed());
  ASSERT_TRUE(Import().ok());
  std::vector<Lsn> ends;
  Bytes redo = MakeRedo(300, rng, &ends);
  StreamWalResponse response;
  grpc::Status status = Stream(redo, 0, redo.size(), rng, 300, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.last_record_lsn(), (kBase + redo.size()).value());
  EXPECT_EQ(response.bytes_stored(), redo.size());

  for (Lsn lsn : {kBase, ends[10], ends[150], ends.back(), Lsn(0)}) {
    GetPagesRequest request;
    for (uint32_t p = 0; p < kPages; ++p) {
      GetPageRequest* r = request.add_pages();
      r->set_space_id(kSpace.value());
      r->set_page_no(p);
      r->set_lsn(lsn.value());
    }
    grpc::ClientContext context;
    GetPagesResponse pages;
    ASSERT_TRUE(servers_.stub->GetPages(&context, request, &pages).ok());
    for (uint32_t p = 0; p < kPages; ++p) {
      auto expected = timeline_->GetPage(PageId{kSpace, PageNo(p)}, lsn, absl::Now());
      ASSERT_TRUE(expected.ok()) << expected.status();
      const GetPageResponse& got = pages.pages(p);
      ASSERT_FALSE(got.has_error()) << got.error().message();
      EXPECT_EQ(got.page_data(), std::string(expected->image.begin(), expected->image.end()));
      EXPECT_EQ(got.lsn(), expected->lsn.value());
      EXPECT_EQ(got.records_applied(), expected->records_applied);

      nlohmann::json body = {{"space_id", kSpace.value()}, {"page_no", p}, {"lsn", lsn.value()}};
      auto res = servers_.client->Post("/api/v1/get_page", body.dump(), "application/json");
      ASSERT_TRUE(res);
      ASSERT_EQ(res->status, 200) << res->body;
      std::string data;
      ASSERT_TRUE(absl::Base64Unescape(
          nlohmann::json::parse(res->body)["page_data"].get<std::string>(), &data));
      EXPECT_EQ(data, got.page_data());
    }
  }
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("pageserver_wal_ingested_bytes_total " + std::to_string(redo.size()) + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("pageserver_imported_pages_total 8\n"), std::string::npos);
}

TEST_F(ServiceE2eTest, CorruptChunkFailsTheCallNamingTheLsnAndKeepsWhatCameBefore) {
  std::mt19937 rng(pageserver::testing::TestSeed());
  ASSERT_TRUE(Import().ok());
  std::vector<Lsn> ends;
  Bytes redo = MakeRedo(40, rng, &ends);
  // Corrupt the last CRC byte of mini-transaction 30; it starts where 29 ends.
  size_t bad_start = ends[29] - kBase;
  size_t bad_end = ends[30] - kBase;
  redo[bad_end - 1] ^= 0x01;
  StreamWalResponse response;
  // Chunks of at most 64 bytes: the batch that holds the bad one has good chunks before it.
  std::vector<size_t> chunk_starts;
  grpc::Status status = Stream(redo, 0, redo.size(), rng, 64, &response, &chunk_starts);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("LSN " + std::to_string((kBase + bad_start).value())),
            std::string::npos)
      << status.error_message();
  // Every mini-transaction that ends before the chunk with the bad byte is stored.
  size_t bad_chunk = 0;
  for (size_t start : chunk_starts) {
    if (start < bad_end) bad_chunk = start;
  }
  Lsn stored = kBase;
  for (Lsn end : ends) {
    if (end <= kBase + bad_chunk) stored = end;
  }
  EXPECT_GT(stored, kBase);
  EXPECT_EQ(timeline_->Status().last_record_lsn, stored);
}

TEST_F(ServiceE2eTest, ReadPastTheEndTimesOutWithDeadlineExceeded) {
  ASSERT_TRUE(Import().ok());
  grpc::ClientContext context;
  GetPageRequest request;
  request.set_space_id(kSpace.value());
  request.set_page_no(1);
  request.set_lsn(kBase.value() + 100);
  GetPageResponse response;
  grpc::Status status = servers_.stub->GetPage(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::DEADLINE_EXCEEDED) << status.error_message();
}

}  // namespace
}  // namespace pageserver::service
