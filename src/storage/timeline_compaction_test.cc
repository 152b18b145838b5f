// Compaction of level-0 delta layers into key-partitioned level-1 ones (timeline_compaction.cc)
// against the model (timeline_model.h): every page at every LSN stays exact, with image layers
// inside the level-1 layers' LSN ranges, freed and re-initialised pages, across a restart; the
// level-1 layers of one LSN range partition the keys.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "common/testing/test_seed.h"
#include "storage/delta_layer.h"
#include "storage/testing/timeline_model.h"
#include "storage/timeline_manifest.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;

class TimelineCompactionTest : public TimelineTest {
 protected:
  void SetUp() override {
    options_.compaction_threshold = 3;
    options_.compaction_target_bytes = 2 << 10;  // several level-1 layers per compaction
  }
  // The level-1 layers in the directory, grouped by LSN range: each group's key ranges must be
  // contiguous from the first key to the last. Returns the number of layers.
  size_t ExpectLevel1LayersPartitionTheKeys() {
    std::map<std::pair<uint64_t, uint64_t>, std::vector<KeyRange>> groups;
    size_t n = 0;
    for (const auto& entry : fs::directory_iterator(dir_.path() / "layers")) {
      const std::string name = entry.path().filename().string();
      if (IsImageLayerName(name)) continue;
      auto layer = DeltaLayer::Open(entry.path().string());
      EXPECT_TRUE(layer.ok()) << layer.status();
      if (!layer.ok() || (*layer)->level() == 0) continue;
      EXPECT_EQ(name, Level1DeltaLayerName((*layer)->lsn_start(), (*layer)->lsn_end(),
                                           (*layer)->key_range().start));
      groups[{(*layer)->lsn_start().value(), (*layer)->lsn_end().value()}].push_back(
          (*layer)->key_range());
      ++n;
    }
    for (auto& [lsns, ranges] : groups) {
      std::sort(ranges.begin(), ranges.end(),
                [](const KeyRange& a, const KeyRange& b) { return a.start < b.start; });
      EXPECT_EQ(ranges.front().start, 0u) << "LSN " << lsns.first << ".." << lsns.second;
      EXPECT_EQ(ranges.back().end, UINT64_MAX) << "LSN " << lsns.first << ".." << lsns.second;
      for (size_t i = 1; i < ranges.size(); ++i) {
        EXPECT_EQ(ranges[i - 1].end, ranges[i].start) << "keys missing or covered twice";
      }
    }
    return n;
  }
};

TEST_F(TimelineCompactionTest, EveryPageAtEveryLsnMatchesTheModelAcrossCompactionsAndRestart) {
  const uint32_t seed = testing::TestSeed();
  const Stream s = MakeStream(1500, seed, /*frees=*/true);
  {
    auto t = OpenWithBase();
    IngestChunked(*t, s.bytes, seed, 300);
    ASSERT_TRUE(t->Flush().ok());
    const TimelineStatus st = t->Status();
    EXPECT_GT(st.compactions, 2u);
    EXPECT_GT(st.level1_delta_layers, st.compactions) << "the keys were never partitioned";
    EXPECT_LT(st.delta_layers - st.level1_delta_layers, options_.compaction_threshold)
        << "level-0 layers left uncompacted";
    EXPECT_GT(st.image_layers, 3u) << "no image inside a level-1 layer's LSN range to skip over";
    EXPECT_EQ(ExpectLevel1LayersPartitionTheKeys(), st.level1_delta_layers);
    ExpectMatchesModel(*t, s, 11);
  }
  auto t = Open();
  EXPECT_GT(t->Status().level1_delta_layers, 2u);
  ExpectMatchesModel(*t, s, 7);
}

// Flushes at fixed points (no background freeze), so that two timelines of the same stream make
// the same images: which pages get one depends on what the open layer holds at each flush.
void IngestFlushingEvery(Timeline& t, const Stream& s, size_t mtrs) {
  Lsn at = kBase;
  for (size_t i = mtrs - 1; at < s.mtrs.back().end_lsn; i = std::min(i + mtrs, s.mtrs.size() - 1)) {
    const Lsn to = s.mtrs[i].end_lsn;
    auto r = t.IngestWal(at, std::span<const uint8_t>(s.bytes).subspan(at - kBase, to - at));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(t.Flush().ok());
    at = to;
  }
}

TEST_F(TimelineCompactionTest, ReadsMatchTheSameTimelineWithoutCompaction) {
  const uint32_t seed = testing::TestSeed();
  const Stream s = MakeStream(1200, seed, /*frees=*/true);
  options_.in_memory_layer_bytes = 1 << 30;
  options_.materialize_threshold = 0;  // its timing would make the records applied differ
  auto t = OpenWithBase();
  IngestFlushingEvery(*t, s, 40);
  ASSERT_GT(t->Status().level1_delta_layers, 0u);

  pageserver::testing::TempDir plain_dir("timeline_compaction_test_plain");
  TimelineOptions plain_options = options_;
  plain_options.compaction_threshold = UINT32_MAX;
  auto plain = OpenWithBase(plain_dir.path().string(), plain_options);
  ASSERT_NE(plain, nullptr);
  IngestFlushingEvery(*plain, s, 40);
  EXPECT_EQ(plain->Status().level1_delta_layers, 0u);

  // Same bytes, same freed flag, the same records applied (none applied twice: redo writes are
  // idempotent, so the bytes alone would not show it).
  for (size_t i = 0; i < s.mtrs.size(); i += 3) {
    for (uint32_t p = 0; p < kPages; ++p) {
      const PageId id{kSpace, PageNo(p)};
      auto a = t->GetPage(id, s.mtrs[i].end_lsn, kSoon);
      auto b = plain->GetPage(id, s.mtrs[i].end_lsn, kSoon);
      ASSERT_TRUE(a.ok()) << a.status();
      ASSERT_TRUE(b.ok()) << b.status();
      ASSERT_EQ(a->image, b->image) << ToString(id) << " at LSN " << s.mtrs[i].end_lsn;
      ASSERT_EQ(a->freed, b->freed) << ToString(id) << " at LSN " << s.mtrs[i].end_lsn;
      ASSERT_EQ(a->records_applied, b->records_applied)
          << ToString(id) << " at LSN " << s.mtrs[i].end_lsn;
    }
  }
}

