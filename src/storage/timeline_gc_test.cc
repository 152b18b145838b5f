// Full image sets and garbage collection (timeline_gc.cc) against the model (timeline_model.h)
// and against the same timeline without GC: inside the PITR window every page (freed or not) is
// the same, below it reads are refused naming the cutoff, storage stops growing with the
// history, and with remote storage the bucket holds exactly what its index names.
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"

#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"
#include "common/testing/test_seed.h"
#include "remote/local_storage.h"
#include "storage/remote_index.h"
#include "storage/remote_layout.h"
#include "storage/testing/timeline_model.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;

// A bucket that holds the first layer read of the thread that armed it until Release(), as a
// slow GET would; every other call passes straight through.
class HoldingStorage final : public remote::RemoteStorage {
 public:
  explicit HoldingStorage(remote::RemoteStorage& to) : to_(to) {}
  void ArmForThisThread() {
    std::lock_guard<std::mutex> lock(mu_);
    reader_ = std::this_thread::get_id();
  }
  // The key of the read being held, once one is.
  std::string WaitHeld() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return held_.has_value(); });
    return *held_;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    changed_.notify_all();
  }
  absl::StatusOr<std::vector<uint8_t>> Get(const std::string& key,
                                           remote::ByteRange range) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (reader_ == std::this_thread::get_id() && !held_ &&
          key.find("/layers/") != std::string::npos) {
        held_ = key;
        changed_.notify_all();
        changed_.wait(lock, [&] { return released_; });
      }
    }
    return to_.Get(key, range);
  }
  absl::Status PutIfAbsent(const std::string& key, std::span<const uint8_t> data) override {
    return to_.PutIfAbsent(key, data);
  }
  absl::StatusOr<std::vector<remote::ObjectInfo>> List(const std::string& prefix) override {
    return to_.List(prefix);
  }
  absl::Status Delete(const std::string& key) override { return to_.Delete(key); }
  std::string Describe() const override { return to_.Describe(); }

 private:
  remote::RemoteStorage& to_;
  std::mutex mu_;  // guards the fields below
  std::condition_variable changed_;
  std::optional<std::thread::id> reader_;
  std::optional<std::string> held_;
  bool released_ = false;
};

// The aux file versions a test put, to compare a timeline's answers with.
class AuxModel {
 public:
  void Put(Timeline& t, const std::string& path, Lsn lsn, const std::string& content,
           bool deleted = false) {
    const std::vector<uint8_t> bytes(content.begin(), content.end());
    ASSERT_TRUE(t.PutAuxFile(path, lsn, bytes, deleted, kNoWriterLease).ok());
    puts_.push_back({path, lsn, content, deleted});
  }
  size_t versions() const { return puts_.size(); }
  // Every path at every LSN a version was put at, from `from` to `to`: what the model says.
  void ExpectMatches(Timeline& t, Lsn from, Lsn to) const {
    std::set<Lsn> lsns = {from, to};
    for (const Version& v : puts_) {
      if (v.lsn >= from && v.lsn <= to) lsns.insert(v.lsn);
    }
    for (Lsn lsn : lsns) {
      auto listed = t.ListAuxFiles(lsn, kSoon);
      ASSERT_TRUE(listed.ok()) << listed.status();
      std::set<std::string> paths;
      for (const AuxFileVersion& v : *listed) paths.insert(v.path);
      std::set<std::string> expected_paths;
      for (const std::string path : {"db/t.frm", "db/u.frm"}) {
        const Version* newest = nullptr;
        for (const Version& v : puts_) {
          if (v.path == path && v.lsn <= lsn) newest = &v;
        }
        if (newest != nullptr && !newest->deleted) expected_paths.insert(path);
      }
      EXPECT_EQ(paths, expected_paths) << "listed at LSN " << lsn;
      for (const std::string path : {"db/t.frm", "db/u.frm"}) {
        std::optional<std::string> expected;
        for (const Version& v : puts_) {
          if (v.path == path && v.lsn <= lsn) {
            expected = v.deleted ? std::nullopt : std::optional<std::string>(v.content);
          }
        }
        auto got = t.GetAuxFile(path, lsn, kSoon, nullptr);
        if (!expected) {
          EXPECT_TRUE(absl::IsNotFound(got.status())) << path << " at LSN " << lsn;
        } else {
          ASSERT_TRUE(got.ok()) << path << " at LSN " << lsn << ": " << got.status();
          EXPECT_EQ(std::string(got->begin(), got->end()), *expected) << path << " at " << lsn;
        }
      }
    }
    auto below = t.GetAuxFile("db/t.frm", Lsn(from.value() - 1), kSoon, nullptr);
    EXPECT_TRUE(absl::IsOutOfRange(below.status())) << below.status();
  }

