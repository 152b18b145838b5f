// A real page server in-process for pagectl's unit tests: a Timeline (imported base of one
// small tablespace at kFirst) behind a PageService on loopback gRPC, a client to it, and
// synthetic ib_logfile0 images (LogImage) to send from.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "client/page_server_client.h"
#include "common/byte_order.h"
#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "redo/tablespace_format.h"
#include "service/metrics.h"
#include "service/page_service.h"
#include "storage/timeline.h"
#include "logship/log_sender.h"
#include "wal/log_file.h"
#include "wal/testing/log_image.h"

namespace pageserver::logship::testing {

using wal::testing::Bytes;
using wal::testing::LogImage;
using wal::testing::MtrBuilder;

constexpr Lsn kFirst(12288);
constexpr SpaceId kSpace(5);
constexpr uint32_t kPages = 4;
constexpr uint32_t kFlags = 0x15;  // full_crc32, 16 KiB

// An empty log from kFirst, checkpointed there.
inline LogImage NewLog(uint64_t capacity = 1 << 20) {
  LogImage image(kFirst, capacity);
  image.SetCheckpoint(0, kFirst, kFirst);
  return image;
}

inline MtrBuilder Write(uint32_t page, uint16_t offset, uint8_t fill, size_t size) {
  MtrBuilder b;
  b.Write(PageId{kSpace, PageNo(page)}, offset, Bytes(size, fill));
  return b;
}

class PageServerFixture : public ::testing::Test {
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
      if (p == 0) {
        WriteBe32(&page[redo::kFspSpaceFlags], kFlags);
        WriteBe32(&page[redo::kFspSize], kPages);
      }
      redo::PrepareForWrite(page, PageId{kSpace, PageNo(p)}, true);
      ASSERT_TRUE((*import)->AddPage(PageId{kSpace, PageNo(p)}, page).ok());
    }
    ASSERT_TRUE((*import)->Finish().ok());
    timelines_ = std::make_unique<tenant::SingleTimeline>(*timeline_);
    service_ = std::make_unique<service::PageService>(*timelines_, metrics_);
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
  // Streams a test left open (a WalSession) are cancelled after a grace period.
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  // Saves `image` as this test's ib_logfile0; returns its path.
  std::string Save(const LogImage& image) { return image.Save(dir_.path()); }

  // The marks a scan of `image` from kFirst sees, and the end of its valid log.
  std::vector<MtrMark> ScanMarks(const LogImage& image, Lsn* end) {
    auto log = wal::LogFile::Open(Save(image));
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

  pageserver::testing::TempDir dir_{"logship_test"};
  std::unique_ptr<storage::Timeline> timeline_;
  service::PageServerMetrics metrics_;
  std::unique_ptr<tenant::SingleTimeline> timelines_;
  std::unique_ptr<service::PageService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<client::PageServerClient> client_;
};

}  // namespace pageserver::logship::testing
