// LogFile and ScanLog on small synthetic ib_logfile0 files: header and checkpoint parsing, the
// formats and features refused with a message that says why, LSN <-> offset mapping, and scans
// across the wrap point (record bytes, terminator or CRC split by the file end, the sequence bit
// flipping) that must stop exactly at the end of the valid log.
#include "wal/log_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/byte_order.h"
#include "common/crc32c.h"
#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"
#include "wal/testing/log_image.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::wal {
namespace {

using pageserver::testing::MessageHas;
using testing::Bytes;
using testing::LogImage;
using testing::MtrBuilder;

namespace fs = std::filesystem;

PageId P(uint32_t space, uint32_t page) { return {SpaceId(space), PageNo(page)}; }

constexpr Lsn kFirst(12288);

class LogFileTest : public ::testing::Test {
 protected:
  absl::StatusOr<LogFile> Open(const LogImage& image) {
    return LogFile::Open(image.Save(dir_.path()));
  }

  pageserver::testing::TempDir dir_{"log_file_test"};
};

// Scans and collects what ScanLog delivers.
struct Scan {
  std::vector<Mtr> mtrs;
  absl::StatusOr<ScanEnd> end = absl::UnknownError("not run");
};

Scan ScanAll(const LogFile& log, Lsn from, std::optional<Lsn> to = std::nullopt) {
  Scan scan;
  scan.end = ScanLog(log, from, to, [&](const Mtr& mtr) {
    scan.mtrs.push_back(mtr);
    return absl::OkStatus();
  });
  return scan;
}

// ---- Header ---------------------------------------------------------------------------------

TEST_F(LogFileTest, ParsesHeaderAndGeometry) {
  LogImage image(Lsn(44404), 4096);
  image.SetCheckpoint(0, Lsn(44404), Lsn(44404));
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->header().format, kFormat10_8);
  EXPECT_EQ(log->header().first_lsn, Lsn(44404));
  EXPECT_EQ(log->header().creator, "MariaDB 10.11.19");
  EXPECT_EQ(log->file_size(), 12288u + 4096u);
  EXPECT_EQ(log->geometry().capacity, 4096u);
  EXPECT_EQ(log->geometry().first_lsn, Lsn(44404));
}

TEST_F(LogFileTest, CreatorOfThirtyTwoBytesWithoutNul) {
  LogImage image(kFirst, 4096);
  std::fill(image.bytes().begin() + 16, image.bytes().begin() + 48, 'x');
  image.SealHeader();
  image.SetCheckpoint(0, kFirst, kFirst);
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->header().creator, std::string(32, 'x'));
}

TEST_F(LogFileTest, HeaderChecksumMismatch) {
  LogImage image(kFirst, 4096);
  image.SetCheckpoint(0, kFirst, kFirst);
  image.bytes()[20] ^= 1;  // inside the creator string, after the CRC was computed
  auto log = Open(image);
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(absl::IsDataLoss(log.status())) << log.status();
  EXPECT_TRUE(MessageHas(log.status(), "checksum")) << log.status();
}

TEST_F(LogFileTest, HeaderBytes4To7NotZero) {
  LogImage image(kFirst, 4096);
  image.bytes()[7] = 1;
  image.SealHeader();
  image.SetCheckpoint(0, kFirst, kFirst);
  EXPECT_TRUE(absl::IsDataLoss(Open(image).status()));
}

TEST_F(LogFileTest, FirstLsnBelowStartOffset) {
  LogImage image(Lsn(12287), 4096);
  image.SetCheckpoint(0, Lsn(12287), Lsn(12287));
  auto log = Open(image);
  EXPECT_TRUE(absl::IsDataLoss(log.status())) << log.status();
  EXPECT_TRUE(MessageHas(log.status(), "first LSN")) << log.status();
}

TEST_F(LogFileTest, FileTooSmall) {
  LogImage image(kFirst, 15);  // the reader needs at least 12288 + 16 bytes
  image.SetCheckpoint(0, kFirst, kFirst);
  auto log = Open(image);
  EXPECT_TRUE(absl::IsDataLoss(log.status())) << log.status();
  LogImage smallest(kFirst, 16);
  smallest.SetCheckpoint(0, kFirst, kFirst);
  EXPECT_TRUE(Open(smallest).ok());
}

TEST_F(LogFileTest, MissingFile) {
  EXPECT_TRUE(absl::IsNotFound(LogFile::Open((dir_.path() / "ib_logfile0").string()).status()));
}