 private:
  struct Version {
    std::string path;
    Lsn lsn;
    std::string content;
    bool deleted;
  };
  std::vector<Version> puts_;
};

class TimelineGcTest : public TimelineTest {
 protected:
  void SetUp() override {
    options_.image_creation_delta_bytes = 48 << 10;
    options_.pitr_window_bytes = 20000;
  }
  // Every page at `lsn` from both timelines: the same bytes, the same freed flag.
  void ExpectSamePages(Timeline& gc, Timeline& all, Lsn lsn) {
    for (uint32_t p = 0; p < kPages; ++p) {
      const PageId id{kSpace, PageNo(p)};
      auto a = gc.GetPage(id, lsn, kSoon);
      auto b = all.GetPage(id, lsn, kSoon);
      ASSERT_TRUE(a.ok()) << a.status();
      ASSERT_TRUE(b.ok()) << b.status();
      ASSERT_EQ(a->image, b->image) << ToString(id) << " at LSN " << lsn;
      ASSERT_EQ(a->freed, b->freed) << ToString(id) << " at LSN " << lsn;
    }
  }
  // The layers the newest index in `bucket` names, and the layer objects stored: the same keys.
  static void ExpectBucketHoldsWhatItsIndexNames(remote::RemoteStorage& bucket) {
    auto newest = NewestIndex(bucket, "tl", 100);
    ASSERT_TRUE(newest.ok() && newest->has_value());
    auto index = DownloadRemoteIndex(bucket, "tl", **newest);
    ASSERT_TRUE(index.ok()) << index.status();
    std::set<std::string> named;
    for (const auto& [layer, gen] : index->layer_generations) named.insert(LayerKey("tl", layer, gen));
    auto listed = bucket.List("tl/layers/");
    ASSERT_TRUE(listed.ok()) << listed.status();
    std::set<std::string> stored;
    for (const auto& o : *listed) stored.insert(o.key);
    EXPECT_EQ(stored, named) << "objects no index names are left, or named ones are missing";
    EXPECT_EQ(bucket.List("tl/index/")->size(), 1u);
  }
  static uint64_t LayerBytes(const Timeline& t) {
    const TimelineStatus s = t.Status();
    return s.image_layer_bytes + s.delta_layer_bytes;
  }
};

TEST_F(TimelineGcTest, TheWindowStaysExactReadsBelowItAreRefusedAndStorageStopsGrowing) {
  const uint32_t seed = testing::TestSeed();
  const Stream s = MakeStream(4000, seed, /*frees=*/true);
  auto t = OpenWithBase();
  IngestChunked(*t, s.bytes, seed, 900);
  ASSERT_TRUE(t->Flush().ok());
  // The same redo without GC, to compare with.
  pageserver::testing::TempDir all_dir("timeline_gc_test_all");
  TimelineOptions keep_all = options_;
  keep_all.pitr_window_bytes = UINT64_MAX;
  auto all = OpenWithBase(all_dir.path().string(), keep_all);
  ASSERT_NE(all, nullptr);
  IngestChunked(*all, s.bytes, seed, 900);
  ASSERT_TRUE(all->Flush().ok());

  const TimelineStatus st = t->Status();
  const Lsn end = kBase + s.bytes.size();
  ASSERT_EQ(st.last_record_lsn, end);
  ASSERT_GT(st.gc_cutoff_lsn, kBase) << "nothing was collected";
  EXPECT_GE(st.gc_cutoff_lsn.value() + options_.pitr_window_bytes, st.disk_consistent_lsn.value());
  std::printf("layers: %.1f KiB with GC (cutoff %llu of %llu), %.1f KiB without\n",
              LayerBytes(*t) / 1024.0, static_cast<unsigned long long>(st.gc_cutoff_lsn.value()),
              static_cast<unsigned long long>(end.value()), LayerBytes(*all) / 1024.0);
  EXPECT_LT(LayerBytes(*t) * 3, LayerBytes(*all)) << "GC did not bound the storage";

  auto check = [&](Timeline& gc) {
    const Lsn cutoff = gc.Status().gc_cutoff_lsn;
    size_t checked = 0;
    for (const wal::Mtr& mtr : s.mtrs) {
      if (mtr.end_lsn < cutoff) {
        auto below = gc.GetPage(PageId{kSpace, PageNo(1)}, mtr.end_lsn, kSoon);
        ASSERT_TRUE(absl::IsOutOfRange(below.status())) << below.status();
        ASSERT_TRUE(testing::MessageHas(below.status(), absl::StrCat("GC cutoff, LSN ",
                                                                     cutoff.value())))
            << below.status();
        continue;
      }
      if (checked++ % 7 == 0 || mtr.end_lsn == end) ExpectSamePages(gc, *all, mtr.end_lsn);
    }
    EXPECT_GT(checked, 10u);
    ExpectMatchesModel(gc, s, 13, cutoff);
  };
  check(*t);
  // A restart keeps the cutoff and the layers GC left.
  t.reset();
  t = Open();
  EXPECT_EQ(t->Status().gc_cutoff_lsn, st.gc_cutoff_lsn);
  check(*t);
}

