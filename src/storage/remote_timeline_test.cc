// A timeline over remote storage (issue 10), against the model of timeline_model.h: a page
// server restored from the bucket alone serves every page at every LSN the bucket covers, with
// the aux files and the writer lease; a restart reuses what the bucket holds; a stale node is
// fenced; a truncated tail is not restored; faults are retried. And the WAL plan of a restore.
#include <gtest/gtest.h>

#include <filesystem>

#include "absl/strings/str_format.h"
#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"
#include "common/testing/test_seed.h"
#include "remote/local_storage.h"
#include "remote/retrying_storage.h"
#include "remote/testing/fault_injecting_storage.h"
#include "remote/testing/forwarding_storage.h"
#include "storage/remote_layout.h"
#include "storage/remote_restore.h"
#include "storage/testing/timeline_model.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;
const absl::Duration kLimit = absl::Seconds(120);

class RemoteTimelineTest : public TimelineTest {
 protected:
  void SetUp() override {
    auto bucket = remote::LocalStorage::Open((bucket_dir_.path() / "bucket").string());
    ASSERT_TRUE(bucket.ok()) << bucket.status();
    bucket_ = std::move(*bucket);
    options_.remote = bucket_.get();
    options_.remote_prefix = "timelines/main";
    options_.remote_wal_upload_interval = absl::Milliseconds(20);
  }
  // A timeline in a new, empty directory: restored from the bucket.
  std::unique_ptr<Timeline> OpenElsewhere(pageserver::testing::TempDir& dir) {
    auto t = Timeline::Open(dir.path().string(), options_);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? std::move(*t) : nullptr;
  }
  void Uploaded(Timeline& t) {
    const absl::Status s = t.WaitUntilUploaded(absl::Now() + kLimit);
    ASSERT_TRUE(s.ok()) << s;
  }
  // The bucket restored into a new directory must hold `s` up to its last mini-transaction.
  std::unique_ptr<Timeline> ExpectRestores(const Stream& s, size_t stride) {
    restore_dirs_.push_back(
        std::make_unique<pageserver::testing::TempDir>("remote_timeline_test_restore"));
    auto t = OpenElsewhere(*restore_dirs_.back());
    if (t == nullptr) return nullptr;
    EXPECT_EQ(t->Status().last_record_lsn, s.mtrs.back().end_lsn);
    ExpectMatchesModel(*t, s, stride);
    return t;
  }
  size_t Count(const std::string& dir) {
    return bucket_->List("timelines/main/" + dir + "/")->size();
  }

  pageserver::testing::TempDir bucket_dir_{"remote_timeline_test_bucket"};
  std::unique_ptr<remote::LocalStorage> bucket_;
  std::vector<std::unique_ptr<pageserver::testing::TempDir>> restore_dirs_;
};

