// LogSender against a real page server (in-process gRPC over loopback, a real Timeline) and a
// synthetic ib_logfile0: what the follower's scan saw must be exactly what is sent. The case
// from CI: a scan saw one more mini-transaction after B (a torn read of the block MariaDB was
// rewriting); read again for sending, B is followed by a different one. Nothing of it may reach
// the server, and the error must be Aborted (the follower looks again), not a stop.
#include "logship/log_sender.h"

#include "logship/testing/page_server_fixture.h"

namespace pageserver::logship {
namespace {

using pageserver::testing::MessageHas;
using namespace pageserver::logship::testing;  // NOLINT: the fixture's helpers

class LogSenderTest : public PageServerFixture {};

TEST_F(LogSenderTest, SendsWhatTheScanSaw) {
  LogImage image = NewLog();
  Lsn at = kFirst;
  for (int i = 0; i < 50; ++i) at = image.Append(at, Write(1 + i % 3, 100 + i, i, 10 + i));
  Lsn end;
  const std::vector<MtrMark> marks = ScanMarks(image, &end);
  ASSERT_EQ(end, at);
  auto log = wal::LogFile::Open(Save(image));
  ASSERT_TRUE(log.ok());
  LogSender sender(*client_, {.max_chunk = 97, .batch_bytes = 300});  // several calls
  auto acked = sender.Send(*log, kFirst, end, client::SourcePosition{end, 0}, marks);
  ASSERT_TRUE(acked.ok()) << acked.status();
  EXPECT_EQ(*acked, end);
  EXPECT_EQ(ServerLsn(), end);
  EXPECT_GT(sender.calls(), 1u);
}

TEST_F(LogSenderTest, AMiniTransactionThatChangedAfterTheScanIsNotSent) {
  // What the scan saw: A, B, then C at [b, c).
  LogImage seen = NewLog();
  const Lsn a = seen.Append(kFirst, Write(1, 200, 0xaa, 40));
  const Lsn b = seen.Append(a, Write(2, 300, 0xbb, 40));
  const Lsn c = seen.Append(b, Write(3, 400, 0xcc, 40));
  Lsn scan_end;
  const std::vector<MtrMark> marks = ScanMarks(seen, &scan_end);
  ASSERT_EQ(scan_end, c);
  // What the file holds when it is read for sending: A, B, then a shorter C' and D, so that
  // no mini-transaction ends at c any more.
  LogImage now = NewLog();
  now.Append(now.Append(kFirst, Write(1, 200, 0xaa, 40)), Write(2, 300, 0xbb, 40));
  const Lsn c2 = now.Append(b, Write(3, 400, 0xcd, 37));
  now.Append(c2, Write(1, 500, 0xdd, 40));
  ASSERT_LT(c2, c);
  auto log = wal::LogFile::Open(Save(now));
  ASSERT_TRUE(log.ok());
  LogSender sender(*client_, {});
  auto acked = sender.Send(*log, kFirst, c, client::SourcePosition{c, 0}, marks);
  EXPECT_TRUE(absl::IsAborted(acked.status())) << acked.status();
  EXPECT_TRUE(MessageHas(acked.status(), "changed under the reader"));
  EXPECT_EQ(ServerLsn(), kFirst) << "the batch holding the changed mini-transaction was sent";

  // Same bytes and length, other content: only the CRC tells them apart.
  LogImage same_size = NewLog();
  same_size.Append(same_size.Append(kFirst, Write(1, 200, 0xaa, 40)), Write(2, 300, 0xbb, 40));
  ASSERT_EQ(same_size.Append(b, Write(3, 400, 0xce, 40)), c);
  log = wal::LogFile::Open(Save(same_size));
  ASSERT_TRUE(log.ok());
  acked = sender.Send(*log, kFirst, c, client::SourcePosition{c, 0}, marks);
  EXPECT_TRUE(absl::IsAborted(acked.status())) << acked.status();
  EXPECT_EQ(ServerLsn(), kFirst);

  // Without marks (pagectl push), the range must still decode to its end exactly.
  log = wal::LogFile::Open(Save(now));
  ASSERT_TRUE(log.ok());
  acked = sender.Send(*log, kFirst, c);
  EXPECT_TRUE(absl::IsAborted(acked.status())) << acked.status();
  EXPECT_TRUE(MessageHas(acked.status(), "no longer end at LSN"));
}

}  // namespace
}  // namespace pageserver::logship