// Formats older than 10.8 are refused, and the message says which format was found.
void ExpectFormatRefused(const fs::path& dir, uint32_t format, std::string_view name) {
  LogImage image(kFirst, 4096);
  WriteBe32(&image.bytes()[0], format);
  image.SealHeader();
  image.SetCheckpoint(0, kFirst, kFirst);
  auto log = LogFile::Open(image.Save(dir));
  ASSERT_FALSE(log.ok()) << format;
  EXPECT_TRUE(absl::IsFailedPrecondition(log.status())) << log.status();
  EXPECT_TRUE(MessageHas(log.status(), name)) << log.status();
}

TEST_F(LogFileTest, FormatPhysOf105Refused) {
  ExpectFormatRefused(dir_.path(), 0x50485953, "'PHYS'");
  ExpectFormatRefused(dir_.path(), 0x50485953, "10.5/10.6");
}

TEST_F(LogFileTest, Format104Refused) { ExpectFormatRefused(dir_.path(), 104, "10.4"); }

TEST_F(LogFileTest, Format103Refused) { ExpectFormatRefused(dir_.path(), 103, "10.3"); }

TEST_F(LogFileTest, FormatZeroRefused) { ExpectFormatRefused(dir_.path(), 0, "10.2.1"); }

TEST_F(LogFileTest, EncryptedOldFormatRefused) {
  ExpectFormatRefused(dir_.path(), 0x80000000u | 104, "encrypted");
}

// What 10.11.19 with innodb_encrypt_log=ON writes at offset 0 (seen in a real fixture).
TEST_F(LogFileTest, EncryptedLogOf10_11_15Refused) {
  ExpectFormatRefused(dir_.path(), 0xF09F979Du, "the redo log is encrypted");
}

TEST_F(LogFileTest, UnknownFormatRefused) {
  ExpectFormatRefused(dir_.path(), 0x12345678, "unknown");
}

TEST_F(LogFileTest, EncryptedLogRefused) {
  LogImage image(kFirst, 4096);
  image.bytes()[51] = 1;  // key id at offset 48 != 0: innodb_encrypt_log=ON
  image.SealHeader();
  image.SetCheckpoint(0, kFirst, kFirst);
  auto log = Open(image);
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(log.status())) << log.status();
  EXPECT_TRUE(MessageHas(log.status(), "encrypted")) << log.status();
}

TEST_F(LogFileTest, IbLogfile1PresentRefused) {
  LogImage image(kFirst, 4096);
  image.SetCheckpoint(0, kFirst, kFirst);
  std::ofstream(dir_.path() / "ib_logfile1") << "old";
  auto log = Open(image);
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(log.status())) << log.status();
  EXPECT_TRUE(MessageHas(log.status(), "ib_logfile1")) << log.status();
}

// ---- Checkpoint blocks ----------------------------------------------------------------------

TEST_F(LogFileTest, LargestCheckpointWinsInEitherBlock) {
  for (int newer : {0, 1}) {
    LogImage image(kFirst, 4096);
    image.SetCheckpoint(newer, Lsn(20000), Lsn(20100));
    image.SetCheckpoint(1 - newer, Lsn(15000), Lsn(15000));
    auto log = Open(image);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ(log->checkpoint().checkpoint_lsn, Lsn(20000));
    EXPECT_EQ(log->checkpoint().end_lsn, Lsn(20100));
    EXPECT_EQ(log->checkpoint().file_offset, newer == 0 ? 4096u : 8192u);
    ASSERT_TRUE(log->checkpoint_block(0).has_value());
    ASSERT_TRUE(log->checkpoint_block(1).has_value());
  }
}

TEST_F(LogFileTest, CheckpointTieGoesToTheBlockAt8192) {
  LogImage image(kFirst, 4096);
  image.SetCheckpoint(0, Lsn(20000), Lsn(20000));
  image.SetCheckpoint(1, Lsn(20000), Lsn(20050));
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->checkpoint().file_offset, 8192u);
  EXPECT_EQ(log->checkpoint().end_lsn, Lsn(20050));
}

// Each way a block can be invalid: the other block is used and the bad one reads nullopt.
TEST_F(LogFileTest, CheckpointWithBadCrcIgnored) {
  LogImage image(kFirst, 4096);
  image.SetCheckpoint(0, Lsn(15000), Lsn(15000));
  image.SetCheckpoint(1, Lsn(20000), Lsn(20000));
  image.CheckpointBlock(1)[63] ^= 1;
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_FALSE(log->checkpoint_block(1).has_value());
  EXPECT_EQ(log->checkpoint().checkpoint_lsn, Lsn(15000));
}