TEST_F(RemoteTimelineTest, RestoredFromTheBucketAloneEveryPageAtEveryLsnMatches) {
  const uint32_t seed = testing::TestSeed();
  const Stream s = MakeStream(400, seed);
  const Bytes frm = {'f', 'r', 'm'};
  // Level-1 layers among the restored ones whatever the seed: the flush below, which waits for
  // the compaction it triggers, comes after about nine level-0 layers.
  options_.compaction_threshold = 4;
  {
    auto t = OpenWithBase();
    ASSERT_TRUE(t->AcquireWriter("compute 1").ok());
    const uint64_t writer = t->Status().writer->generation;
    auto ingest = [&](size_t from, size_t to) {  // in requests of 300 bytes
      for (size_t at = from; at < to; at += 300) {
        const size_t n = std::min<size_t>(300, to - at);
        ASSERT_TRUE(
            t->IngestWalAs(writer, kBase + at, std::span<const uint8_t>(s.bytes).subspan(at, n))
                .ok());
      }
    };
    const size_t half = s.mtrs[199].end_lsn - kBase;
    ingest(0, half);
    ASSERT_TRUE(t->PutAuxFile("db/t.frm", s.mtrs[199].end_lsn, frm, false, writer).ok());
    const size_t almost = s.mtrs[394].end_lsn - kBase;
    ingest(half, almost);
    ASSERT_TRUE(t->Flush().ok());
    EXPECT_GT(t->Status().compactions, 0u) << "level-0 layers must have been compacted into level 1";
    ingest(almost, s.bytes.size());
    // The last part of the redo is only in the WAL (no flush): it reaches the bucket as WAL.
    Uploaded(*t);
    const TimelineStatus st = t->Status();
    EXPECT_LT(st.disk_consistent_lsn, st.last_record_lsn) << "nothing left to restore as WAL";
    EXPECT_EQ(st.remote_consistent_lsn, st.last_record_lsn);
  }
  fs::remove_all(dir_.path());  // the local disk is lost
  auto restored = ExpectRestores(s, 3);
  ASSERT_NE(restored, nullptr);
  const TimelineStatus st = restored->Status();
  EXPECT_EQ(st.base_lsn, kBase);
  ASSERT_TRUE(st.writer.has_value());
  EXPECT_EQ(st.writer->holder, "compute 1");
  AuxFileVersion version;
  auto aux = restored->GetAuxFile("db/t.frm", Lsn(0), kSoon, &version);
  ASSERT_TRUE(aux.ok()) << aux.status();
  EXPECT_EQ(*aux, frm);
  EXPECT_EQ(version.lsn, s.mtrs[199].end_lsn);
  EXPECT_TRUE(absl::IsNotFound(
      restored->GetAuxFile("db/t.frm", s.mtrs[198].end_lsn, kSoon, nullptr).status()));
  // The restored node goes on: more redo, a flush, and another restore from its uploads.
  const Stream more = MakeStream(500, seed);  // its first 400 are `s`
  const size_t done = s.bytes.size();
  ASSERT_TRUE(restored
                  ->IngestWalAs(st.writer->generation, kBase + done,
                                std::span<const uint8_t>(more.bytes).subspan(done))
                  .ok());
  ASSERT_TRUE(restored->Flush().ok());
  Uploaded(*restored);
  restored.reset();
  ExpectRestores(more, 7);
}

TEST_F(RemoteTimelineTest, ARestartReusesTheBucketsObjects) {
  const Stream s = MakeStream(300, 5);
  {
    auto t = OpenWithBase();
    IngestChunked(*t, s.bytes, 5, 400);
    ASSERT_TRUE(t->Flush().ok());
    Uploaded(*t);
  }
  const size_t layers = Count("layers");
  {
    auto t = Open();  // generation 2, the same directory
    Uploaded(*t);
    EXPECT_EQ(Count("layers"), layers) << "a restart copied layers the bucket had";
    EXPECT_EQ(Count("generations"), 2u);
  }
  ExpectRestores(s, 11);
}

TEST_F(RemoteTimelineTest, ADirectoryBehindTheBucketIsRefused) {
  const Stream s = MakeStream(200, 9);
  { auto t = OpenWithBase(); }
  pageserver::testing::TempDir copy("remote_timeline_test_copy");
  fs::copy(dir_.path(), copy.path(), fs::copy_options::recursive);
  {
    auto t = Open();
    IngestChunked(*t, s.bytes, 9, 400);
    ASSERT_TRUE(t->Flush().ok());
    Uploaded(*t);
  }
  auto stale = Timeline::Open(copy.path().string(), options_);
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(stale.status())) << stale.status();
  EXPECT_TRUE(testing::MessageHas(stale.status(), "Move the directory away")) << stale.status();
}

TEST_F(RemoteTimelineTest, AStaleNodeIsFencedAndItsLaterUploadsAreNotRestored) {
  const Stream s = MakeStream(300, 13);
  const size_t half = s.mtrs[149].end_lsn - kBase;
  auto stale = OpenWithBase();
  ASSERT_TRUE(stale->IngestWal(kBase, std::span<const uint8_t>(s.bytes).first(half)).ok());
  ASSERT_TRUE(stale->Flush().ok());  // and its background work: no index is left to upload
  Uploaded(*stale);
  // A second node takes over the timeline from the bucket.
  pageserver::testing::TempDir other("remote_timeline_test_other");
  auto node = OpenElsewhere(other);
  ASSERT_NE(node, nullptr);
  ASSERT_EQ(node->Status().last_record_lsn, kBase + half);
  // The stale node goes on writing other redo; uploading it, it finds itself fenced (with no
  // flush: the WAL upload checks too; remote_timeline_client_test covers the index). Should a
  // background upload of the stale node's have found it first, this redo is refused already.
  const Stream different = MakeStream(300, 14);
  const auto more =
      stale->IngestWal(kBase + half, std::span<const uint8_t>(different.bytes).subspan(0, 3000));
  if (more.ok()) {
    const absl::Status fenced = stale->WaitUntilUploaded(absl::Now() + kLimit);
    EXPECT_TRUE(absl::IsFailedPrecondition(fenced)) << fenced;
  } else {
    EXPECT_TRUE(testing::MessageHas(more.status(), "is fenced")) << more.status();
  }
  // From then on the stale node takes no more redo, whole and valid as it is: its successor
  // would never see it.
  const Lsn stale_end = stale->Status().last_record_lsn;
  const size_t next = stale_end - (kBase + half);
  const auto refused =
      stale->IngestWal(stale_end, std::span<const uint8_t>(different.bytes).subspan(next, 500));
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_TRUE(testing::MessageHas(refused.status(), "is fenced")) << refused.status();
  EXPECT_EQ(stale->Status().last_record_lsn, stale_end);
  // The new node's redo wins in the bucket.
  ASSERT_TRUE(node->IngestWal(kBase + half, std::span<const uint8_t>(s.bytes).subspan(half)).ok());
  Uploaded(*node);
  stale.reset();
  node.reset();
  ExpectRestores(s, 9);
}

