// The log a compute starts on reads, with the project's own reader, as MariaDB's clean shutdown
// log does: one checkpoint at L whose FILE_CHECKPOINT(L) mini-transaction ends the log.
#include "compute/starting_log.h"

#include <gtest/gtest.h>

#include "common/testing/temp_dir.h"
#include "wal/log_file.h"

namespace pageserver::compute {
namespace {

TEST(StartingLogTest, ItsOnlyMiniTransactionIsTheCheckpointsFileCheckpoint) {
  pageserver::testing::TempDir dir("starting_log");
  const std::string path = (dir.path() / "ib_logfile0").string();
  const Lsn checkpoint(987654321);
  const TablespaceFile files[] = {{SpaceId(5), "db/t.ibd"}, {SpaceId(700), "db/#sql-alter-1.ibd"}};
  auto mtr = CheckpointMtr(checkpoint, files);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  ASSERT_TRUE(WriteStartingLog(path, 64 << 20, checkpoint, *mtr).ok());
  auto log = wal::LogFile::Open(path);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->header().first_lsn, checkpoint);
  EXPECT_EQ(log->checkpoint().checkpoint_lsn, checkpoint);
  EXPECT_EQ(log->checkpoint().end_lsn, checkpoint);
  EXPECT_EQ(log->file_size(), uint64_t{64} << 20);
  std::vector<wal::Mtr> mtrs;
  auto end = wal::ScanLog(*log, checkpoint, std::nullopt, [&](wal::Mtr& m) {
    mtrs.push_back(m);
    return absl::OkStatus();
  });
  ASSERT_TRUE(end.ok()) << end.status();
  ASSERT_EQ(mtrs.size(), 1u);
  EXPECT_EQ(end->end_lsn, checkpoint + mtr->size());
  ASSERT_EQ(mtrs[0].records.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(mtrs[0].records[i].type, wal::RecordType::kFileModify);
    EXPECT_EQ(mtrs[0].records[i].page.space, files[i].space);
    EXPECT_EQ(mtrs[0].Path(mtrs[0].records[i]), "./" + files[i].path);
  }
  EXPECT_EQ(mtrs[0].records[2].type, wal::RecordType::kFileCheckpoint);
  EXPECT_EQ(mtrs[0].CheckpointLsn(mtrs[0].records[2]), checkpoint);
  EXPECT_EQ(FileCheckpointMtr(checkpoint).size(), 16u) << "MariaDB's FILE_CHECKPOINT (spec 1.5)";
}

TEST(StartingLogTest, ATooSmallFileIsRefused) {
  pageserver::testing::TempDir dir("starting_log");
  EXPECT_TRUE(absl::IsInvalidArgument(
      WriteStartingLog((dir.path() / "ib_logfile0").string(), 16384, Lsn(12288),
                       FileCheckpointMtr(Lsn(12288)))));
}

}  // namespace
}  // namespace pageserver::compute