TEST_F(LogFileTest, CheckpointWithNonZeroReservedBytesIgnored) {
  LogImage image(kFirst, 4096);
  image.SetCheckpoint(0, Lsn(20000), Lsn(20000));
  image.SetCheckpoint(1, Lsn(15000), Lsn(15000));
  uint8_t* b = image.CheckpointBlock(0);
  b[40] = 1;
  WriteBe32(b + 60, Crc32c(0, b, 60));  // a valid CRC over bytes that must be zero
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_FALSE(log->checkpoint_block(0).has_value());
  EXPECT_EQ(log->checkpoint().checkpoint_lsn, Lsn(15000));
}

TEST_F(LogFileTest, CheckpointBeforeFirstLsnIgnored) {
  LogImage image(Lsn(44404), 4096);
  image.SetCheckpoint(0, Lsn(44000), Lsn(44000));
  image.SetCheckpoint(1, Lsn(44404), Lsn(44404));
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_FALSE(log->checkpoint_block(0).has_value());
  EXPECT_EQ(log->checkpoint().checkpoint_lsn, Lsn(44404));
}

TEST_F(LogFileTest, CheckpointEndBeforeCheckpointIgnored) {
  LogImage image(kFirst, 4096);
  image.SetCheckpoint(0, Lsn(15000), Lsn(15000));
  image.SetCheckpoint(1, Lsn(20000), Lsn(19999));
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_FALSE(log->checkpoint_block(1).has_value());
  EXPECT_EQ(log->checkpoint().checkpoint_lsn, Lsn(15000));
}

TEST_F(LogFileTest, NoValidCheckpointRefused) {
  LogImage image(kFirst, 4096);  // both blocks all zero: the CRC of zeros is not zero
  auto log = Open(image);
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(absl::IsDataLoss(log.status())) << log.status();
  EXPECT_TRUE(MessageHas(log.status(), "checkpoint")) << log.status();
}

// ---- LSN <-> offset ---------------------------------------------------------------------------

TEST(LogGeometryTest, OffsetPassAndSequenceBit) {
  const LogGeometry g{Lsn(44404), 1000};
  EXPECT_EQ(g.Offset(Lsn(44404)), 12288u);
  EXPECT_EQ(g.Offset(Lsn(44404 + 999)), 12288u + 999);
  EXPECT_EQ(g.Offset(Lsn(44404 + 1000)), 12288u);
  EXPECT_EQ(g.Offset(Lsn(44404 + 2500)), 12288u + 500);
  EXPECT_EQ(g.Pass(Lsn(44404 + 999)), 0u);
  EXPECT_EQ(g.Pass(Lsn(44404 + 1000)), 1u);
  EXPECT_EQ(g.Pass(Lsn(44404 + 2000)), 2u);
  EXPECT_EQ(g.SequenceBit(Lsn(44404)), 1);
  EXPECT_EQ(g.SequenceBit(Lsn(44404 + 1000)), 0);
  EXPECT_EQ(g.SequenceBit(Lsn(44404 + 2999)), 1);
  EXPECT_EQ(g.SequenceBit(Lsn(44404 + 3000)), 0);
}

TEST_F(LogFileTest, ReadAcrossTheWrap) {
  LogImage image(kFirst, 256);
  image.SetCheckpoint(0, kFirst, kFirst);
  for (int i = 0; i < 256; ++i) image.bytes()[12288 + i] = static_cast<uint8_t>(i);
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  // Third pass, 6 bytes before the end of the file: 250..255 then 0..9.
  Bytes out(16);
  ASSERT_TRUE(log->Read(kFirst + (2 * 256 + 250), out.size(), out.data()).ok());
  for (int i = 0; i < 16; ++i) EXPECT_EQ(out[i], (250 + i) % 256) << i;
  // A whole capacity starting mid-ring.
  Bytes all(256);
  ASSERT_TRUE(log->Read(kFirst + 100, all.size(), all.data()).ok());
  for (int i = 0; i < 256; ++i) EXPECT_EQ(all[i], (100 + i) % 256) << i;
}

// ---- ScanLog --------------------------------------------------------------------------------

TEST_F(LogFileTest, ScanDeliversMtrsToTheEndOfLog) {
  LogImage image(kFirst, 4096);
  Lsn lsn = image.Append(kFirst, MtrBuilder().FileCheckpoint(kFirst));
  const Lsn second = lsn;
  lsn = image.Append(lsn, MtrBuilder().InitPage(P(5, 3)).Write(P(5, 3), 100, Bytes{1, 2}));
  const Lsn end = image.Append(lsn, MtrBuilder().FreePage(P(5, 3)));
  image.SetCheckpoint(0, kFirst, kFirst);
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  Scan scan = ScanAll(*log, log->checkpoint().checkpoint_lsn);
  ASSERT_TRUE(scan.end.ok()) << scan.end.status();
  ASSERT_EQ(scan.mtrs.size(), 3u);
  EXPECT_EQ(scan.mtrs[0].end_lsn, Lsn(12304));
  EXPECT_EQ(scan.mtrs[1].start_lsn, second);
  EXPECT_EQ(scan.end->end_lsn, end);
  EXPECT_FALSE(scan.end->reached_limit);
  EXPECT_NE(scan.end->reason.find("byte 0x00"), std::string::npos) << scan.end->reason;
}

