// RedoShipper against a real page server in-process: what a log fsync ships, and a stale tail
// (CRC-valid mini-transactions past MariaDB's write position, as MariaDB 10.11 can write them)
// dropped on the server once MariaDB's next write shows it.
#include "compute/redo_shipper.h"

#include <gtest/gtest.h>

#include "compute/starting_log.h"
#include "logship/testing/page_server_fixture.h"

namespace pageserver::compute {
namespace {

using namespace pageserver::logship::testing;  // NOLINT: the fixture's helpers
using pageserver::testing::MessageHas;

constexpr uint64_t kFileBytes = wal::kLogStartOffset + (1 << 20);
constexpr size_t kBlock = 512;

class RedoShipperTest : public PageServerFixture {
 protected:
  void SetUp() override {
    PageServerFixture::SetUp();
    path_ = (dir_.path() / "shadow_ib_logfile0").string();
    const std::vector<uint8_t> checkpoint = FileCheckpointMtr(kFirst);
    ASSERT_TRUE(WriteStartingLog(path_, kFileBytes, kFirst, checkpoint).ok());
    ASSERT_TRUE(client_->StreamWal(kFirst, checkpoint).ok());
    start_ = kFirst + checkpoint.size();
    auto shipper = RedoShipper::Open(*client_, path_, start_, absl::Seconds(5));
    ASSERT_TRUE(shipper.ok()) << shipper.status();
    shipper_ = std::move(*shipper);
    block_ = Bytes(kBlock, 0);
    std::copy(checkpoint.begin(), checkpoint.end(), block_.begin());
  }

  void TearDown() override {
    shipper_.reset();  // closes its WAL session before the server shuts down
    PageServerFixture::TearDown();
  }

  // Appends `b` to the first block (as MariaDB's buffer would hold it); returns its end LSN.
  Lsn Append(Lsn at, const MtrBuilder& b) {
    const Bytes mtr = b.Build(geometry_, at);
    EXPECT_LE(at - kFirst + mtr.size(), block_.size());
    if (at - kFirst + mtr.size() > block_.size()) return at;
    std::copy(mtr.begin(), mtr.end(), block_.begin() + (at - kFirst));
    return at + mtr.size();
  }
  absl::Status WriteBlock() { return shipper_->Write(wal::kLogStartOffset, block_); }
  // After the stale-tail tests' rewrite: a flush stores up to `b`, where page 2 never got the
  // stale record (0xee at 300) and page 3 has MariaDB's (0xbb at 100).
  void ExpectFlushedWithoutTheStaleRecord(Lsn b) {
    auto durable = shipper_->Flush();
    ASSERT_TRUE(durable.ok()) << durable.status();
    EXPECT_EQ(*durable, b);
    EXPECT_EQ(ServerLsn(), b);
    auto stale_page = client_->GetPage(PageId{kSpace, PageNo(2)}, b);
    ASSERT_TRUE(stale_page.ok()) << stale_page.status();
    EXPECT_NE(stale_page->data[300], 0xee) << "the stale record reached the page";
    auto real_page = client_->GetPage(PageId{kSpace, PageNo(3)}, b);
    ASSERT_TRUE(real_page.ok()) << real_page.status();
    EXPECT_EQ(real_page->data[100], 0xbb);
  }

