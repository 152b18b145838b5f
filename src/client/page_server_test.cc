#include "client/page_server.h"

#include <gtest/gtest.h>

#include "client/testing/fake_page_server.h"

namespace pageserver::page_server {
namespace {

void ExpectAllFailedPrecondition() {
  EXPECT_FALSE(is_enabled());
  EXPECT_EQ(get_page(SpaceId(1), PageNo(2), Lsn(3)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::vector<client::PageRequest> requests = {{{SpaceId(1), PageNo(2)}, Lsn(3)}};
  EXPECT_EQ(get_pages_batch(requests).status().code(), absl::StatusCode::kFailedPrecondition);
  std::vector<uint8_t> bytes(10);
  EXPECT_EQ(stream_wal(Lsn(100), bytes).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ping().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PageServerFacade, BeforeInitEverythingIsFailedPrecondition) {
  ExpectAllFailedPrecondition();
  shutdown();  // harmless without init
  ExpectAllFailedPrecondition();
}

TEST(PageServerFacade, BadOptionsLeaveItDisabled) {
  EXPECT_EQ(init("").code(), absl::StatusCode::kInvalidArgument);
  client::Options options;
  options.channels = 0;
  EXPECT_EQ(init("localhost:1", options).code(), absl::StatusCode::kInvalidArgument);
  ExpectAllFailedPrecondition();
}

TEST(PageServerFacade, InitServesShutdownDisables) {
  client::testing::FakePageServer server;
  ASSERT_TRUE(init(server.address()).ok());
  EXPECT_TRUE(is_enabled());
  EXPECT_EQ(init(server.address()).code(), absl::StatusCode::kFailedPrecondition);
  auto page = get_page(SpaceId(1), PageNo(2), Lsn(3));
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->data.size(), 16384u);
  std::vector<client::PageRequest> requests = {{{SpaceId(1), PageNo(2)}, Lsn(3)},
                                               {{SpaceId(1), PageNo(3)}, Lsn(3)}};
  auto pages = get_pages_batch(requests);
  ASSERT_TRUE(pages.ok()) << pages.status();
  EXPECT_EQ(pages->size(), 2u);
  std::vector<uint8_t> bytes(10);
  auto ack = stream_wal(Lsn(100), bytes);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->received_lsn, Lsn(110));
  auto lsn = ping();
  ASSERT_TRUE(lsn.ok()) << lsn.status();
  EXPECT_EQ(*lsn, Lsn(5000));
  shutdown();
  ExpectAllFailedPrecondition();
}

}  // namespace
}  // namespace pageserver::page_server
