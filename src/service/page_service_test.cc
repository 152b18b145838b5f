// The gRPC wire mapping of PageService, over a FakeTimeline and an in-process channel.
#include "service/page_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "service/testing/fake_timeline.h"

namespace pageserver::service {
namespace {

using testing::FakeTimeline;
using testing::PageImage;

std::vector<storage::TablespaceInfo> Catalog() {
  return {{SpaceId(0), "ibdata1", 0, 100}, {SpaceId(5), "test/t1.ibd", 0x21, 8}};
}

std::string Str(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

class PageServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(ServiceOptions{}); }
  void TearDown() override { Stop(); }

  void Start(ServiceOptions options) {
    timelines_ = std::make_unique<tenant::SingleTimeline>(*timeline_);
    service_ = std::make_unique<PageService>(*timelines_, metrics_, options);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    stub_ = PageServer::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void Stop() {
    if (server_ != nullptr) server_->Shutdown();
    server_.reset();
  }
  void Restart(ServiceOptions options) {
    Stop();
    Start(options);
  }

  GetPageRequest Request(uint32_t space, uint32_t page, uint64_t lsn) {
    GetPageRequest r;
    r.set_space_id(space);
    r.set_page_no(page);
    r.set_lsn(lsn);
    return r;
  }

  grpc::Status StreamWal(const std::vector<std::pair<uint64_t, std::string>>& chunks,
                         StreamWalResponse* response) {
    grpc::ClientContext context;
    auto writer = stub_->StreamWAL(&context, response);
    for (const auto& [lsn, data] : chunks) {
      WalChunk chunk;
      chunk.set_start_lsn(lsn);
      chunk.set_wal_data(data);
      if (!writer->Write(chunk)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  std::unique_ptr<FakeTimeline> timeline_ = std::make_unique<FakeTimeline>(Lsn(1000), Catalog());
  PageServerMetrics metrics_;
  std::unique_ptr<tenant::SingleTimeline> timelines_;
  std::unique_ptr<PageService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<PageServer::Stub> stub_;
};

TEST(ToGrpcStatus, KeepsCodeNumberAndMessage) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status status(static_cast<absl::StatusCode>(code), "at LSN 42");
    grpc::Status g = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(g.error_code()), code);
    EXPECT_EQ(g.error_message(), "at LSN 42");
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST_F(PageServiceTest, GetPageReturnsTheImageAtTheLatestLsn) {
  grpc::ClientContext context;
  GetPageResponse response;
  ASSERT_TRUE(stub_->GetPage(&context, Request(5, 3, 0), &response).ok());
  EXPECT_EQ(response.space_id(), 5u);
  EXPECT_EQ(response.page_no(), 3u);
  EXPECT_EQ(response.lsn(), 1000u);
  EXPECT_EQ(response.page_data(), Str(PageImage({SpaceId(5), PageNo(3)}, Lsn(1000))));
  EXPECT_TRUE(response.freed());
  EXPECT_EQ(response.records_applied(), 3u);
  EXPECT_FALSE(response.has_error());
}

TEST_F(PageServiceTest, GetPageErrorsKeepCodeAndMessage) {
  struct Case {
    uint32_t space, page;
    uint64_t lsn;
    grpc::StatusCode code;
    const char* says;
  };
  for (const Case& c :
       {Case{9, 0, 0, grpc::NOT_FOUND, "tablespace 9"}, Case{5, 8, 0, grpc::OUT_OF_RANGE, "page 8"},
        Case{5, 0, 999, grpc::OUT_OF_RANGE, "LSN 999"},
        Case{5, 0, 2000, grpc::DEADLINE_EXCEEDED, "LSN 2000"}}) {
    grpc::ClientContext context;
    GetPageResponse response;
    grpc::Status status = stub_->GetPage(&context, Request(c.space, c.page, c.lsn), &response);
    EXPECT_EQ(status.error_code(), c.code) << c.says;
    EXPECT_NE(status.error_message().find(c.says), std::string::npos) << status.error_message();
  }
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("pageserver_grpc_requests_total{method=\"GetPage\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("pageserver_grpc_errors_total{method=\"GetPage\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("pageserver_getpage_errors_total 4\n"), std::string::npos);
}

TEST_F(PageServiceTest, ReadWithoutDeadlineWaitsTheWaitLimit) {
  ServiceOptions options;
  options.read_wait_limit = absl::Seconds(77);
  Restart(options);
  grpc::ClientContext context;
  GetPageResponse response;
  absl::Time before = absl::Now();
  ASSERT_TRUE(stub_->GetPage(&context, Request(0, 1, 0), &response).ok());
  absl::Time deadline = timeline_->last_deadline();
  EXPECT_GE(deadline, before + absl::Seconds(77));
  EXPECT_LE(deadline, absl::Now() + absl::Seconds(77));
}

TEST_F(PageServiceTest, ReadWithCallDeadlineUsesIt) {
  grpc::ClientContext context;
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(300);
  context.set_deadline(deadline);
  GetPageResponse response;
  ASSERT_TRUE(stub_->GetPage(&context, Request(0, 1, 0), &response).ok());
  EXPECT_LT(absl::AbsDuration(timeline_->last_deadline() - absl::FromChrono(deadline)),
            absl::Milliseconds(50));
}

TEST_F(PageServiceTest, GetPagesAnswersInOrderWithErrorsPerPage) {
  GetPagesRequest request;
  *request.add_pages() = Request(0, 1, 0);
  *request.add_pages() = Request(9, 1, 0);
  *request.add_pages() = Request(5, 2, 1000);
  grpc::ClientContext context;
  GetPagesResponse response;
  ASSERT_TRUE(stub_->GetPages(&context, request, &response).ok());
  ASSERT_EQ(response.pages_size(), 3);
  EXPECT_FALSE(response.pages(0).has_error());
  EXPECT_EQ(response.pages(0).page_data(), Str(PageImage({SpaceId(0), PageNo(1)}, Lsn(1000))));
  EXPECT_EQ(response.pages(1).space_id(), 9u);
  EXPECT_EQ(response.pages(1).error().code(), grpc::NOT_FOUND);
  EXPECT_NE(response.pages(1).error().message().find("tablespace 9"), std::string::npos);
  EXPECT_TRUE(response.pages(1).page_data().empty());
  EXPECT_FALSE(response.pages(2).has_error());
  EXPECT_EQ(response.pages(2).page_no(), 2u);
}

TEST_F(PageServiceTest, StreamGetPagesAnswersEachRequestInOrder) {
  grpc::ClientContext context;
  auto stream = stub_->StreamGetPages(&context);
  std::vector<GetPageRequest> requests = {Request(5, 1, 0), Request(5, 100, 0), Request(0, 7, 0)};
  // The in-process transport does not buffer: a write waits for the peer's read, so the
  // requests go from a thread of their own while the answers are read here.
  std::thread writer([&]() {
    for (const auto& r : requests) EXPECT_TRUE(stream->Write(r));
    stream->WritesDone();
  });
  GetPageResponse response;
  std::vector<GetPageResponse> answers;
  while (stream->Read(&response)) answers.push_back(response);
  writer.join();
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].page_data(), Str(PageImage({SpaceId(5), PageNo(1)}, Lsn(1000))));
  EXPECT_EQ(answers[1].error().code(), grpc::OUT_OF_RANGE);
  EXPECT_EQ(answers[1].page_no(), 100u);
  EXPECT_EQ(answers[2].page_no(), 7u);
  EXPECT_FALSE(answers[2].has_error());
}

TEST_F(PageServiceTest, StreamWalConcatenatesContiguousChunksIntoOneIngest) {
  std::vector<std::pair<uint64_t, std::string>> chunks;
  for (int i = 0; i < 10; ++i) chunks.push_back({1000 + i * 100, std::string(100, 'a')});
  StreamWalResponse response;
  ASSERT_TRUE(StreamWal(chunks, &response).ok());
  auto calls = timeline_->ingest_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].start, Lsn(1000));
  EXPECT_EQ(calls[0].size, 1000u);
  EXPECT_EQ(response.last_record_lsn(), 2000u);
  EXPECT_EQ(response.received_lsn(), 2000u);
  EXPECT_EQ(response.bytes_stored(), 1000u);
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("pageserver_wal_received_bytes_total 1000\n"), std::string::npos);
  EXPECT_NE(text.find("pageserver_wal_ingested_bytes_total 1000\n"), std::string::npos);
  EXPECT_NE(text.find("pageserver_wal_ingested_records_total 1\n"), std::string::npos);
}

TEST_F(PageServiceTest, StreamWalFlushesEveryBatchSize) {
  ServiceOptions options;
  options.wal_batch_bytes = 250;
  Restart(options);
  std::vector<std::pair<uint64_t, std::string>> chunks;
  for (int i = 0; i < 7; ++i) chunks.push_back({1000 + i * 100, std::string(100, 'a')});
  StreamWalResponse response;
  ASSERT_TRUE(StreamWal(chunks, &response).ok());
  auto calls = timeline_->ingest_calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].size, 300u);
  EXPECT_EQ(calls[1].start, Lsn(1300));
  EXPECT_EQ(calls[2].size, 100u);
  EXPECT_EQ(response.bytes_stored(), 700u);
  EXPECT_EQ(response.last_record_lsn(), 1700u);
}

