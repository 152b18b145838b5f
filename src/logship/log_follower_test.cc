// LogFollower against a real page server (in-process gRPC, a real Timeline) and synthetic
// ib_logfile0 files, with a stand-in for mariadbd's SHOW GLOBAL STATUS. The cases of issue 8:
// MariaDB pads the block after its written LSN with stale, CRC-valid mini-transactions, which a
// follower that reads to the end of the valid log sends as if MariaDB had written them there.
#include "logship/log_follower.h"

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"

#include "logship/testing/page_server_fixture.h"

namespace pageserver::logship {
namespace {

using pageserver::testing::MessageHas;
using namespace pageserver::logship::testing;  // NOLINT: the fixture's helpers

// What mariadbd would answer; shared with the test, which moves it along.
struct FakeMariadbState {
  MariadbLogPosition position;
  bool down = false;
};

class FakeMariadb : public LogPositionSource {
 public:
  explicit FakeMariadb(std::shared_ptr<FakeMariadbState> state) : state_(std::move(state)) {}
  absl::StatusOr<MariadbLogPosition> Position() override {
    if (state_->down) return absl::UnavailableError("mariadbd is down");
    return state_->position;
  }

 private:
  std::shared_ptr<FakeMariadbState> state_;
};

class LogFollowerTest : public PageServerFixture {
 protected:
  // A follower of this test's ib_logfile0 from the server's LSN, asking `state` (or, when null,
  // bounded by the checkpoint alone).
  std::unique_ptr<LogFollower> Follower(std::shared_ptr<FakeMariadbState> state) {
    std::unique_ptr<LogPositionSource> source;
    if (state) source = std::make_unique<FakeMariadb>(state);
    return std::make_unique<LogFollower>(*client_, (dir_.path() / "ib_logfile0").string(),
                                         std::move(source), ServerLsn(), FollowerOptions{});
  }
  static std::shared_ptr<FakeMariadbState> WrittenUpTo(Lsn flushed, Lsn current) {
    auto state = std::make_shared<FakeMariadbState>();
    state->position = {flushed, current};
    return state;
  }
};

TEST_F(LogFollowerTest, StaleMiniTransactionsPastTheWrittenLsnAreNotSent) {
  // MariaDB wrote A and B; the rest of the block holds C, an older mini-transaction of its
  // buffer with a valid CRC and the right sequence bit.
  LogImage image = NewLog();
  const Lsn a = image.Append(kFirst, Write(1, 200, 0xaa, 40));
  const Lsn b = image.Append(a, Write(2, 300, 0xbb, 13));
  const Lsn c = image.Append(b, Write(3, 400, 0xcc, 9));
  Lsn valid_end;
  ScanMarks(image, &valid_end);
  ASSERT_EQ(valid_end, c) << "a scan to the end of the valid log frames the stale C: this is "
                             "what the follower before issue 8 sent";
  auto state = WrittenUpTo(b, b);
  auto follower = Follower(state);
  auto step = follower->Step(0);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->server_lsn, b);
  EXPECT_EQ(ServerLsn(), b) << "bytes past MariaDB's written LSN reached the server";
  // Again, nothing more while MariaDB reports nothing new.
  step = follower->Step(0);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->bytes_sent, 0u);
  EXPECT_EQ(ServerLsn(), b);

  // MariaDB then writes D over the stale bytes at b and reports it: D is sent, never C.
  const Lsn d = image.Append(b, Write(1, 500, 0xdd, 30));
  image.Append(d, Write(2, 600, 0xee, 5));  // stale again, past the written LSN
  Save(image);
  state->position = {d, d};
  step = follower->Step(0);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(ServerLsn(), d);
  auto page = timeline_->GetPage(PageId{kSpace, PageNo(1)}, d, absl::InfiniteFuture());
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->image[500], 0xdd);
  page = timeline_->GetPage(PageId{kSpace, PageNo(3)}, d, absl::InfiniteFuture());
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_NE(page->image[400], 0xcc) << "the stale C was applied";
}

TEST_F(LogFollowerTest, WithoutASourceOnlyTheCheckpointIsFollowed) {
  LogImage image = NewLog();
  const Lsn a = image.Append(kFirst, Write(1, 200, 0xaa, 40));
  const Lsn b = image.Append(a, Write(2, 300, 0xbb, 40));
  MtrBuilder checkpoint;
  checkpoint.FileCheckpoint(a);
  const Lsn e = image.Append(b, checkpoint);
  image.Append(e, Write(3, 400, 0xcc, 40));  // after the checkpoint: not yet provably final
  image.SetCheckpoint(1, a, b);              // checkpoint at a, its records from b
  Save(image);
  auto follower = Follower(nullptr);
  auto step = follower->Step(0);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(ServerLsn(), e) << "the checkpoint's FILE_CHECKPOINT ends at LSN " << e.value();
}

