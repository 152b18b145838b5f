// Two writers shipping redo to one database (issue 9: one writer per database): the client that
// took the writer lease last writes; the older one's redo is refused with an error naming the
// new holder, and nothing of it is stored. Through the real client, service and timeline.
#include <gtest/gtest.h>

#include "logship/log_sender.h"
#include "logship/testing/page_server_fixture.h"

namespace pageserver::logship {
namespace {

using pageserver::testing::MessageHas;
using namespace pageserver::logship::testing;  // NOLINT: the fixture's helpers

class WriterFencingTest : public PageServerFixture {
 protected:
  std::unique_ptr<client::PageServerClient> SecondClient() {
    auto c = client::PageServerClient::Create(client_->options());
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }
};

TEST_F(WriterFencingTest, TheOlderWriterIsFencedAndStoresNothing) {
  LogImage image = NewLog();
  const Lsn a = image.Append(kFirst, Write(1, 200, 0xaa, 40));
  const Lsn b = image.Append(a, Write(2, 300, 0xbb, 40));
  const Lsn c = image.Append(b, Write(3, 400, 0xcc, 40));
  auto log = wal::LogFile::Open(Save(image));
  ASSERT_TRUE(log.ok()) << log.status();

  auto first = client_->AcquireWriter("compute one");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->generation, 1u);
  EXPECT_EQ(first->last_record_lsn, kFirst);
  LogSender old_writer(*client_, {});
  ASSERT_TRUE(old_writer.Send(*log, kFirst, a).ok());

  auto other = SecondClient();
  auto second = other->AcquireWriter("compute two");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->generation, 2u);
  EXPECT_EQ(second->last_record_lsn, a);

  auto refused = old_writer.Send(*log, a, b);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_TRUE(MessageHas(refused.status(), "writer generation 1 is fenced"));
  EXPECT_TRUE(MessageHas(refused.status(), "\"compute two\""));
  EXPECT_EQ(ServerLsn(), a) << "the fenced writer's redo was stored";

  LogSender new_writer(*other, {});
  auto sent = new_writer.Send(*log, a, c);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(ServerLsn(), c);
  auto status = client_->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->writer_generation, 2u);
  EXPECT_EQ(status->writer_holder, "compute two");
}

TEST_F(WriterFencingTest, AHolderMustBeNamed) {
  auto nameless = client_->AcquireWriter("");
  EXPECT_TRUE(absl::IsInvalidArgument(nameless.status())) << nameless.status();
}

}  // namespace
}  // namespace pageserver::logship