TEST_F(LogFileTest, ScanStopsAtToLsn) {
  LogImage image(kFirst, 4096);
  std::vector<Lsn> ends;
  Lsn lsn = kFirst;
  for (uint32_t i = 0; i < 4; ++i) {
    lsn = image.Append(lsn, MtrBuilder().Write(P(1, 3), 100 + i, Bytes{1, 2, 3}));
    ends.push_back(lsn);
  }
  image.SetCheckpoint(0, kFirst, kFirst);
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  // to_lsn inside the third mtr: two delivered, the scan ends where the third starts.
  Scan scan = ScanAll(*log, kFirst, Lsn(ends[2].value() - 1));
  ASSERT_TRUE(scan.end.ok()) << scan.end.status();
  EXPECT_EQ(scan.mtrs.size(), 2u);
  EXPECT_EQ(scan.end->end_lsn, ends[1]);
  EXPECT_TRUE(scan.end->reached_limit);
  // to_lsn exactly at an mtr's end includes that mtr.
  scan = ScanAll(*log, kFirst, ends[2]);
  ASSERT_TRUE(scan.end.ok()) << scan.end.status();
  EXPECT_EQ(scan.mtrs.size(), 3u);
  EXPECT_TRUE(scan.end->reached_limit);
  EXPECT_EQ(scan.end->end_lsn, ends[2]);
}

TEST_F(LogFileTest, ScanStopsAtStaleSamePassMtrAfterTheEnd) {
  // The writer leaves one 0x00 after the last mtr and stale bytes after it; here the stale bytes
  // are a well-formed mtr of the same pass. It must not be delivered.
  LogImage image(kFirst, 4096);
  Lsn lsn = image.Append(kFirst, MtrBuilder().Write(P(1, 3), 100, Bytes{1}));
  const Lsn end = image.Append(lsn, MtrBuilder().Write(P(1, 3), 101, Bytes{2}));
  image.WriteAt(end, Bytes{0x00});
  image.Append(end + 1, MtrBuilder().Write(P(1, 3), 102, Bytes{3}));
  image.SetCheckpoint(0, kFirst, kFirst);
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  Scan scan = ScanAll(*log, kFirst);
  ASSERT_TRUE(scan.end.ok()) << scan.end.status();
  EXPECT_EQ(scan.mtrs.size(), 2u);
  EXPECT_EQ(scan.end->end_lsn, end);
}

TEST_F(LogFileTest, ScanStopsAtATornMtr) {
  // The last block was rewritten mid-mtr: its records frame correctly but the CRC fails.
  LogImage image(kFirst, 4096);
  const Lsn end = image.Append(kFirst, MtrBuilder().Write(P(1, 3), 100, Bytes{1}));
  MtrBuilder torn;
  torn.Write(P(1, 3), 200, Bytes(30, 0x55));
  Bytes bytes = torn.Build(image.geometry(), end);
  bytes[20] ^= 0xFF;
  image.WriteAt(end, bytes);
  image.SetCheckpoint(0, kFirst, kFirst);
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  Scan scan = ScanAll(*log, kFirst);
  ASSERT_TRUE(scan.end.ok()) << scan.end.status();
  EXPECT_EQ(scan.mtrs.size(), 1u);
  EXPECT_EQ(scan.end->end_lsn, end);
  EXPECT_NE(scan.end->reason.find("checksum"), std::string::npos) << scan.end->reason;
}

