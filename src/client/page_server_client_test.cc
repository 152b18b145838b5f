#include "client/page_server_client.h"

#include <gtest/gtest.h>

#include "client/testing/fake_page_server.h"
#include "common/testing/status_testing.h"

namespace pageserver::client {
namespace {

using pageserver::testing::MessageHas;
using testing::FakePageBytes;
using testing::FakePageServer;

Options FastOptions(const std::string& address) {
  Options o;
  o.address = address;
  o.channels = 2;
  o.deadline = absl::Seconds(10);
  o.max_retries = 3;
  o.initial_backoff = absl::Milliseconds(1);
  o.max_backoff = absl::Milliseconds(5);
  return o;
}

std::unique_ptr<PageServerClient> Connect(const FakePageServer& server) {
  auto client = PageServerClient::Create(FastOptions(server.address()));
  EXPECT_TRUE(client.ok()) << client.status();
  return std::move(*client);
}

TEST(PageServerClient, RejectsUnusableOptions) {
  Options o = FastOptions("");
  EXPECT_EQ(PageServerClient::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = FastOptions("localhost:1");
  o.channels = 0;
  EXPECT_EQ(PageServerClient::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = FastOptions("localhost:1");
  o.deadline = absl::ZeroDuration();
  EXPECT_EQ(PageServerClient::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = FastOptions("localhost:1");
  o.max_backoff = absl::ZeroDuration();
  EXPECT_EQ(PageServerClient::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PageServerClient, GetPage) {
  FakePageServer server;
  auto client = Connect(server);
  auto page = client->GetPage({SpaceId(3), PageNo(9)}, Lsn(777));
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->id, (PageId{SpaceId(3), PageNo(9)}));
  EXPECT_EQ(page->lsn, Lsn(777));
  EXPECT_EQ(page->records_applied, 3u);
  EXPECT_EQ(std::string(page->data.begin(), page->data.end()), FakePageBytes(3, 9, 777, 16384));
}

TEST(PageServerClient, RetriesUnavailable) {
  FakePageServer server;
  server.fail_unavailable = 2;
  auto client = Connect(server);
  auto page = client->GetPage({SpaceId(3), PageNo(9)}, Lsn(777));
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(server.calls.load(), 3);
}

TEST(PageServerClient, GivesUpAfterMaxRetries) {
  FakePageServer server;
  server.fail_unavailable = 100;
  auto client = Connect(server);
  auto lsn = client->Ping();
  EXPECT_EQ(lsn.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(std::string(lsn.status().message()), "scripted failure");
  EXPECT_EQ(server.calls.load(), 4);  // the call and max_retries = 3 retries
}

TEST(PageServerClient, DoesNotRetryAnswers) {
  for (auto code : {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::OUT_OF_RANGE,
                    grpc::StatusCode::NOT_FOUND, grpc::StatusCode::FAILED_PRECONDITION,
                    grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::DATA_LOSS}) {
    FakePageServer server;
    server.error = grpc::Status(code, "tablespace 3 at LSN 777");
    auto client = Connect(server);
    auto page = client->GetPage({SpaceId(3), PageNo(9)}, Lsn(777));
    EXPECT_EQ(static_cast<int>(page.status().code()), static_cast<int>(code));
    EXPECT_EQ(std::string(page.status().message()), "tablespace 3 at LSN 777");
    EXPECT_EQ(server.calls.load(), 1);
  }
}

TEST(PageServerClient, NoServerIsUnavailable) {
  // Port 1 on localhost: nobody listens, the connection is refused at once.
  auto client = PageServerClient::Create(FastOptions("127.0.0.1:1"));
  ASSERT_TRUE(client.ok());
  EXPECT_EQ((*client)->Ping().status().code(), absl::StatusCode::kUnavailable);
}

TEST(PageServerClient, WrongPageSizeIsDataLoss) {
  FakePageServer server;
  server.page_size = 8192;
  auto client = Connect(server);
  auto page = client->GetPage({SpaceId(3), PageNo(9)}, Lsn(777));
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(MessageHas(page.status(), "8192 bytes")) << page.status();
  EXPECT_EQ(server.calls.load(), 1);
}

TEST(PageServerClient, AnswerAboutAnotherPageIsDataLoss) {
  FakePageServer server;
  server.wrong_page = true;
  auto client = Connect(server);
  EXPECT_EQ(client->GetPage({SpaceId(3), PageNo(9)}, Lsn(777)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(PageServerClient, GetPagesWithPerPageErrors) {
  FakePageServer server;
  server.tablespace_pages = 2;
  auto client = Connect(server);
  std::vector<PageRequest> requests;
  for (uint32_t p = 0; p < 3; ++p) requests.push_back({{SpaceId(1), PageNo(p)}, Lsn(50)});
  auto pages = client->GetPages(requests);
  ASSERT_TRUE(pages.ok()) << pages.status();
  ASSERT_EQ(pages->size(), 3u);
  EXPECT_TRUE((*pages)[0].ok());
  EXPECT_TRUE((*pages)[1].ok());
  EXPECT_EQ((*pages)[1]->id.page, PageNo(1));
  EXPECT_EQ((*pages)[2].status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(std::string((*pages)[2].status().message()), "page past the end");
}

TEST(PageServerClient, GetPagesCountMismatchIsDataLoss) {
  FakePageServer server;
  server.drop_batch_answers = 1;
  auto client = Connect(server);
  std::vector<PageRequest> requests(4, PageRequest{{SpaceId(1), PageNo(0)}, Lsn(50)});
  auto pages = client->GetPages(requests);
  EXPECT_EQ(pages.status().code(), absl::StatusCode::kDataLoss);
}

TEST(PageServerClient, GetPagesBiggerThanFourMiB) {
  FakePageServer server;
  auto client = Connect(server);
  std::vector<PageRequest> requests;
  for (uint32_t p = 0; p < 300; ++p) requests.push_back({{SpaceId(1), PageNo(p % 100)}, Lsn(50)});
  auto pages = client->GetPages(requests);
  ASSERT_TRUE(pages.ok()) << pages.status();
  for (const auto& page : *pages) EXPECT_TRUE(page.ok()) << page.status();
}

TEST(PageServerClient, StreamWalSplitsIntoChunks) {
  FakePageServer server;
  auto client = Connect(server);
  std::vector<uint8_t> bytes(10000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
  auto ack = client->StreamWal(Lsn(20000), bytes, 4096);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->received_lsn, Lsn(30000));
  EXPECT_EQ(ack->bytes_stored, 10000u);
  ASSERT_EQ(server.wal_chunks.size(), 3u);
  EXPECT_EQ(server.wal_chunks[0].start_lsn(), 20000u);
  EXPECT_EQ(server.wal_chunks[1].start_lsn(), 24096u);
  EXPECT_EQ(server.wal_chunks[2].start_lsn(), 28192u);
  EXPECT_EQ(server.wal_chunks[2].wal_data().size(), 10000u - 8192u);
  EXPECT_EQ(static_cast<uint8_t>(server.wal_chunks[1].wal_data()[0]), bytes[4096]);
}

TEST(PageServerClient, StreamWalRetriedWhole) {
  FakePageServer server;
  server.fail_unavailable = 1;
  auto client = Connect(server);
  std::vector<uint8_t> bytes(100, 7);
  auto ack = client->StreamWal(Lsn(500), bytes, 40);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->received_lsn, Lsn(600));
  EXPECT_EQ(server.calls.load(), 2);
}

TEST(PageServerClient, TablespaceSizeAndStatus) {
  FakePageServer server;
  auto client = Connect(server);
  auto size = client->GetTablespaceSize(SpaceId(4), Lsn(10));
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 100u);
  auto status = client->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->last_record_lsn, Lsn(5000));
  auto lsn = client->Ping();
  ASSERT_TRUE(lsn.ok()) << lsn.status();
  EXPECT_EQ(*lsn, Lsn(5000));
}

TEST(PageServerClient, PageStreamAnswersInOrder) {
  FakePageServer server;
  auto client = Connect(server);
  auto stream = client->OpenPageStream();
  ASSERT_TRUE(stream.ok()) << stream.status();
  for (uint32_t p = 0; p < 5; ++p) {
    ASSERT_TRUE((*stream)->Send({{SpaceId(2), PageNo(p)}, Lsn(90)}).ok());
  }
  for (uint32_t p = 0; p < 5; ++p) {
    auto answer = (*stream)->Receive();
    ASSERT_TRUE(answer.ok()) << answer.status();
    ASSERT_TRUE(answer->ok()) << answer->status();
    EXPECT_EQ((*answer)->id.page, PageNo(p));
  }
  EXPECT_EQ((*stream)->Receive().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*stream)->Finish().ok());
}

TEST(PageServerClient, PageStreamDroppedUnfinished) {
  FakePageServer server;
  auto client = Connect(server);
  auto stream = client->OpenPageStream();
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Send({{SpaceId(2), PageNo(1)}, Lsn(90)}).ok());
  stream->reset();  // must cancel cleanly
}

TEST(PageServerClient, ImportSendsCatalogThenPages) {
  FakePageServer server;
  auto client = Connect(server);
  ImportCatalog catalog{Lsn(4000), 16384, {{SpaceId(0), "ibdata1", 0x15, 3}}};
  auto writer = client->Import(catalog);
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::vector<uint8_t> page(16384, 1);
  std::vector<ImportPage> pages;
  for (uint32_t p = 0; p < 3; ++p) pages.push_back({{SpaceId(0), PageNo(p)}, page});
  ASSERT_TRUE((*writer)->Write(std::span(pages).first(2)).ok());
  ASSERT_TRUE((*writer)->Write(std::span(pages).subspan(2)).ok());
  auto result = (*writer)->Finish();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->pages, 3u);
  EXPECT_EQ(result->lsn, Lsn(4000));
  ASSERT_EQ(server.import_chunks.size(), 3u);
  EXPECT_TRUE(server.import_chunks[0].has_catalog());
  EXPECT_EQ(server.import_chunks[0].catalog().tablespaces(0).path(), "ibdata1");
  EXPECT_EQ(server.import_chunks[1].pages_size(), 2);
}

TEST(PageServerClient, ImportRefusesPagesOutOfOrder) {
  FakePageServer server;
  auto client = Connect(server);
  auto writer = client->Import({Lsn(4000), 16384, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::vector<uint8_t> page(16384, 1);
  std::vector<ImportPage> pages = {{{SpaceId(1), PageNo(5)}, page},
                                   {{SpaceId(1), PageNo(4)}, page}};
  auto status = (*writer)->Write(pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MessageHas(status, "ascending")) << status;
  EXPECT_EQ((*writer)->Finish().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PageServerClient, ImportRefusesShortPage) {
  FakePageServer server;
  auto client = Connect(server);
  auto writer = client->Import({Lsn(4000), 16384, {}});
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::vector<uint8_t> page(100, 1);
  std::vector<ImportPage> pages = {{{SpaceId(1), PageNo(5)}, page}};
  EXPECT_EQ((*writer)->Write(pages).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pageserver::client