TEST_F(RemoteTimelineTest, ATruncatedTailIsNotRestored) {
  options_.in_memory_layer_bytes = 1ull << 30;  // flushes only when asked
  const Stream s = MakeStream(300, 21);
  const Lsn keep = s.mtrs[199].end_lsn;
  {
    auto t = OpenWithBase();
    IngestChunked(*t, s.bytes, 21, 500);
    Uploaded(*t);  // the whole stream is in the bucket as WAL
    ASSERT_TRUE(t->TruncateWal(keep, kNoWriterLease).ok());
    Uploaded(*t);
  }
  fs::remove_all(dir_.path());
  Stream kept = s;
  kept.mtrs.resize(200);
  ASSERT_EQ(kept.mtrs.back().end_lsn, keep);
  ExpectRestores(kept, 7);
}

TEST_F(RemoteTimelineTest, RestoreUnderInjectedFaultsIsExact) {
  remote::testing::FaultInjectingStorage faults(*bucket_);
  remote::RetryOptions retry;
  retry.max_attempts = 50;
  retry.sleep = [](absl::Duration) {};
  remote::RetryingStorage retrying(std::make_unique<remote::testing::ForwardingStorage>(faults),
                                   retry);
  options_.remote = &retrying;
  const uint32_t seed = testing::TestSeed();
  const Stream s = MakeStream(300, seed);
  faults.FailRandomly(0.2, seed);
  {
    auto t = OpenWithBase();
    IngestChunked(*t, s.bytes, seed, 300);
    Uploaded(*t);
  }
  fs::remove_all(dir_.path());
  EXPECT_NE(ExpectRestores(s, 5), nullptr);
  EXPECT_GT(retrying.retries(), 0u);
  options_.remote = bucket_.get();
}

// Layer bytes on the local disk, as the file system sees them.
uint64_t LocalLayerBytes(const fs::path& dir) {
  uint64_t bytes = 0;
  for (const auto& f : fs::directory_iterator(dir / "layers")) bytes += f.file_size();
  return bytes;
}

TEST_F(RemoteTimelineTest, LocalLayersStayWithinTheDiskBudgetServingTenTimesMore) {
  constexpr uint64_t kBudget = 40 << 10;  // layers are compressed: about 570 KiB of them here
  options_.local_disk_budget_bytes = kBudget;
  const uint32_t seed = testing::TestSeed();
  const Stream s = MakeStream(3000, seed);
  auto t = OpenWithBase();
  IngestChunked(*t, s.bytes, seed, 2000);
  ASSERT_TRUE(t->Flush().ok());
  Uploaded(*t);
  ASSERT_TRUE(t->Flush().ok());  // enforces the budget now that every layer is in the bucket
  TimelineStatus st = t->Status();
  const uint64_t stored = st.image_layer_bytes + st.delta_layer_bytes;
  ASSERT_GE(stored, 10 * kBudget) << "the test needs ten times the budget in layers";
  EXPECT_LE(st.local_layer_bytes, kBudget);
  EXPECT_LE(LocalLayerBytes(dir_.path()), kBudget);
  EXPECT_GT(st.layer_evictions, 0u);
  // Every page at many LSNs: evicted layers come back on demand, and go again.
  for (size_t i = 0; i < s.mtrs.size(); i += 97) {
    for (uint32_t p = 0; p < kPages; ++p) {
      const PageId id{kSpace, PageNo(p)};
      auto page = t->GetPage(id, s.mtrs[i].end_lsn, kSoon);
      ASSERT_TRUE(page.ok()) << page.status();
      ASSERT_EQ(page->image, ModelPage(s, id, s.mtrs[i].end_lsn));
      ASSERT_LE(LocalLayerBytes(dir_.path()), kBudget) << "after reading " << ToString(id);
    }
  }
  st = t->Status();
  EXPECT_GT(st.layer_downloads + st.layer_remote_reads, 0u) << "no evicted layer was read";
  std::printf(
      "%.1f KiB of layers within a budget of %.1f KiB: %llu downloads, %llu evictions, %llu "
      "remote reads\n",
      stored / 1024.0, kBudget / 1024.0, static_cast<unsigned long long>(st.layer_downloads),
      static_cast<unsigned long long>(st.layer_evictions),
      static_cast<unsigned long long>(st.layer_remote_reads));
  // A restore within the budget too: layers are downloaded to be opened, and evicted at once.
  t.reset();
  auto restored = ExpectRestores(s, 211);
  ASSERT_NE(restored, nullptr);
  EXPECT_LE(restored->Status().local_layer_bytes, kBudget);
  EXPECT_LE(LocalLayerBytes(restore_dirs_.back()->path()), kBudget);
}

