// ContinuityCheck: MariaDB's "FILE_CHECKPOINT before any page change" rule for a log that is to
// continue a base datadir.
#include "replay/continuity_check.h"

#include <gtest/gtest.h>

#include "common/testing/status_testing.h"
#include "redo/testing/apply_mtr.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::replay {
namespace {

using wal::testing::MtrBuilder;

// The checkpoint of a base after a slow shutdown: checkpoint LSN == end LSN.
const wal::Checkpoint kBase{8192, Lsn(50000), Lsn(50000)};

// The decoder's view of a builder's records, as a log scan would deliver them.
wal::Mtr Decode(const MtrBuilder& b, Lsn start = Lsn(1000)) {
  auto mtr = redo::testing::MakeMtr(b, start);
  EXPECT_TRUE(mtr.ok()) << mtr.status();
  return mtr.ok() ? *std::move(mtr) : wal::Mtr{};
}

const PageId kPage{SpaceId(5), PageNo(3)};

TEST(ContinuityCheckTest, CheckpointRecordFirstIsAccepted) {
  ContinuityCheck check(kBase, "log");
  EXPECT_TRUE(check.Check(Decode(MtrBuilder().FileCheckpoint(Lsn(50000)), Lsn(50000))).ok());
  EXPECT_TRUE(check.found());
  EXPECT_TRUE(
      check.Check(Decode(MtrBuilder().Write(kPage, 100, wal::testing::Bytes{1, 2}), Lsn(50016)))
          .ok());
}

TEST(ContinuityCheckTest, FileModifyBeforeTheCheckpointRecordIsAccepted) {
  ContinuityCheck check(kBase, "log");
  MtrBuilder modify;
  modify.FileOp(0xB0, SpaceId(5), wal::testing::StrBytes("./db/t.ibd"));
  EXPECT_TRUE(check.Check(Decode(modify, Lsn(50000))).ok());
  EXPECT_FALSE(check.found());
  EXPECT_TRUE(check.Check(Decode(MtrBuilder().FileCheckpoint(Lsn(50000)), Lsn(50020))).ok());
  EXPECT_TRUE(check.found());
}

TEST(ContinuityCheckTest, PageChangeBeforeTheCheckpointRecordIsRefused) {
  ContinuityCheck check(kBase, "some/ib_logfile0");
  const absl::Status s =
      check.Check(Decode(MtrBuilder().Write(kPage, 100, wal::testing::Bytes{1}), Lsn(50000)));
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(testing::MessageHas(s, "some/ib_logfile0")) << s;
  EXPECT_TRUE(testing::MessageHas(s, "FILE_CHECKPOINT(50000)")) << s;
  EXPECT_TRUE(testing::MessageHas(s, "LSN 50000")) << s;
}

TEST(ContinuityCheckTest, CheckpointRecordOfAnotherCheckpointDoesNotCount) {
  ContinuityCheck check(kBase, "log");
  EXPECT_TRUE(check.Check(Decode(MtrBuilder().FileCheckpoint(Lsn(40000)), Lsn(50000))).ok());
  EXPECT_FALSE(check.found());
  EXPECT_FALSE(
      check.Check(Decode(MtrBuilder().Write(kPage, 100, wal::testing::Bytes{1}), Lsn(50016))).ok());
}

TEST(ContinuityCheckTest, PageChangesBeforeTheEndLsnAreTheCrashedBasesOwn) {
  // A base taken while running: its checkpoint LSN precedes the end LSN where the checkpoint's
  // records start; changes in between belong to the base's own recovery.
  const wal::Checkpoint crashed{4096, Lsn(50000), Lsn(60000)};
  ContinuityCheck check(crashed, "log");
  EXPECT_TRUE(
      check.Check(Decode(MtrBuilder().Write(kPage, 100, wal::testing::Bytes{1}), Lsn(50000))).ok());
  EXPECT_FALSE(
      check.Check(Decode(MtrBuilder().Write(kPage, 100, wal::testing::Bytes{1}), Lsn(60000))).ok());
}

}  // namespace
}  // namespace pageserver::replay