TEST_F(PageServiceTest, StreamWalGapFlushesTheBatchThenFailsNamingTheLsn) {
  StreamWalResponse response;
  grpc::Status status =
      StreamWal({{1000, std::string(100, 'a')}, {1100, "bb"}, {5000, "cc"}}, &response);
  EXPECT_EQ(status.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("LSN 5000"), std::string::npos) << status.error_message();
  auto calls = timeline_->ingest_calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(calls[0].ok);
  EXPECT_EQ(calls[0].size, 102u);
  EXPECT_FALSE(calls[1].ok);
  EXPECT_EQ(timeline_->Status().last_record_lsn, Lsn(1102));
  EXPECT_NE(metrics_.Render().find("pageserver_grpc_errors_total{method=\"StreamWAL\"} 1\n"),
            std::string::npos);
}

TEST_F(PageServiceTest, StreamWalStoresTheChunksBeforeACorruptOne) {
  std::string bad(50, 'c');
  bad[20] = '\xFF';
  StreamWalResponse response;
  grpc::Status status = StreamWal(
      {{1000, std::string(50, 'a')}, {1050, std::string(50, 'b')}, {1100, bad}}, &response);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("LSN 1120"), std::string::npos) << status.error_message();
  // The batch was refused whole, then retried chunk by chunk up to the corrupt one.
  auto calls = timeline_->ingest_calls();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_FALSE(calls[0].ok);
  EXPECT_TRUE(calls[1].ok);
  EXPECT_TRUE(calls[2].ok);
  EXPECT_FALSE(calls[3].ok);
  EXPECT_EQ(timeline_->Status().received_lsn, Lsn(1100));
}

