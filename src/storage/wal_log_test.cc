// WalLog: appends are durable and continuous, recovery keeps every whole mini-transaction and
// cuts only a torn tail, scans cross segments, and malformed states are refused.
#include "storage/wal_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;
using wal::testing::Bytes;
using wal::testing::MtrBuilder;

constexpr Lsn kBase(12288);

// A mini-transaction of `records` WRITEs to page `page` of space 5, distinct per `seed`.
Bytes MakeMtr(uint32_t page, int records, uint8_t seed) {
  MtrBuilder b;
  for (int i = 0; i < records; ++i) {
    b.Write(PageId{SpaceId(5), PageNo(page)}, 100 + 10 * i,
            Bytes(7, static_cast<uint8_t>(seed + i)));
  }
  return b.Build(1);
}

class WalLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<WalLog> OpenLog(uint64_t segment_bytes = 1 << 20) {
    auto log = WalLog::Open(dir_.string(), kBase, {.segment_bytes = segment_bytes, .sync = false});
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  // Appends n mini-transactions; returns the LSN after each.
  std::vector<Lsn> AppendSome(WalLog& log, int n) {
    std::vector<Lsn> ends;
    for (int i = 0; i < n; ++i) {
      const Bytes mtr = MakeMtr(3 + i % 7, 1 + i % 5, static_cast<uint8_t>(i));
      EXPECT_TRUE(log.Append(log.end_lsn(), mtr).ok());
      ends.push_back(log.end_lsn());
    }
    return ends;
  }
  std::vector<Lsn> ScanEnds(const WalLog& log, Lsn from) {
    std::vector<Lsn> ends;
    const absl::Status s = log.Scan(from, [&](wal::Mtr& mtr) {
      ends.push_back(mtr.end_lsn);
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return ends;
  }
  // Writes `bytes` into the last segment where the log ends at `end` (a torn append).
  void WriteAfterTheData(Lsn end, const Bytes& bytes) {
    const fs::path last = LastSegment();
    std::fstream f(last, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(end - Lsn(std::stoull(last.stem().string()))));
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(f.good());
  }
  // Every byte of the last segment after the log's end at `end` is zero.
  void ExpectZerosAfterTheData(Lsn end) {
    const fs::path last = LastSegment();
    std::ifstream f(last, std::ios::binary);
    const std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const size_t data = static_cast<size_t>(end - Lsn(std::stoull(last.stem().string())));
    ASSERT_LE(data, content.size());
    EXPECT_EQ(content.find_first_not_of('\0', data), std::string::npos) << last;
  }
  fs::path LastSegment() {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir_)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files.back();
  }

  pageserver::testing::TempDir temp_{"wal_log_test"};
  const fs::path dir_ = temp_.path();
};

TEST_F(WalLogTest, EmptyLogStartsAtTheBaseLsn) {
  auto log = OpenLog();
  EXPECT_EQ(log->start_lsn(), kBase);
  EXPECT_EQ(log->end_lsn(), kBase);
  EXPECT_TRUE(ScanEnds(*log, kBase).empty());
}

TEST_F(WalLogTest, AppendedMtrsSurviveReopen) {
  std::vector<Lsn> ends;
  {
    auto log = OpenLog();
    ends = AppendSome(*log, 50);
  }
  auto log = OpenLog();
  EXPECT_EQ(log->end_lsn(), ends.back());
  EXPECT_EQ(log->truncated_bytes(), 0u);
  EXPECT_EQ(ScanEnds(*log, kBase), ends);
}

TEST_F(WalLogTest, GapIsRefusedAndNothingIsWritten) {
  auto log = OpenLog();
  AppendSome(*log, 3);
  const Lsn end = log->end_lsn();
  const absl::Status s = log->Append(end + 1, MakeMtr(3, 1, 0));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(testing::MessageHas(s, std::to_string(end.value()))) << s;
  EXPECT_EQ(log->end_lsn(), end);
}

TEST_F(WalLogTest, OverlapIsRefused) {
  auto log = OpenLog();
  AppendSome(*log, 3);
  EXPECT_TRUE(absl::IsInvalidArgument(log->Append(kBase, MakeMtr(3, 1, 0))));
}

TEST_F(WalLogTest, PartialMtrIsRefusedAndNothingIsWritten) {
  auto log = OpenLog();
  AppendSome(*log, 3);
  const Lsn end = log->end_lsn();
  const Bytes mtr = MakeMtr(3, 4, 7);
  const absl::Status s = log->Append(end, std::span(mtr).first(mtr.size() - 2));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(log->end_lsn(), end);
  log.reset();
  EXPECT_EQ(OpenLog()->end_lsn(), end);
}

TEST_F(WalLogTest, CorruptMtrIsRefused) {
  auto log = OpenLog();
  Bytes mtr = MakeMtr(3, 2, 7);
  mtr[3] ^= 0x40;  // the CRC no longer matches
  EXPECT_TRUE(absl::IsInvalidArgument(log->Append(log->end_lsn(), mtr)));
  EXPECT_EQ(log->end_lsn(), kBase);
}

TEST_F(WalLogTest, TornTailIsZeroedAtTheLastWholeMtr) {
  std::vector<Lsn> ends;
  {
    auto log = OpenLog();
    ends = AppendSome(*log, 10);
  }
  // A torn append: half of one more mini-transaction reached the file.
  const Bytes more = MakeMtr(4, 3, 99);
  WriteAfterTheData(ends.back(), Bytes(more.begin(), more.begin() + more.size() / 2));
  auto log = OpenLog();
  EXPECT_EQ(log->end_lsn(), ends.back());
  EXPECT_GT(log->truncated_bytes(), 0u);
  EXPECT_LE(log->truncated_bytes(), more.size() / 2);
  ExpectZerosAfterTheData(ends.back());
  EXPECT_EQ(ScanEnds(*log, kBase), ends);
  // And the log continues from there.
  EXPECT_TRUE(log->Append(log->end_lsn(), more).ok());
  EXPECT_EQ(log->end_lsn(), ends.back() + more.size());
}

TEST_F(WalLogTest, GarbageTailWithBadChecksumIsZeroed) {
  std::vector<Lsn> ends;
  {
    auto log = OpenLog();
    ends = AppendSome(*log, 5);
  }
  Bytes bad = MakeMtr(4, 2, 1);
  bad.back() ^= 0xFF;  // CRC no longer matches
  WriteAfterTheData(ends.back(), bad);
  auto log = OpenLog();
  EXPECT_EQ(log->end_lsn(), ends.back());
  EXPECT_GT(log->truncated_bytes(), 0u);
  ExpectZerosAfterTheData(ends.back());
}

// A torn append can leave a whole, valid mini-transaction after its broken start. A shorter
// append that follows must not make it part of the log: recovery zeroes it.
TEST_F(WalLogTest, ValidLeftoversOfATornAppendDoNotJoinTheLog) {
  std::vector<Lsn> ends;
  {
    auto log = OpenLog();
    ends = AppendSome(*log, 5);
  }
  const Bytes next = MakeMtr(4, 1, 60);
  const Bytes longer = MakeMtr(4, 5, 50);
  ASSERT_GT(longer.size(), next.size());
  Bytes torn(longer.begin(), longer.begin() + static_cast<ptrdiff_t>(next.size()));
  const Bytes leftover = MakeMtr(6, 2, 70);  // whole and CRC-valid, where `next` will end
  torn.insert(torn.end(), leftover.begin(), leftover.end());
  WriteAfterTheData(ends.back(), torn);
  {
    auto log = OpenLog();
    ASSERT_EQ(log->end_lsn(), ends.back());
    ASSERT_TRUE(log->Append(ends.back(), next).ok());
  }
  auto log = OpenLog();
  EXPECT_EQ(log->end_lsn(), ends.back() + next.size());
  EXPECT_EQ(log->truncated_bytes(), 0u);
}

TEST_F(WalLogTest, TheLastSegmentIsZeroedAheadAndEarlierOnesAreCutToTheirData) {
  auto log = WalLog::Open(dir_.string(), kBase,
                          {.segment_bytes = 2048, .zero_ahead_bytes = 4096, .sync = false});
  ASSERT_TRUE(log.ok()) << log.status();
  std::vector<Lsn> ends = AppendSome(**log, 200);
  ASSERT_GT((*log)->segment_count(), 2u);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir_)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  // Zeroed past the data to the next multiple of 4096.
  const uint64_t last_size = fs::file_size(files.back());
  EXPECT_EQ(last_size % 4096, 0u);
  ExpectZerosAfterTheData(ends.back());
  // Every earlier segment holds exactly its data: it ends where the next one starts.
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    const uint64_t start = std::stoull(files[i].stem().string());
    const uint64_t next = std::stoull(files[i + 1].stem().string());
    EXPECT_EQ(fs::file_size(files[i]), next - start) << files[i];
  }
  log->reset();
  auto reopened = OpenLog(2048);
  EXPECT_EQ(reopened->end_lsn(), ends.back());
  EXPECT_EQ(ScanEnds(*reopened, kBase), ends);
}