TEST_F(TimelineGcTest, TheBucketHoldsExactlyWhatItsIndexNamesAndRestoresTheWindow) {
  pageserver::testing::TempDir bucket_dir("timeline_gc_test_bucket");
  auto bucket = remote::LocalStorage::Open(bucket_dir.path().string());
  ASSERT_TRUE(bucket.ok()) << bucket.status();
  options_.remote = bucket->get();
  options_.remote_prefix = "tl";
  const Stream s = MakeStream(3000, 17, /*frees=*/true);
  // Aux files change as the redo goes: a new version of one at the end of each of 30 parts, and
  // another deleted and created again now and then.
  AuxModel aux;
  Lsn cutoff;
  {
    auto t = OpenWithBase();
    const std::span<const uint8_t> bytes(s.bytes);
    Lsn at = kBase;
    for (size_t part = 1; part <= 30; ++part) {
      const Lsn end = s.mtrs[part * (s.mtrs.size() - 1) / 30].end_lsn;
      IngestFrom(*t, at, bytes.subspan(at - kBase, end - at));
      at = end;
      aux.Put(*t, "db/t.frm", end, absl::StrCat("version ", part));
      if (part % 4 == 0) aux.Put(*t, "db/u.frm", end, part % 8 == 0 ? "" : "u", part % 8 == 0);
    }
    ASSERT_TRUE(t->Flush().ok());
    ASSERT_TRUE(t->WaitUntilUploaded(absl::Now() + absl::Seconds(120)).ok());
    cutoff = t->Status().gc_cutoff_lsn;
    ASSERT_GT(cutoff, kBase);
    ExpectBucketHoldsWhatItsIndexNames(**bucket);
    aux.ExpectMatches(*t, cutoff, t->Status().last_record_lsn);
    // What GC left of the aux files, here and in the bucket: the same versions, fewer than put.
    auto versions = t->ListAuxFiles(cutoff, kSoon);
    ASSERT_TRUE(versions.ok()) << versions.status();
    std::set<uint64_t> local;
    for (const auto& f : fs::directory_iterator(dir_.path() / "aux")) {
      local.insert(std::stoull(f.path().stem().string()));
    }
    auto aux_objects = (*bucket)->List("tl/aux/");
    ASSERT_TRUE(aux_objects.ok()) << aux_objects.status();
    std::set<uint64_t> stored;
    for (const auto& o : *aux_objects) stored.insert(ParseAuxKey("tl", o.key)->seq);
    EXPECT_EQ(stored, local);
    EXPECT_LT(local.size(), aux.versions()) << "no aux file version was collected";
  }
  fs::remove_all(dir_.path());
  pageserver::testing::TempDir fresh("timeline_gc_test_fresh");
  auto restored = Timeline::Open(fresh.path().string(), options_);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->Status().gc_cutoff_lsn, cutoff);
  EXPECT_TRUE(absl::IsOutOfRange(
      (*restored)->GetPage(PageId{kSpace, PageNo(2)}, Lsn(cutoff.value() - 1), kSoon).status()));
  ExpectMatchesModel(**restored, s, 17, cutoff);
  aux.ExpectMatches(**restored, cutoff, (*restored)->Status().last_record_lsn);
  restored->reset();
}