TEST_F(PageServiceTest, StreamWalOverlapIsJudgedByTheTimeline) {
  StreamWalResponse response;
  grpc::Status status = StreamWal({{1000, "aaaa"}, {1002, "aa"}}, &response);
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("LSN 1002"), std::string::npos);
}

TEST_F(PageServiceTest, StreamWalWithoutChunksAnswersTheStatus) {
  StreamWalResponse response;
  ASSERT_TRUE(StreamWal({}, &response).ok());
  EXPECT_EQ(response.last_record_lsn(), 1000u);
  EXPECT_EQ(response.bytes_stored(), 0u);
  EXPECT_TRUE(timeline_->ingest_calls().empty());
}

TEST_F(PageServiceTest, ImportNeedsTheCatalogFirst) {
  timeline_ = std::make_unique<FakeTimeline>();
  Restart(ServiceOptions{});
  {
    grpc::ClientContext context;
    ImportResponse response;
    auto writer = stub_->Import(&context, &response);
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext context;
    ImportResponse response;
    auto writer = stub_->Import(&context, &response);
    ImportChunk chunk;
    chunk.add_pages()->set_page_no(1);
    writer->Write(chunk);
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("catalog"), std::string::npos);
  }
}

TEST_F(PageServiceTest, ImportStoresTheBaseAndRefusesASecondOne) {
  timeline_ = std::make_unique<FakeTimeline>();
  Restart(ServiceOptions{});
  auto import = [&]() {
    grpc::ClientContext context;
    ImportResponse response;
    auto writer = stub_->Import(&context, &response);
    ImportChunk first;
    first.mutable_catalog()->set_lsn(4242);
    first.mutable_catalog()->set_page_size(16384);
    Tablespace* t = first.mutable_catalog()->add_tablespaces();
    t->set_space_id(5);
    t->set_path("test/t1.ibd");
    t->set_pages(2);
    ImportChunk::Page* p = first.add_pages();
    p->set_space_id(5);
    p->set_page_no(0);
    p->set_page_data("zero");
    writer->Write(first);
    ImportChunk second;
    p = second.add_pages();
    p->set_space_id(5);
    p->set_page_no(1);
    p->set_page_data("one");
    writer->Write(second);
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    return std::make_pair(status, response);
  };
  auto [status, response] = import();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.lsn(), 4242u);
  EXPECT_EQ(response.pages(), 2u);
  auto pages = timeline_->imported();
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(Str(pages[PageId{SpaceId(5), PageNo(1)}]), "one");
  EXPECT_EQ(timeline_->Status().base_lsn, Lsn(4242));

  auto [again, unused] = import();
  EXPECT_EQ(again.error_code(), grpc::FAILED_PRECONDITION);
}

