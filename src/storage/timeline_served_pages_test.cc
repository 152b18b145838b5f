// Timeline: every page it hands out is a page MariaDB could have written. A freed page is its last
// image before the free, checksummed and flagged free; a never-written page is zero. A
// tablespace's size is FSP_SIZE of its page 0 (MariaDB extends files without logging the new
// pages), across a flush and a restart.
#include <gtest/gtest.h>

#include "common/byte_order.h"
#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "storage/timeline.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::storage {
namespace {

using testing::MessageHas;
using wal::testing::Bytes;
using wal::testing::MtrBuilder;

constexpr Lsn kBase(1'000'000);
constexpr SpaceId kSpace(5);
constexpr uint32_t kFilePages = 12;  // pages in the imported file
constexpr uint32_t kFspPages = 20;   // FSP_SIZE in its page 0: the file was extended
constexpr uint32_t kFlags = 0x15;    // full_crc32, 16 KiB
constexpr size_t kPs = 16384;
const absl::Time kSoon = absl::InfinitePast();  // do not wait

PageId Page(uint32_t page) { return PageId{kSpace, PageNo(page)}; }

Bytes BasePage(uint32_t page) {
  Bytes p(kPs, 0);
  WriteBe32(&p[redo::kFilPageOffset], page);
  WriteBe32(&p[redo::kFilPageSpaceId], kSpace.value());
  if (page == 0) {
    WriteBe32(&p[redo::kFspSpaceId], kSpace.value());
    WriteBe32(&p[redo::kFspSize], kFspPages);
    WriteBe32(&p[redo::kFspSpaceFlags], kFlags);
  }
  for (size_t i = 100; i < 200; ++i) p[i] = static_cast<uint8_t>(page * 7 + i);
  redo::PrepareForWrite(p, Page(page), true);
  return p;
}

class TimelineServedPagesTest : public ::testing::Test {
 protected:
  std::unique_ptr<Timeline> Open() {
    auto t = Timeline::Open(dir_.path().string(), {.sync = false});
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? std::move(*t) : nullptr;
  }
  std::unique_ptr<Timeline> OpenWithBase() {
    auto t = Open();
    auto session = t->BeginImport(kBase, kPs, {{kSpace, "w/t1.ibd", kFlags, kFilePages}});
    EXPECT_TRUE(session.ok()) << session.status();
    for (uint32_t p = 0; p < kFilePages; ++p) {
      EXPECT_TRUE((*session)->AddPage(Page(p), BasePage(p)).ok());
    }
    EXPECT_TRUE((*session)->Finish().ok());
    return t;
  }
  // Stores one mini-transaction after the last; returns its end LSN.
  static Lsn Ingest(Timeline& t, const MtrBuilder& b) {
    const Lsn start = t.Status().last_record_lsn;
    auto r = t.IngestWal(start, b.Build(1));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->last_record_lsn : start;
  }
  static uint32_t Pages(Timeline& t, Lsn lsn) {
    auto space = t.GetTablespace(kSpace, lsn, kSoon);
    EXPECT_TRUE(space.ok()) << space.status();
    return space.ok() ? space->pages : 0;
  }
  // FSP_SIZE as MariaDB's mtr_t::write logs it: from the first byte that differs, here the last.
  static MtrBuilder GrowTo(uint8_t pages) {
    MtrBuilder b;
    b.Write(Page(0), redo::kFspSize + 3, Bytes{pages});
    return b;
  }

  testing::TempDir dir_{"timeline_served_pages_test"};
};

TEST_F(TimelineServedPagesTest, FreedPageIsItsLastImageWithAValidChecksum) {
  auto t = OpenWithBase();
  const Lsn written = Ingest(*t, MtrBuilder().Write(Page(3), 300, Bytes{1, 2, 3}));
  const Lsn freed = Ingest(*t, MtrBuilder().FreePage(Page(3)));
  auto before = t->GetPage(Page(3), written, kSoon);
  ASSERT_TRUE(before.ok()) << before.status();
  for (int pass = 0; pass < 2; ++pass) {  // from the in-memory layer, then from a delta layer
    auto page = t->GetPage(Page(3), freed, kSoon);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_TRUE(page->freed);
    EXPECT_TRUE(redo::PageChecksumValid(page->image, true)) << "pass " << pass;
    EXPECT_EQ(ReadBe64(&page->image[redo::kFilPageLsn]), written.value());
    EXPECT_EQ(page->image, before->image);
    ASSERT_TRUE(t->Flush().ok());
  }
}

TEST_F(TimelineServedPagesTest, FreedNeverWrittenPageStaysZero) {
  auto t = OpenWithBase();
  const Lsn freed = Ingest(*t, MtrBuilder().FreePage(Page(15)));  // past the file, below FSP_SIZE
  auto page = t->GetPage(Page(15), freed, kSoon);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_TRUE(page->freed);
  EXPECT_EQ(page->image, Bytes(kPs, 0));
}

TEST_F(TimelineServedPagesTest, SizeIsFspSizeOfPage0NotTheFileSize) {
  auto t = OpenWithBase();
  EXPECT_EQ(Pages(*t, kBase), kFspPages);
  auto listed = t->ListTablespaces(kBase, kSoon);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].pages, kFspPages);
  auto extended = t->GetPage(Page(kFspPages - 1), kBase, kSoon);  // never written: zero
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_FALSE(extended->freed);
  EXPECT_EQ(extended->image, Bytes(kPs, 0));
  auto past_end = t->GetPage(Page(kFspPages), kBase, kSoon);
  EXPECT_TRUE(absl::IsOutOfRange(past_end.status())) << past_end.status();
  EXPECT_TRUE(MessageHas(past_end.status(), "20 pages"));
}

TEST_F(TimelineServedPagesTest, SizeFollowsFspSizeAcrossFlushAndRestart) {
  Lsn grown, grown_again;
  {
    auto t = OpenWithBase();
    grown = Ingest(*t, GrowTo(24));
    ASSERT_TRUE(t->Flush().ok());          // in the manifest's catalog
    grown_again = Ingest(*t, GrowTo(28));  // only in the WAL log
  }
  auto t = Open();
  EXPECT_EQ(Pages(*t, kBase), kFspPages);
  EXPECT_EQ(Pages(*t, grown), 24u);
  EXPECT_EQ(Pages(*t, grown_again), 28u);
  EXPECT_TRUE(absl::IsOutOfRange(t->GetPage(Page(24), grown, kSoon).status()));
  auto page = t->GetPage(Page(27), grown_again, kSoon);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->image, Bytes(kPs, 0));
  // The field's other bytes are still known after the restart.
  const Lsn last = Ingest(*t, GrowTo(32));
  EXPECT_EQ(Pages(*t, last), 32u);
}

}  // namespace
}  // namespace pageserver::storage