WalChunkName Chunk(Generation gen, uint64_t seq, uint64_t start, uint64_t end) {
  return WalChunkName{gen,        seq, Lsn(start), Lsn(end), absl::StrFormat("k%d.%d", gen, seq),
                      end - start};
}

std::vector<std::tuple<std::string, uint64_t, uint64_t, uint64_t>> Flat(
    const std::vector<WalPiece>& log) {
  std::vector<std::tuple<std::string, uint64_t, uint64_t, uint64_t>> out;
  for (const WalPiece& p : log) out.emplace_back(p.key, p.start.value(), p.end.value(), p.offset);
  return out;
}

TEST(PlanWal, ChunksInOrderMakeOneLog) {
  EXPECT_EQ(Flat(PlanWal({Chunk(1, 1, 100, 200), Chunk(1, 2, 200, 250)})),
            (decltype(Flat({})){{"k1.1", 100, 200, 0}, {"k1.2", 200, 250, 0}}));
}

TEST(PlanWal, ALaterChunkInsideTheLogReplacesItsTail) {
  // A truncation at 150 (marker), then new redo from there.
  EXPECT_EQ(Flat(PlanWal({Chunk(1, 1, 100, 200), Chunk(1, 2, 200, 300), Chunk(1, 3, 150, 150),
                          Chunk(1, 4, 150, 180)})),
            (decltype(Flat({})){{"k1.1", 100, 150, 0}, {"k1.4", 150, 180, 0}}));
  // A newer generation that went on from an older point wins over a stale node's later chunks.
  EXPECT_EQ(Flat(PlanWal({Chunk(1, 1, 100, 200), Chunk(1, 2, 200, 300), Chunk(2, 1, 200, 220)})),
            (decltype(Flat({})){{"k1.1", 100, 200, 0}, {"k2.1", 200, 220, 0}}));
}

TEST(PlanWal, AGapOrAnEarlierStartBeginsTheLogAnew) {
  EXPECT_EQ(Flat(PlanWal({Chunk(1, 1, 100, 200), Chunk(1, 2, 300, 400)})),
            (decltype(Flat({})){{"k1.2", 300, 400, 0}}));
  EXPECT_EQ(Flat(PlanWal({Chunk(1, 1, 100, 200), Chunk(2, 1, 50, 120)})),
            (decltype(Flat({})){{"k2.1", 50, 120, 0}}));
}

TEST(PlanWal, TheLogFromAnLsnStartsInsideAPiece) {
  const std::vector<WalPiece> log = PlanWal({Chunk(1, 1, 100, 200), Chunk(1, 2, 200, 250)});
  EXPECT_EQ(Flat(*WalFrom(log, Lsn(150))),
            (decltype(Flat({})){{"k1.1", 150, 200, 50}, {"k1.2", 200, 250, 0}}));
  EXPECT_EQ(Flat(*WalFrom(log, Lsn(250))), (decltype(Flat({})){}));
  EXPECT_FALSE(WalFrom(log, Lsn(99)).has_value());
  EXPECT_FALSE(WalFrom(log, Lsn(251)).has_value());
  EXPECT_FALSE(WalFrom({}, Lsn(100)).has_value());
}

}  // namespace
}  // namespace pageserver::storage