TEST_F(PageServiceTest, TablespaceCalls) {
  {
    grpc::ClientContext context;
    TablespaceSizeRequest request;
    request.set_space_id(5);
    TablespaceSizeResponse response;
    ASSERT_TRUE(stub_->GetTablespaceSize(&context, request, &response).ok());
    EXPECT_EQ(response.space_id(), 5u);
    EXPECT_EQ(response.pages(), 8u);
  }
  {
    grpc::ClientContext context;
    TablespaceSizeRequest request;
    request.set_space_id(6);
    TablespaceSizeResponse response;
    EXPECT_EQ(stub_->GetTablespaceSize(&context, request, &response).error_code(), grpc::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    ListTablespacesResponse response;
    ASSERT_TRUE(stub_->ListTablespaces(&context, ListTablespacesRequest(), &response).ok());
    EXPECT_EQ(response.lsn(), 1000u);  // 0 resolved to the latest
    ASSERT_EQ(response.tablespaces_size(), 2);
    EXPECT_EQ(response.tablespaces(1).path(), "test/t1.ibd");
    EXPECT_EQ(response.tablespaces(1).flags(), 0x21u);
  }
}

TEST_F(PageServiceTest, StatusAndPing) {
  storage::TimelineStatus s = timeline_->Status();
  s.last_record_lsn = Lsn(3000);
  s.received_lsn = Lsn(3010);
  s.delta_layers = 4;
  s.in_memory_bytes = 123;
  timeline_->SetStatus(s);
  {
    grpc::ClientContext context;
    StatusResponse response;
    ASSERT_TRUE(stub_->GetStatus(&context, StatusRequest(), &response).ok());
    EXPECT_EQ(response.base_lsn(), 1000u);
    EXPECT_EQ(response.last_record_lsn(), 3000u);
    EXPECT_EQ(response.received_lsn(), 3010u);
    EXPECT_EQ(response.delta_layers(), 4u);
    EXPECT_EQ(response.in_memory_bytes(), 123u);
    EXPECT_EQ(response.tablespaces(), 2u);
  }
  {
    grpc::ClientContext context;
    PingResponse response;
    ASSERT_TRUE(stub_->Ping(&context, PingRequest(), &response).ok());
    EXPECT_EQ(response.last_record_lsn(), 3000u);
  }
}

}  // namespace
}  // namespace pageserver::service