// A tablespace created, dropped and created again in the middle of layers' LSN ranges: a read
// takes only the history from the latest creation (the tablespace's floor) on, whether the
// layers are level 0 or level 1.
TEST_F(TimelineCompactionTest, ATablespaceRecreatedInsideALayerIsReadFromItsFloorOn) {
  using wal::testing::MtrBuilder;
  options_.in_memory_layer_bytes = 1 << 30;  // flushes where the test says
  const SpaceId kNew(9);
  const PageId page0{kNew, PageNo(0)}, page1{kNew, PageNo(1)}, page2{kNew, PageNo(2)};
  auto create = [&](uint8_t fill) {
    MtrBuilder b;
    Bytes flags(4), size(4);
    WriteBe32(flags.data(), kFlags);
    WriteBe32(size.data(), 4);
    b.FileOp(wal::testing::kFileCreate, kNew, wal::testing::StrBytes("./db/new.ibd"))
        .InitPage(page0)
        .Write(page0, redo::kFspSpaceFlags, flags)
        .Write(page0, redo::kFspSize, size)
        .InitPage(page1)
        .Write(page1, 300, Bytes(20, fill));
    return b.Build(1);
  };
  const Stream filler = MakeStream(90, testing::TestSeed());
  std::vector<Bytes> mtrs;  // each one mini-transaction
  auto filler_part = [&](size_t part) {
    for (size_t i = part * 30; i < part * 30 + 30; ++i) {
      const size_t from = filler.mtrs[i].start_lsn - kBase, to = filler.mtrs[i].end_lsn - kBase;
      mtrs.emplace_back(filler.bytes.begin() + from, filler.bytes.begin() + to);
    }
  };
  std::vector<size_t> flush_after;  // mini-transaction counts after which to flush
  filler_part(0);
  mtrs.push_back(create(0x11));
  mtrs.push_back(MtrBuilder().Write(page2, 300, Bytes(20, 0x33)).Build(1));
  const size_t first_incarnation = mtrs.size();
  filler_part(1);
  flush_after.push_back(mtrs.size());
  mtrs.push_back(
      MtrBuilder()
          .FileOp(wal::testing::kFileDelete, kNew, wal::testing::StrBytes("./db/new.ibd"))
          .Build(1));
  mtrs.push_back(create(0x22));
  filler_part(2);
  flush_after.push_back(mtrs.size());

  auto check = [&](std::unique_ptr<Timeline> t, TimelineStatus* status) {
    Lsn at = kBase, first_incarnation_end;
    for (size_t i = 0, f = 0; i < mtrs.size(); ++i) {
      auto r = t->IngestWal(at, mtrs[i]);
      ASSERT_TRUE(r.ok()) << r.status();
      at = r->last_record_lsn;
      if (i + 1 == first_incarnation) first_incarnation_end = at;
      if (f < flush_after.size() && i + 1 == flush_after[f]) {
        ASSERT_TRUE(t->Flush().ok());
        ++f;
      }
    }
    ASSERT_TRUE(t->Flush().ok());
    auto old2 = t->GetPage(page2, first_incarnation_end, kSoon);
    ASSERT_TRUE(old2.ok()) << old2.status();
    EXPECT_EQ(Bytes(old2->image.begin() + 300, old2->image.begin() + 320), Bytes(20, 0x33));
    auto new1 = t->GetPage(page1, at, kSoon);
    ASSERT_TRUE(new1.ok()) << new1.status();
    EXPECT_EQ(Bytes(new1->image.begin() + 300, new1->image.begin() + 320), Bytes(20, 0x22));
    // Written before the floor only: never written, as far as the new tablespace goes.
    auto new2 = t->GetPage(page2, at, kSoon);
    ASSERT_TRUE(new2.ok()) << new2.status();
    EXPECT_EQ(new2->image, Bytes(kPs, 0));
    EXPECT_EQ(new2->records_applied, 0u);
    *status = t->Status();
  };
  options_.compaction_threshold = 2;
  TimelineStatus status;
  check(OpenWithBase(), &status);
  EXPECT_GT(status.level1_delta_layers, 0u);
  pageserver::testing::TempDir plain_dir("timeline_compaction_test_plain");
  TimelineOptions plain = options_;
  plain.compaction_threshold = UINT32_MAX;
  check(OpenWithBase(plain_dir.path().string(), plain), &status);
  EXPECT_EQ(status.level1_delta_layers, 0u);
}

}  // namespace
}  // namespace pageserver::storage