TEST_F(WalLogTest, SegmentsRollOverAndScanCrossesThem) {
  std::vector<Lsn> ends;
  {
    auto log = OpenLog(/*segment_bytes=*/512);
    ends = AppendSome(*log, 200);
    EXPECT_GT(log->segment_count(), 5u);
  }
  auto log = OpenLog(512);
  EXPECT_EQ(log->end_lsn(), ends.back());
  EXPECT_EQ(ScanEnds(*log, kBase), ends);
  // From the middle of the log, at a mini-transaction boundary.
  const std::vector<Lsn> tail = ScanEnds(*log, ends[99]);
  EXPECT_EQ(tail, std::vector<Lsn>(ends.begin() + 100, ends.end()));
}

TEST_F(WalLogTest, MissingMiddleBytesAreRefusedNotRepaired) {
  {
    auto log = OpenLog(512);
    AppendSome(*log, 100);
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir_)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 3u);
  fs::resize_file(files[1], fs::file_size(files[1]) - 3);
  auto log = WalLog::Open(dir_.string(), kBase, {.segment_bytes = 512, .sync = false});
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(absl::IsDataLoss(log.status())) << log.status();
}

TEST_F(WalLogTest, RemoveSegmentsBeforeKeepsTheRest) {
  std::vector<Lsn> ends;
  auto log = OpenLog(512);
  ends = AppendSome(*log, 200);
  const size_t before = log->segment_count();
  ASSERT_TRUE(log->RemoveSegmentsBefore(ends[150]).ok());
  EXPECT_LT(log->segment_count(), before);
  EXPECT_LE(log->start_lsn(), ends[150]);
  log.reset();
  log = OpenLog(512);
  EXPECT_EQ(log->end_lsn(), ends.back());
  EXPECT_TRUE(log->Scan(log->start_lsn(), [](wal::Mtr&) { return absl::OkStatus(); }).ok());
}