// The mtrs of one pass, then the next pass: for every position of the file end inside the first
// mtr (record bytes, terminator, each CRC byte) the scan must reassemble it, check the sequence
// bit of its terminator's own pass, and stop at a stale mtr of the older pass right after.
TEST_F(LogFileTest, ScanAcrossTheWrapAtEveryPosition) {
  constexpr uint64_t kCapacity = 512;
  for (uint64_t pass : {0u, 1u}) {
    MtrBuilder first;
    first.Write(P(3, 7), 1000, Bytes{10, 11, 12, 13, 14, 15}).WriteSame(0, Bytes{16, 17});
    MtrBuilder second;
    second.Memset(P(3, 8), 200, 16, Bytes{0xAA});
    const size_t first_size = first.body().size() + 5;
    for (size_t before_end = 1; before_end <= first_size + 1; ++before_end) {
      SCOPED_TRACE("pass " + std::to_string(pass) + ", bytes before the file end " +
                   std::to_string(before_end));
      LogImage image(kFirst, kCapacity);
      const Lsn start = kFirst + ((pass + 1) * kCapacity - before_end);
      // Stale bytes of the older pass everywhere: valid mtrs with the old sequence bit.
      for (Lsn l(start.value() + 64 - kCapacity); l < start;) {
        l = image.Append(l, MtrBuilder().Write(P(9, 9), 300, Bytes{0x99}));
      }
      const Lsn mid = image.Append(start, first);
      const Lsn end = image.Append(mid, second);
      // A stale old-pass mtr exactly at the end: frames and checksums, wrong sequence bit.
      MtrBuilder stale;
      stale.Write(P(9, 9), 300, Bytes{0x98});
      const Lsn stale_terminator = end + stale.body().size();
      image.WriteAt(
          end,
          stale.Build(static_cast<uint8_t>(1 - image.geometry().SequenceBit(stale_terminator))));
      image.SetCheckpoint(pass % 2, start, start);
      auto log = Open(image);
      ASSERT_TRUE(log.ok()) << log.status();
      Scan scan = ScanAll(*log, log->checkpoint().checkpoint_lsn);
      ASSERT_TRUE(scan.end.ok()) << scan.end.status();
      ASSERT_EQ(scan.mtrs.size(), 2u) << scan.end->reason;
      EXPECT_EQ(scan.mtrs[0].body, first.body());
      EXPECT_EQ(scan.mtrs[0].end_lsn, mid);
      EXPECT_EQ(scan.mtrs[0].records.at(1).offset, 1006);
      EXPECT_EQ(scan.mtrs[1].body, second.body());
      EXPECT_EQ(scan.end->end_lsn, end);
      EXPECT_NE(scan.end->reason.find("another pass"), std::string::npos) << scan.end->reason;
    }
  }
}

TEST_F(LogFileTest, ScanFromBeforeFirstLsnRefused) {
  LogImage image(Lsn(44404), 4096);
  image.SetCheckpoint(0, Lsn(44404), Lsn(44404));
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE(absl::IsInvalidArgument(ScanAll(*log, Lsn(44000)).end.status()));
}

TEST_F(LogFileTest, ScanPassesOnTheCallbackError) {
  LogImage image(kFirst, 4096);
  image.Append(image.Append(kFirst, MtrBuilder().FileCheckpoint(kFirst)),
               MtrBuilder().FreePage(P(1, 3)));
  image.SetCheckpoint(0, kFirst, kFirst);
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  int calls = 0;
  auto end = ScanLog(*log, kFirst, std::nullopt, [&](const Mtr&) {
    ++calls;
    return absl::CancelledError("stop");
  });
  EXPECT_TRUE(absl::IsCancelled(end.status()));
  EXPECT_EQ(calls, 1);
}

TEST_F(LogFileTest, ScanReportsACorruptRecordAsDataLoss) {
  LogImage image(kFirst, 4096);
  image.Append(image.Append(kFirst, MtrBuilder().FileCheckpoint(kFirst)),
               MtrBuilder().Write(P(1, 3), 2, Bytes{1}));  // offset 2 is inside FIL_PAGE_SPACE
  image.SetCheckpoint(0, kFirst, kFirst);
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  Scan scan = ScanAll(*log, kFirst);
  EXPECT_TRUE(absl::IsDataLoss(scan.end.status())) << scan.end.status();
  EXPECT_EQ(scan.mtrs.size(), 1u);
  EXPECT_TRUE(MessageHas(scan.end.status(), "LSN 12304")) << scan.end.status();
}

TEST_F(LogFileTest, ScanGivesUpAfterOneWholePass) {
  // A record whose length runs past the whole ring can never complete.
  LogImage image(kFirst, 64);
  image.WriteAt(kFirst, Bytes{0x30, 0x7F});  // 127 + 15 bytes follow
  image.SetCheckpoint(0, kFirst, kFirst);
  auto log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  Scan scan = ScanAll(*log, kFirst);
  ASSERT_TRUE(scan.end.ok()) << scan.end.status();
  EXPECT_TRUE(scan.mtrs.empty());
  EXPECT_EQ(scan.end->end_lsn, kFirst);
  EXPECT_NE(scan.end->reason.find("whole pass"), std::string::npos) << scan.end->reason;
}

}  // namespace
}  // namespace pageserver::wal