  std::string path_;
  Lsn start_;
  wal::LogGeometry geometry_{kFirst, kFileBytes - wal::kLogStartOffset};
  Bytes block_;
  std::unique_ptr<RedoShipper> shipper_;
};

TEST_F(RedoShipperTest, AFlushShipsWhatWasWrittenUpToTheEndMarker) {
  const Lsn a = Append(start_, Write(1, 200, 0xaa, 40));
  const Lsn b = Append(a, Write(2, 300, 0xbb, 40));
  block_[b - kFirst] = 0;  // MariaDB's end of log
  ASSERT_TRUE(WriteBlock().ok());
  auto durable = shipper_->Flush();
  ASSERT_TRUE(durable.ok()) << durable.status();
  EXPECT_EQ(*durable, b);
  EXPECT_EQ(ServerLsn(), b);
  EXPECT_EQ(shipper_->stats().flushes, 1u);
  // Nothing new: no shipment.
  ASSERT_TRUE(shipper_->Flush().ok());
  EXPECT_EQ(shipper_->stats().flushes, 1u);
}

TEST_F(RedoShipperTest, AStaleTailIsDroppedWhenMariadbRewritesIt) {
  const Lsn a = Append(start_, Write(1, 200, 0xaa, 40));
  // Past MariaDB's write position: a stale, CRC-valid mini-transaction and no end marker.
  const Lsn stale_end = Append(a, Write(2, 300, 0xee, 40));
  ASSERT_TRUE(WriteBlock().ok());
  ASSERT_TRUE(shipper_->Flush().ok());
  EXPECT_EQ(ServerLsn(), stale_end) << "indistinguishable from real redo when shipped";
  EXPECT_EQ(shipper_->confirmed_lsn(), start_) << "the write's block is not final yet";

  // MariaDB's next write of the block holds its real mini-transaction there.
  std::fill(block_.begin() + (a - kFirst), block_.end(), 0);
  const Lsn b = Append(a, Write(3, 100, 0xbb, 60));
  ASSERT_TRUE(WriteBlock().ok());
  EXPECT_EQ(shipper_->stats().stale_tails, 1u);
  // The stale tail was dropped on the server (at LSN a); MariaDB's bytes, sent with the write,
  // may be stored already.
  EXPECT_TRUE(ServerLsn() == a || ServerLsn() == b) << ServerLsn();
  ExpectFlushedWithoutTheStaleRecord(b);
}

// A write's redo goes out with the write; the fsync after it only waits for the answer.
TEST_F(RedoShipperTest, AWriteSendsItsRedoBeforeTheFsync) {
  const Lsn a = Append(start_, Write(1, 200, 0xaa, 40));
  block_[a - kFirst] = 0;
  ASSERT_TRUE(WriteBlock().ok());
  // Event: a read at LSN a, which the server answers once it has stored redo up to a (its own
  // wait for the LSN), with no fsync from mariadbd.
  auto page = client_->GetPage(PageId{kSpace, PageNo(1)}, a);
  ASSERT_TRUE(page.ok()) << "the write's redo was not sent before the fsync: " << page.status();
  EXPECT_EQ(page->data[200], 0xaa);
  EXPECT_EQ(ServerLsn(), a);
  EXPECT_EQ(shipper_->durable_lsn(), start_) << "durable for the compute only once answered";
  auto durable = shipper_->Flush();
  ASSERT_TRUE(durable.ok()) << durable.status();
  EXPECT_EQ(*durable, a);
  EXPECT_EQ(shipper_->stats().flushes, 1u);
}

// A stale tail that was sent but not answered yet when MariaDB rewrites it: the shipper waits
// for the answer, then drops it.
TEST_F(RedoShipperTest, AStaleTailSentButNotAnsweredIsDroppedToo) {
  const Lsn a = Append(start_, Write(1, 200, 0xaa, 40));
  Append(a, Write(2, 300, 0xee, 40));  // stale, CRC-valid
  ASSERT_TRUE(WriteBlock().ok());      // sent, no fsync
  std::fill(block_.begin() + (a - kFirst), block_.end(), 0);
  const Lsn b = Append(a, Write(3, 100, 0xbb, 60));
  block_[b - kFirst] = 0;
  ASSERT_TRUE(WriteBlock().ok());
  EXPECT_EQ(shipper_->stats().stale_tails, 1u);
  ExpectFlushedWithoutTheStaleRecord(b);
}

TEST_F(RedoShipperTest, ARewriteOfConfirmedRedoFailsTheShipper) {
  // A mini-transaction that runs into the second block; MariaDB's next write starts there,
  // which confirms everything before it.
  const Lsn a = Append(start_, Write(1, 200, 0xaa, 40));
  Bytes whole = block_;
  whole.resize(2 * kBlock, 0);
  const Bytes mtr = Write(2, 100, 0xbb, kBlock).Build(geometry_, a);
  std::copy(mtr.begin(), mtr.end(), whole.begin() + (a - kFirst));
  const Lsn b = a + mtr.size();
  ASSERT_GT(b - kFirst, kBlock);
  whole[b - kFirst] = 0;
  ASSERT_TRUE(shipper_->Write(wal::kLogStartOffset, whole).ok());
  ASSERT_TRUE(shipper_->Flush().ok());
  Bytes second(whole.begin() + kBlock, whole.end());
  ASSERT_TRUE(shipper_->Write(wal::kLogStartOffset + kBlock, second).ok());
  EXPECT_EQ(shipper_->confirmed_lsn(), kFirst + kBlock);

  // A change at the confirmed LSN: the last boundary before it lies below, in final redo.
  second[0] ^= 0xff;
  absl::Status changed = shipper_->Write(wal::kLogStartOffset + kBlock, second);
  EXPECT_TRUE(absl::IsDataLoss(changed)) << changed;
  EXPECT_TRUE(MessageHas(changed, "holds as final"));
  EXPECT_TRUE(absl::IsDataLoss(shipper_->Flush().status())) << "the failure sticks";
  EXPECT_EQ(ServerLsn(), b) << "nothing was dropped";
}

}  // namespace
}  // namespace pageserver::compute