TEST_F(LogFollowerTest, ADownMariadbKeepsTheLastWrittenLsn) {
  LogImage image = NewLog();
  const Lsn a = image.Append(kFirst, Write(1, 200, 0xaa, 40));
  const Lsn b = image.Append(a, Write(2, 300, 0xbb, 40));
  Save(image);
  auto state = WrittenUpTo(a, b);
  auto follower = Follower(state);
  ASSERT_TRUE(follower->Step(0).ok());
  EXPECT_EQ(ServerLsn(), a);
  state->down = true;  // a restart: what it reported written stays written
  auto step = follower->Step(0);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(ServerLsn(), a);
  EXPECT_EQ(step->written_lsn, a);
}

TEST_F(LogFollowerTest, APositionInsideAMiniTransactionIsReported) {
  // The server was given A and then S, stale bytes MariaDB never wrote at that LSN.
  LogImage stale = NewLog();
  const Lsn a = stale.Append(kFirst, Write(1, 200, 0xaa, 40));
  const Lsn s = stale.Append(a, Write(2, 300, 0x55, 13));
  Save(stale);
  ASSERT_TRUE(Follower(WrittenUpTo(s, s))->Step(0).ok());
  ASSERT_EQ(ServerLsn(), s);
  // MariaDB's log really holds A, then R (longer, across s), then R2.
  LogImage real = NewLog();
  real.Append(kFirst, Write(1, 200, 0xaa, 40));
  const Lsn r = real.Append(a, Write(2, 300, 0x66, 30));
  const Lsn r2 = real.Append(r, Write(3, 300, 0x77, 30));
  ASSERT_GT(r, s);
  Save(real);
  auto step = Follower(WrittenUpTo(r2, r2))->Step(0);
  ASSERT_FALSE(step.ok());
  EXPECT_TRUE(absl::IsDataLoss(step.status())) << step.status();
  EXPECT_TRUE(MessageHas(step.status(), "the server holds redo MariaDB did not write"));
  EXPECT_TRUE(MessageHas(step.status(), absl::StrFormat("LSN %d lies inside MariaDB's "
                                                        "mini-transaction %d..%d",
                                                        s.value(), a.value(), r.value())))
      << step.status();
  EXPECT_FALSE(MessageHas(step.status(), "overwrote"));
  EXPECT_EQ(ServerLsn(), s) << "nothing may be sent from a position MariaDB never had";

  // The server drops the tail back to the last LSN both share; inside S it refuses.
  auto refused = client_->TruncateWal(a + 1);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  auto truncated = client_->TruncateWal(a);
  ASSERT_TRUE(truncated.ok()) << truncated.status();
  EXPECT_EQ(ServerLsn(), a);
  // Followed again, the server gets MariaDB's R and R2.
  auto step2 = Follower(WrittenUpTo(r2, r2))->Step(0);
  ASSERT_TRUE(step2.ok()) << step2.status();
  EXPECT_EQ(ServerLsn(), r2);
  auto page = timeline_->GetPage(PageId{kSpace, PageNo(2)}, r2, absl::InfiniteFuture());
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->image[300], 0x66) << "the stale S survived the truncation";
}

TEST_F(LogFollowerTest, OverwrittenOnlyWhenTheWriterWrappedOverThePosition) {
  // A small ring; the server holds LSN a, MariaDB's checkpoint has moved past it.
  const uint64_t capacity = 4096;
  LogImage image = NewLog(capacity);
  const Lsn a = image.Append(kFirst, Write(1, 200, 0xaa, 40));
  Save(image);
  ASSERT_TRUE(Follower(WrittenUpTo(a, a))->Step(0).ok());
  ASSERT_EQ(ServerLsn(), a);
  Lsn at = a;
  while (at < a + 3 * capacity) at = image.Append(at, Write(2, 300, at.value() & 0xff, 100));
  MtrBuilder checkpoint;
  checkpoint.FileCheckpoint(at);
  const Lsn end = image.Append(at, checkpoint);
  image.SetCheckpoint(1, at, at);
  Save(image);
  auto step = Follower(WrittenUpTo(end, end))->Step(0);
  ASSERT_FALSE(step.ok());
  EXPECT_TRUE(absl::IsDataLoss(step.status())) << step.status();
  EXPECT_TRUE(MessageHas(step.status(), "MariaDB overwrote redo the follower had not read"))
      << step.status();
  EXPECT_EQ(ServerLsn(), a);
}

TEST_F(LogFollowerTest, BelowTheCheckpointButNotWrappedFollowsOn) {
  LogImage image = NewLog();
  const Lsn a = image.Append(kFirst, Write(1, 200, 0xaa, 40));
  Save(image);
  ASSERT_TRUE(Follower(WrittenUpTo(a, a))->Step(0).ok());
  const Lsn b = image.Append(a, Write(2, 300, 0xbb, 40));
  MtrBuilder checkpoint;
  checkpoint.FileCheckpoint(b);
  const Lsn end = image.Append(b, checkpoint);
  image.SetCheckpoint(1, b, b);  // the checkpoint passed the server's LSN; nothing wrapped
  Save(image);
  auto step = Follower(WrittenUpTo(end, end))->Step(0);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(ServerLsn(), end);
}

}  // namespace
}  // namespace pageserver::logship