// A read takes its layers when it starts; GC may remove them from the layer map and from the
// bucket's index while it runs. A layer it reads from the bucket (evicted locally) must still be
// there: its object stays until the read is done, and goes with the next upload after.
TEST_F(TimelineGcTest, AReadThatBeganBeforeGcStillFindsItsEvictedLayersInTheBucket) {
  pageserver::testing::TempDir bucket_dir("timeline_gc_test_bucket");
  auto bucket = remote::LocalStorage::Open(bucket_dir.path().string());
  ASSERT_TRUE(bucket.ok()) << bucket.status();
  HoldingStorage holding(**bucket);
  options_.remote = &holding;
  options_.remote_prefix = "tl";
  options_.local_disk_budget_bytes = 1;  // every uploaded layer is evicted: reads go to the bucket
  options_.materialize_threshold = 0;    // and no page is kept in memory instead
  const uint32_t seed = testing::TestSeed();
  const Stream s = MakeStream(4500, seed, /*frees=*/true);
  const Lsn first_end = s.mtrs[s.mtrs.size() / 3].end_lsn;
  const Lsn second_end = s.mtrs[2 * s.mtrs.size() / 3].end_lsn;
  const std::span<const uint8_t> bytes(s.bytes);
  auto t = OpenWithBase();
  IngestFrom(*t, kBase, bytes.first(first_end - kBase));
  ASSERT_TRUE(t->Flush().ok());
  ASSERT_TRUE(t->WaitUntilUploaded(absl::Now() + absl::Seconds(120)).ok());
  ASSERT_TRUE(t->Flush().ok());  // evicts what is uploaded now
  ASSERT_LE(first_end, t->Status().disk_consistent_lsn);
  ASSERT_GE(first_end, t->Status().gc_cutoff_lsn) << "the read's LSN must be inside the window";

  const PageId id{kSpace, PageNo(1 + seed % (kPages - 1))};
  absl::StatusOr<PageVersion> page = absl::UnknownError("not read");
  std::thread reader([&] {
    holding.ArmForThisThread();
    page = t->GetPage(id, first_end, kSoon);
  });
  const std::string held = holding.WaitHeld();
  const auto held_layer = ParseLayerKey("tl", held);
  ASSERT_TRUE(held_layer.has_value()) << held;
  // Meanwhile history moves on, GC passes the read's LSN and drops its layer from the index.
  IngestFrom(*t, first_end, bytes.subspan(first_end - kBase, second_end - first_end));
  ASSERT_TRUE(t->Flush().ok());
  ASSERT_TRUE(t->WaitUntilUploaded(absl::Now() + absl::Seconds(120)).ok());
  ASSERT_GT(t->Status().gc_cutoff_lsn, first_end) << "GC did not pass the read's LSN";
  auto newest = NewestIndex(**bucket, "tl", 100);
  ASSERT_TRUE(newest.ok() && newest->has_value());
  auto index = DownloadRemoteIndex(**bucket, "tl", **newest);
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_FALSE(index->layer_generations.contains(held_layer->first))
      << "GC did not take the layer the read holds, " << held;
  EXPECT_TRUE((*bucket)->Get(held, {}).ok()) << held << " went while a read needed it";

  holding.Release();
  reader.join();
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->image, ModelPage(s, id, first_end)) << ToString(id) << " at LSN " << first_end;
  // The read is done: the next upload takes what it kept.
  IngestFrom(*t, second_end, bytes.subspan(second_end - kBase));
  ASSERT_TRUE(t->Flush().ok());
  ASSERT_TRUE(t->WaitUntilUploaded(absl::Now() + absl::Seconds(120)).ok());
  EXPECT_FALSE((*bucket)->Get(held, {}).ok()) << held << " outlived its last read";
  ExpectBucketHoldsWhatItsIndexNames(**bucket);
  ExpectMatchesModel(*t, s, 29, t->Status().gc_cutoff_lsn);
}

}  // namespace
}  // namespace pageserver::storage