TEST_F(WalLogTest, TruncateAfterDropsLaterSegmentsAndCutsTheOneHoldingTheLsn) {
  auto log = OpenLog(512);
  std::vector<Lsn> ends = AppendSome(*log, 200);
  const size_t before = log->segment_count();
  ASSERT_GT(before, 4u);
  const Lsn keep = ends[40];
  ASSERT_TRUE(log->TruncateAfter(keep).ok());
  EXPECT_EQ(log->end_lsn(), keep);
  EXPECT_LT(log->segment_count(), before);
  ends.resize(41);
  EXPECT_EQ(ScanEnds(*log, kBase), ends);
  // Appends continue at the cut, and a reopened log ends there too.
  const Bytes more = MakeMtr(9, 2, 77);
  ASSERT_TRUE(log->Append(keep, more).ok());
  EXPECT_TRUE(absl::IsOutOfRange(log->TruncateAfter(log->end_lsn() + 1)));
  log.reset();
  log = OpenLog(512);
  EXPECT_EQ(log->end_lsn(), keep + more.size());
  EXPECT_EQ(log->truncated_bytes(), 0u);
  // Back to the very start: one empty segment remains.
  ASSERT_TRUE(log->TruncateAfter(kBase).ok());
  EXPECT_EQ(log->segment_count(), 1u);
  log.reset();
  log = OpenLog(512);
  EXPECT_EQ(log->end_lsn(), kBase);
}

TEST_F(WalLogTest, ScanOutsideTheLogIsOutOfRange) {
  auto log = OpenLog();
  AppendSome(*log, 3);
  EXPECT_TRUE(
      absl::IsOutOfRange(log->Scan(kBase + 1000000, [](wal::Mtr&) { return absl::OkStatus(); })));
}

}  // namespace
}  // namespace pageserver::storage
