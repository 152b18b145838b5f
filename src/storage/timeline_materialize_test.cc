// The materializer (timeline_materialize.cc) against the model (timeline_model.h): hot pages
// read at the newest LSN replay fewer records than the threshold once it caught up, the pages
// stay exact at every LSN, and a WAL truncation drops the images it made stale.
#include <gtest/gtest.h>

#include "common/testing/test_seed.h"
#include "storage/testing/timeline_model.h"

namespace pageserver::storage {
namespace {

class TimelineMaterializeTest : public TimelineTest {
 protected:
  void SetUp() override {
    options_.in_memory_layer_bytes = 1 << 30;  // every record stays in the in-memory layer
    options_.image_chain_threshold = 100000;   // and no flush image shortens a chain
    options_.materialize_threshold = 4;
  }
  // The most records a read of any page in use at `lsn` replays (a free page is not
  // materialized: nobody reads it but to reuse it, which initialises it).
  static uint32_t MostRecordsApplied(Timeline& t, Lsn lsn) {
    uint32_t most = 0;
    for (uint32_t p = 0; p < kPages; ++p) {
      auto page = t.GetPage(PageId{kSpace, PageNo(p)}, lsn, kSoon);
      EXPECT_TRUE(page.ok()) << page.status();
      if (page.ok() && !page->freed) most = std::max(most, page->records_applied);
    }
    return most;
  }
};

TEST_F(TimelineMaterializeTest, HotPagesReplayFewerRecordsThanTheThresholdAndStayExact) {
  const uint32_t seed = testing::TestSeed();
  const Stream s = MakeStream(600, seed, /*frees=*/true);  // ~130 records a page
  auto t = OpenWithBase();
  IngestChunked(*t, s.bytes, seed, 400);
  t->WaitForMaterialized();
  const Lsn end = kBase + s.bytes.size();
  const TimelineStatus st = t->Status();
  EXPECT_GT(st.materializations, 0u) << "hot pages were not materialized";
  EXPECT_GT(st.materialized_pages, 0u);
  EXPECT_LT(MostRecordsApplied(*t, end), options_.materialize_threshold);
  ExpectMatchesModel(*t, s, 7);

  // Without it, the same reads replay every record since the base.
  pageserver::testing::TempDir plain_dir("timeline_materialize_test_plain");
  TimelineOptions plain = options_;
  plain.materialize_threshold = 0;
  auto without = OpenWithBase(plain_dir.path().string(), plain);
  IngestChunked(*without, s.bytes, seed, 400);
  EXPECT_EQ(without->Status().materializations, 0u);
  EXPECT_GE(MostRecordsApplied(*without, end), 3 * options_.materialize_threshold);
}

TEST_F(TimelineMaterializeTest, ATruncationDropsTheImagesAboveIt) {
  const uint32_t seed = testing::TestSeed();
  const Stream first = MakeStream(300, seed);
  auto t = OpenWithBase();
  IngestChunked(*t, first.bytes, seed, 400);
  t->WaitForMaterialized();
  ASSERT_GT(t->Status().materialized_pages, 0u);
  // Cut at a third and go on with other redo, past where the first stream ended: an image of
  // the first stream's end must never stand for the second's pages.
  const Lsn cut = first.mtrs[99].end_lsn;
  ASSERT_TRUE(t->TruncateWal(cut, kNoWriterLease).ok());
  const Stream other = MakeStream(600, seed + 1);
  Bytes bytes(first.bytes.begin(), first.bytes.begin() + (cut - kBase));
  bytes.insert(bytes.end(), other.bytes.begin(), other.bytes.end());
  const Stream second = DecodeStream(std::move(bytes));
  ASSERT_GT(second.mtrs.back().end_lsn, first.mtrs.back().end_lsn);
  auto r = t->IngestWal(cut, std::span<const uint8_t>(second.bytes).subspan(cut - kBase));
  ASSERT_TRUE(r.ok()) << r.status();
  t->WaitForMaterialized();
  ExpectMatchesModel(*t, second, 5, cut);
}

}  // namespace
}  // namespace pageserver::storage
