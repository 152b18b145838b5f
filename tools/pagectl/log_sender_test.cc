// LogSender against a real page server (in-process gRPC over loopback, a real Timeline) and a
// synthetic ib_logfile0: what the follower's scan saw must be exactly what is sent. The case
// from CI: a scan saw one more mini-transaction after B (a torn read of the block MariaDB was
// rewriting); read again for sending, B is followed by a different one. Nothing of it may reach
// the server, and the error must be Aborted (the follower looks again), not a stop.
#include "tools/pagectl/log_sender.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/byte_order.h"
#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "redo/tablespace_format.h"
#include "service/metrics.h"
#include "service/page_service.h"
#include "storage/timeline.h"
#include "wal/testing/log_image.h"

namespace pageserver::pagectl {
namespace {

using pageserver::testing::MessageHas;
using wal::testing::Bytes;
using wal::testing::LogImage;
using wal::testing::MtrBuilder;

constexpr Lsn kFirst(12288);
constexpr SpaceId kSpace(5);
constexpr uint32_t kPages = 4;
constexpr uint32_t kFlags = 0x15;  // full_crc32, 16 KiB

// An empty log from kFirst, checkpointed there.
LogImage NewLog() {
  LogImage image(kFirst, 1 << 20);
  image.SetCheckpoint(0, kFirst, kFirst);
  return image;
}

MtrBuilder Write(uint32_t page, uint16_t offset, uint8_t fill, size_t size) {
  MtrBuilder b;
  b.Write(PageId{kSpace, PageNo(page)}, offset, Bytes(size, fill));
  return b;
}

class LogSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = storage::Timeline::Open((dir_.path() / "timeline").string(), {.sync = false});
    ASSERT_TRUE(t.ok()) << t.status();
    timeline_ = std::move(*t);
    auto import = timeline_->BeginImport(kFirst, redo::kSupportedPageSize,
                                         {{kSpace, "db/t.ibd", kFlags, kPages}});
    ASSERT_TRUE(import.ok()) << import.status();
    for (uint32_t p = 0; p < kPages; ++p) {
      Bytes page(redo::kSupportedPageSize, 0);
      WriteBe32(&page[redo::kFilPageOffset], p);
      WriteBe32(&page[redo::kFilPageSpaceId], kSpace.value());
      if (p == 0) WriteBe32(&page[redo::kFspSpaceFlags], kFlags);
      redo::PrepareForWrite(page, PageId{kSpace, PageNo(p)}, true);
      ASSERT_TRUE((*import)->AddPage(PageId{kSpace, PageNo(p)}, page).ok());
    }
    ASSERT_TRUE((*import)->Finish().ok());
    service_ = std::make_unique<service::PageService>(*timeline_, metrics_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    client::Options options;
    options.address = "127.0.0.1:" + std::to_string(port);
    options.channels = 1;
    auto c = client::PageServerClient::Create(options);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
  }
  void TearDown() override { server_->Shutdown(); }

  // The marks a scan of `image` from kFirst sees, and the end of its valid log.
  std::vector<MtrMark> ScanMarks(const LogImage& image, Lsn* end) {
    auto log = wal::LogFile::Open(image.Save(dir_.path()));
    EXPECT_TRUE(log.ok()) << log.status();
    std::vector<MtrMark> marks;
    auto scan = wal::ScanLog(*log, kFirst, std::nullopt, [&](wal::Mtr& mtr) {
      marks.push_back({mtr.end_lsn, mtr.crc});
      return absl::OkStatus();
    });
    EXPECT_TRUE(scan.ok()) << scan.status();
    *end = scan->end_lsn;
    return marks;
  }

  Lsn ServerLsn() {
    auto s = client_->GetStatus();
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->last_record_lsn : Lsn(0);
  }

  pageserver::testing::TempDir dir_{"log_sender_test"};
  std::unique_ptr<storage::Timeline> timeline_;
  service::PageServerMetrics metrics_;
  std::unique_ptr<service::PageService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<client::PageServerClient> client_;
};

TEST_F(LogSenderTest, SendsWhatTheScanSaw) {
  LogImage image = NewLog();
  Lsn at = kFirst;
  for (int i = 0; i < 50; ++i) at = image.Append(at, Write(1 + i % 3, 100 + i, i, 10 + i));
  Lsn end;
  const std::vector<MtrMark> marks = ScanMarks(image, &end);
  ASSERT_EQ(end, at);
  auto log = wal::LogFile::Open(image.Save(dir_.path()));
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
  auto log = wal::LogFile::Open(now.Save(dir_.path()));
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
  log = wal::LogFile::Open(same_size.Save(dir_.path()));
  ASSERT_TRUE(log.ok());
  acked = sender.Send(*log, kFirst, c, client::SourcePosition{c, 0}, marks);
  EXPECT_TRUE(absl::IsAborted(acked.status())) << acked.status();
  EXPECT_EQ(ServerLsn(), kFirst);

  // Without marks (pagectl push), the range must still decode to its end exactly.
  log = wal::LogFile::Open(now.Save(dir_.path()));
  ASSERT_TRUE(log.ok());
  acked = sender.Send(*log, kFirst, c);
  EXPECT_TRUE(absl::IsAborted(acked.status())) << acked.status();
  EXPECT_TRUE(MessageHas(acked.status(), "no longer end at LSN"));
}

}  // namespace
}  // namespace pageserver::pagectl
