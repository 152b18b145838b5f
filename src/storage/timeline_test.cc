// Timeline against a model: every page at every LSN must equal the page rebuilt directly from
// the base image and all records up to that LSN, however the stream was chunked, however many
// times the in-memory layer was frozen, compacted into images or reloaded after a restart.
// Byte-exactness against MariaDB itself is the fixture suites' job (test/server).
#include "storage/timeline.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/byte_order.h"
#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"
#include "common/testing/test_seed.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "remote/local_storage.h"
#include "storage/page_reconstruct.h"
#include "storage/page_snippet.h"
#include "storage/remote_layout.h"
#include "storage/testing/timeline_model.h"
#include "wal/mtr_decoder.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;
using testing::MessageHas;
using wal::testing::Bytes;
using wal::testing::MtrBuilder;

TEST_F(TimelineTest, ImportedPagesAreServedAtTheBase) {
  auto t = OpenWithBase();
  for (uint32_t p = 0; p < kPages; ++p) {
    auto page = t->GetPage(PageId{kSpace, PageNo(p)}, kBase, kSoon);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->image, BasePage(p));
    EXPECT_EQ(page->records_applied, 0u);
  }
  const TimelineStatus st = t->Status();
  EXPECT_EQ(st.base_lsn, kBase);
  EXPECT_EQ(st.last_record_lsn, kBase);
  EXPECT_EQ(st.image_layers, 1u);
}

TEST_F(TimelineTest, EveryPageAtEveryLsnMatchesTheModelAcrossFlushesAndRestart) {
  const uint32_t seed = testing::TestSeed();
  const Stream s = MakeStream(400, seed);
  {
    auto t = OpenWithBase();
    IngestChunked(*t, s.bytes, seed, 97);
    ExpectMatchesModel(*t, s, 13);  // while layers are still being written out
    ASSERT_TRUE(t->Flush().ok());
    const TimelineStatus st = t->Status();
    EXPECT_EQ(st.last_record_lsn, kBase + s.bytes.size());
    // 10 flushes of the small in-memory layer make a compaction into level 1.
    EXPECT_GT(st.compactions, 0u) << "the small in-memory layer must have been frozen";
    EXPECT_GT(st.level1_delta_layers, 0u);
    EXPECT_GT(st.image_layers, 1u) << "long chains must have been compacted into images";
    ExpectMatchesModel(*t, s, 7);
  }
  auto reopened = Open();  // restart: layers reloaded, the WAL tail replayed
  EXPECT_EQ(reopened->Status().last_record_lsn, kBase + s.bytes.size());
  ExpectMatchesModel(*reopened, s, 5);
}

TEST_F(TimelineTest, ChunkSplitsAnywhereGiveTheSamePages) {
  const Stream s = MakeStream(60, 7);
  for (size_t max_chunk : {1, 2, 3, 13, 1000}) {
    testing::TempDir dir("timeline_test_chunks");
    auto t = Timeline::Open(dir.path().string(), options_);
    ASSERT_TRUE(t.ok());
    auto session = (*t)->BeginImport(kBase, kPs, {{kSpace, "db/t.ibd", kFlags, kPages}});
    ASSERT_TRUE(session.ok());
    for (uint32_t p = 0; p < kPages; ++p) {
      ASSERT_TRUE((*session)->AddPage(PageId{kSpace, PageNo(p)}, BasePage(p)).ok());
    }
    ASSERT_TRUE((*session)->Finish().ok());
    IngestChunked(**t, s.bytes, static_cast<uint32_t>(max_chunk), max_chunk);
    ExpectMatchesModel(**t, s, 11);
  }
}

TEST_F(TimelineTest, IncompleteTailIsNotStoredAndIsResentAfterRestart) {
  const Stream s = MakeStream(3, 1);
  const size_t first_end = s.mtrs[0].end_lsn - kBase;
  {
    auto t = OpenWithBase();
    auto r = t->IngestWal(kBase, std::span<const uint8_t>(s.bytes).first(first_end + 3));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->last_record_lsn, s.mtrs[0].end_lsn);
    EXPECT_EQ(r->received_lsn, s.mtrs[0].end_lsn + 3);
  }
  auto t = Open();
  EXPECT_EQ(t->Status().last_record_lsn, s.mtrs[0].end_lsn);
  auto r = t->IngestWal(s.mtrs[0].end_lsn, std::span<const uint8_t>(s.bytes).subspan(first_end));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->last_record_lsn, kBase + s.bytes.size());
  ExpectMatchesModel(*t, s, 1);
}

TEST_F(TimelineTest, UnstoredTailMayBeReplaced) {
  const Stream s = MakeStream(3, 4);
  auto t = OpenWithBase();
  const size_t first_end = s.mtrs[0].end_lsn - kBase;
  ASSERT_TRUE(t->IngestWal(kBase, std::span<const uint8_t>(s.bytes).first(first_end)).ok());
  const Bytes junk(5, 0x33);  // could start a mini-transaction: held, not stored
  auto held = t->IngestWal(s.mtrs[0].end_lsn, junk);
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->last_record_lsn, s.mtrs[0].end_lsn);
  auto r = t->IngestWal(s.mtrs[0].end_lsn, std::span<const uint8_t>(s.bytes).subspan(first_end));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->last_record_lsn, kBase + s.bytes.size());
  ExpectMatchesModel(*t, s, 1);
}

// Bad input: each is refused with a message naming the LSN and leaves the store unchanged.
class TimelineBadInputTest : public TimelineTest {
 protected:
  void SetUp() override {
    options_.in_memory_layer_bytes = 64 << 20;  // keep the WAL: overlaps are checked against it
    s_ = MakeStream(20, 3);
    t_ = OpenWithBase();
    half_ = s_.mtrs[9].end_lsn - kBase;
    ASSERT_TRUE(t_->IngestWal(kBase, std::span<const uint8_t>(s_.bytes).first(half_)).ok());
  }
  void ExpectUnchanged() {
    const TimelineStatus st = t_->Status();
    EXPECT_EQ(st.last_record_lsn, kBase + half_);
    EXPECT_EQ(st.received_lsn, kBase + half_);
    for (uint32_t p = 0; p < kPages; ++p) {
      const PageId id{kSpace, PageNo(p)};
      auto page = t_->GetPage(id, Lsn(0), kSoon);
      ASSERT_TRUE(page.ok()) << page.status();
      EXPECT_EQ(page->image, ModelPage(s_, id, kBase + half_));
    }
    // And the correct continuation is still accepted.
    auto r = t_->IngestWal(kBase + half_, std::span<const uint8_t>(s_.bytes).subspan(half_));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->last_record_lsn, kBase + s_.bytes.size());
  }
  Stream s_;
  std::unique_ptr<Timeline> t_;
  size_t half_ = 0;
};

TEST_F(TimelineBadInputTest, GapIsRefused) {
  const Lsn at = kBase + half_ + 5;
  auto r = t_->IngestWal(at, std::span<const uint8_t>(s_.bytes).subspan(half_ + 5));
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_TRUE(MessageHas(r.status(), absl::StrCat("LSN ", at.value())));
  ExpectUnchanged();
}

TEST_F(TimelineBadInputTest, OverlapThatDiffersIsRefused) {
  Bytes changed(s_.bytes.begin() + static_cast<ptrdiff_t>(half_ - 10), s_.bytes.end());
  changed[4] ^= 0xFF;
  auto r = t_->IngestWal(kBase + (half_ - 10), changed);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_TRUE(MessageHas(r.status(),
                         absl::StrCat("differs from it at LSN ", (kBase + (half_ - 6)).value())));
  ExpectUnchanged();
}

TEST_F(TimelineBadInputTest, IdenticalOverlapIsAccepted) {
  auto r = t_->IngestWal(kBase + (half_ - 10),
                         std::span<const uint8_t>(s_.bytes).subspan(half_ - 10, 10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->bytes_stored, 0u);
  ExpectUnchanged();
}

TEST_F(TimelineBadInputTest, CorruptBytesAreRefusedWithNothingStored) {
  // Two good mini-transactions, then one whose CRC is wrong: none of the three is stored.
  const size_t bad_start = s_.mtrs[11].start_lsn - kBase;
  const size_t bad_end = s_.mtrs[11].end_lsn - kBase;
  Bytes chunk(s_.bytes.begin() + static_cast<ptrdiff_t>(half_),
              s_.bytes.begin() + static_cast<ptrdiff_t>(bad_end));
  chunk[bad_end - half_ - 1] ^= 0x01;  // last CRC byte
  auto r = t_->IngestWal(kBase + half_, chunk);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_TRUE(MessageHas(r.status(), absl::StrCat("LSN ", (kBase + bad_start).value())));
  ExpectUnchanged();
}

TEST_F(TimelineBadInputTest, ReadsOutsideTheHistoryAreRefused) {
  const absl::Time soon = absl::Now() + absl::Milliseconds(50);
  auto below = t_->GetPage(PageId{kSpace, PageNo(1)}, Lsn(kBase.value() - 1), soon);
  EXPECT_TRUE(absl::IsOutOfRange(below.status())) << below.status();
  EXPECT_TRUE(MessageHas(below.status(), "below the timeline's base LSN"));
  auto unknown = t_->GetPage(PageId{SpaceId(77), PageNo(1)}, Lsn(0), soon);
  EXPECT_TRUE(absl::IsNotFound(unknown.status())) << unknown.status();
  EXPECT_TRUE(MessageHas(unknown.status(), "tablespace 77"));
  auto past_end = t_->GetPage(PageId{kSpace, PageNo(kPages)}, Lsn(0), soon);
  EXPECT_TRUE(absl::IsOutOfRange(past_end.status())) << past_end.status();
  EXPECT_TRUE(MessageHas(past_end.status(), "past the end"));
  auto future = t_->GetPage(PageId{kSpace, PageNo(1)}, kBase + s_.bytes.size() + 100, soon);
  EXPECT_TRUE(absl::IsDeadlineExceeded(future.status())) << future.status();
  EXPECT_TRUE(MessageHas(future.status(), "not reached in time"));
  ExpectUnchanged();
}

TEST_F(TimelineBadInputTest, SecondImportIsRefused) {
  auto again = t_->BeginImport(kBase, kPs, {{kSpace, "db/t.ibd", kFlags, kPages}});
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
  ExpectUnchanged();
}

TEST_F(TimelineTest, IngestBeforeImportIsRefused) {
  auto t = Open();
  const Stream s = MakeStream(2, 1);
  auto r = t->IngestWal(kBase, s.bytes);
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_TRUE(MessageHas(r.status(), "import first"));
}

// The scheduler state of thread `tid` of this process ('R' running, 'S' asleep, ...), or 0.
char ThreadState(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');  // the thread's name may hold spaces and parentheses
  return paren == std::string::npos || paren + 2 >= text.size() ? 0 : text[paren + 2];
}

// Waits until the thread whose id `tid` will hold is asleep or `done` is set; false after a
// minute. A reader that is asleep in GetPage waits for its LSN: it blocks nowhere else.
bool AsleepOrDone(const std::atomic<pid_t>& tid, const std::atomic<bool>& done) {
  for (int i = 0; i < 60'000; ++i) {
    if (done) return true;
    if (const pid_t t = tid.load(); t != 0 && ThreadState(t) == 'S') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST_F(TimelineTest, ReaderWaitsForTheLsnThenGetsThePage) {
  auto t = OpenWithBase();
  const Stream s = MakeStream(5, 2);
  const Lsn end = kBase + s.bytes.size();
  const Lsn before_end = s.mtrs[3].end_lsn;
  ASSERT_LT(before_end, end);
  std::atomic<pid_t> reader_tid{0};
  std::atomic<bool> returned{false};
  absl::StatusOr<PageVersion> page = absl::UnknownError("never read");
  std::thread reader([&] {
    reader_tid = static_cast<pid_t>(syscall(SYS_gettid));
    page = t->GetPage(PageId{kSpace, PageNo(1)}, end, absl::Now() + absl::Seconds(60));
    returned = true;
  });
  struct JoinAtExit {  // also when an assertion below returns early
    std::thread& thread;
    ~JoinAtExit() {
      if (thread.joinable()) thread.join();
    }
  } join_reader{reader};
  // Ingest once the reader is asleep waiting, not after a fixed delay: on a loaded machine
  // the ingest would often run first and the reader would never wait.
  ASSERT_TRUE(AsleepOrDone(reader_tid, returned)) << "the reader thread never blocked";
  ASSERT_FALSE(returned) << "GetPage at LSN " << end
                         << " returned before it was ingested: " << page.status();
  // Up to an LSN below the reader's: last_record_lsn advances, the reader must keep waiting.
  ASSERT_TRUE(
      t->IngestWal(kBase, std::span<const uint8_t>(s.bytes).first(before_end - kBase)).ok());
  ASSERT_TRUE(AsleepOrDone(reader_tid, returned)) << "the reader thread never blocked again";
  EXPECT_FALSE(returned) << "GetPage at LSN " << end << " returned at LSN " << before_end << ": "
                         << page.status();
  ASSERT_TRUE(
      t->IngestWal(before_end, std::span<const uint8_t>(s.bytes).subspan(before_end - kBase)).ok());
  reader.join();  // GetPage's own deadline bounds this
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->image, ModelPage(s, PageId{kSpace, PageNo(1)}, end));
}

// Group commit: redo written by WriteWalAs is neither acknowledged nor visible until a sync
// covers it, and one sync covers every request written before it began.
TEST_F(TimelineTest, OneSyncMakesEveryRequestWrittenBeforeItDurableAndVisible) {
  options_.sync = true;  // real fdatasyncs, counted
  auto t = OpenWithBase();
  const Stream s = MakeStream(30, 11);
  const std::vector<Lsn> ends = {s.mtrs[9].end_lsn, s.mtrs[19].end_lsn, kBase + s.bytes.size()};
  Lsn from = kBase;
  for (const Lsn end : ends) {
    auto written = t->WriteWalAs(
        kNoWriterLease, from, std::span<const uint8_t>(s.bytes).subspan(from - kBase, end - from));
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_EQ(written->last_record_lsn, end);
    from = end;
  }
  const TimelineStatus before = t->Status();
  EXPECT_EQ(before.last_record_lsn, kBase) << "written, not yet durable: not visible";
  EXPECT_EQ(before.received_lsn, ends.back());
  EXPECT_TRUE(
      absl::IsDeadlineExceeded(t->GetPage(PageId{kSpace, PageNo(1)}, ends[0], kSoon).status()));
  // Three waiters at once, one per request: the first to sync covers all three.
  std::vector<absl::StatusOr<Lsn>> durable(ends.size(), absl::UnknownError("not run"));
  std::vector<std::thread> waiters;
  for (size_t i = 0; i < ends.size(); ++i) {
    waiters.emplace_back([&, i] { durable[i] = t->MakeWalDurable(ends[i]); });
  }
  for (std::thread& w : waiters) w.join();
  for (size_t i = 0; i < ends.size(); ++i) {
    ASSERT_TRUE(durable[i].ok()) << durable[i].status();
    EXPECT_GE(*durable[i], ends[i]);
  }
  const TimelineStatus after = t->Status();
  EXPECT_EQ(after.wal_syncs - before.wal_syncs, 1u);
  EXPECT_EQ(after.last_record_lsn, ends.back());
  ExpectMatchesModel(*t, s, 7);
  // Beyond what was written is an error, not a wait.
  EXPECT_TRUE(absl::IsOutOfRange(t->MakeWalDurable(ends.back() + 1).status()));
  t.reset();
  t = Open();
  EXPECT_EQ(t->Status().last_record_lsn, ends.back());
}

// Writers that write in turn and wait for durability each on its own thread: every request is
// stored, in order, whichever thread's sync covered it.
TEST_F(TimelineTest, ConcurrentWritersShareSyncsAndLoseNothing) {
  options_.sync = true;
  auto t = OpenWithBase();
  const Stream s = MakeStream(400, 12);
  std::mutex turn;  // WriteWalAs calls come in LSN order, as one stream's would
  size_t next_mtr = 0;
  std::atomic<uint64_t> requests{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      for (;;) {
        Lsn end;
        {
          std::lock_guard<std::mutex> l(turn);
          if (next_mtr >= s.mtrs.size()) return;
          const Lsn from = next_mtr == 0 ? kBase : s.mtrs[next_mtr - 1].end_lsn;
          next_mtr = std::min(s.mtrs.size(), next_mtr + 3);
          end = s.mtrs[next_mtr - 1].end_lsn;
          auto written =
              t->WriteWalAs(kNoWriterLease, from,
                            std::span<const uint8_t>(s.bytes).subspan(from - kBase, end - from));
          ASSERT_TRUE(written.ok()) << written.status();
        }
        auto durable = t->MakeWalDurable(end);
        ASSERT_TRUE(durable.ok()) << durable.status();
        ASSERT_GE(*durable, end);
        ASSERT_GE(t->Status().last_record_lsn, end);
        requests.fetch_add(1);
      }
    });
  }
  for (std::thread& w : writers) w.join();
  const TimelineStatus status = t->Status();
  EXPECT_EQ(status.last_record_lsn, kBase + s.bytes.size());
  EXPECT_LE(status.wal_syncs, requests.load());
  std::printf("%llu requests, %llu syncs\n", static_cast<unsigned long long>(requests.load()),
              static_cast<unsigned long long>(status.wal_syncs));
  ExpectMatchesModel(*t, s, 37);
}

// With remote storage, every flush's layers and index reach the bucket, and
// remote_consistent_lsn follows disk_consistent_lsn.
TEST_F(TimelineTest, FlushedLayersAndTheManifestAreUploaded) {
  auto bucket = remote::LocalStorage::Open((dir_.path() / "bucket").string());
  ASSERT_TRUE(bucket.ok()) << bucket.status();
  options_.remote = bucket->get();
  options_.remote_prefix = "timelines/t1";
  auto t = OpenWithBase();
  const Stream s = MakeStream(300, 21);
  IngestChunked(*t, s.bytes, 5, 700);
  ASSERT_TRUE(t->Flush().ok());
  const Lsn flushed = t->Status().disk_consistent_lsn;
  ASSERT_GT(flushed, kBase);
  const absl::Status uploaded = t->WaitUntilUploaded(absl::Now() + absl::Seconds(60));
  ASSERT_TRUE(uploaded.ok()) << uploaded;
  EXPECT_GE(t->Status().remote_consistent_lsn, flushed);
  auto newest = NewestIndex(**bucket, "timelines/t1", 1000);
  ASSERT_TRUE(newest.ok() && newest->has_value());
  EXPECT_EQ((*newest)->gen, 1u);  // the first open of the bucket claims generation 1
  EXPECT_EQ((*newest)->lsn, flushed);
  for (const auto& layer : fs::directory_iterator(dir_.path() / "layers")) {
    auto stored = (*bucket)->Get(LayerKey("timelines/t1", layer.path().filename().string(), 1), {});
    ASSERT_TRUE(stored.ok()) << stored.status();
    std::ifstream local(layer.path(), std::ios::binary);
    EXPECT_EQ(*stored, Bytes(std::istreambuf_iterator<char>(local), {})) << layer.path();
  }
  t.reset();
  options_.remote = nullptr;
}

TEST_F(TimelineTest, LayerFileTheManifestDoesNotNameIsRemovedAtOpen) {
  { auto t = OpenWithBase(); }
  const fs::path stray =
      dir_.path() / "layers" / "delta_00000000000001000000_00000000000001000100.layer";
  std::ofstream(stray) << "left by a crash before the manifest named it";
  auto t = Open();
  EXPECT_FALSE(fs::exists(stray));
  EXPECT_EQ(t->Status().base_lsn, kBase);
}

TEST_F(TimelineTest, WalLeftByACrashedImportIsWiped) {
  // A crash after an import's WAL directory was made but before its manifest committed.
  const fs::path wal = dir_.path() / "wal";
  fs::create_directories(wal);
  std::ofstream(wal / "00000000000000000777.wal") << "stale";
  auto t = OpenWithBase();
  EXPECT_EQ(t->Status().last_record_lsn, kBase);
  const Stream s = MakeStream(5, 9);
  auto r = t->IngestWal(kBase, s.bytes);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(fs::exists(wal / "00000000000000000777.wal"));
}

TEST_F(TimelineTest, ManifestNamingSomethingElseIsRefused) {
  { auto t = OpenWithBase(); }
  std::ifstream in(dir_.path() / "timeline.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = text.find("\"image_");  // the layer's name, not a key
  ASSERT_NE(at, std::string::npos);
  text.replace(at + 1, 6, "../../");
  std::ofstream(dir_.path() / "timeline.json") << text;
  auto t = Timeline::Open(dir_.path().string(), options_);
  EXPECT_TRUE(absl::IsDataLoss(t.status())) << t.status();
  EXPECT_TRUE(MessageHas(t.status(), "not a layer file name"));
}

TEST_F(TimelineTest, CorruptManifestIsRefused) {
  { auto t = OpenWithBase(); }
  std::ofstream(dir_.path() / "timeline.json") << "{\"format_version\": 1, \"base_lsn\": ";
  auto t = Timeline::Open(dir_.path().string(), options_);
  EXPECT_TRUE(absl::IsDataLoss(t.status())) << t.status();
  EXPECT_TRUE(MessageHas(t.status(), "timeline.json"));
}

// Issue 8: a tail of redo found not to be the source's is dropped; what stays is exact, the
// right redo can follow, and a restart sees the truncated log.
TEST_F(TimelineTest, TruncateWalDropsTheTailThatNoLayerHolds) {
  options_.in_memory_layer_bytes = 1ull << 30;  // flushes only when asked
  const Stream s = MakeStream(300, 81);
  const size_t half = 150;
  const size_t half_bytes = s.mtrs[half - 1].end_lsn - kBase;
  auto t = OpenWithBase();
  ASSERT_TRUE(t->IngestWal(kBase, std::span<const uint8_t>(s.bytes).first(half_bytes)).ok());
  ASSERT_TRUE(t->Flush().ok());  // layers hold the first half
  ASSERT_TRUE(
      t->IngestWal(kBase + half_bytes, std::span<const uint8_t>(s.bytes).subspan(half_bytes)).ok());
  const Lsn flushed = s.mtrs[half - 1].end_lsn;
  ASSERT_EQ(t->Status().disk_consistent_lsn, flushed);
  const Lsn end = s.mtrs.back().end_lsn;

  auto below = t->TruncateWal(s.mtrs[half - 2].end_lsn, kNoWriterLease);
  EXPECT_TRUE(absl::IsFailedPrecondition(below.status())) << below.status();
  auto past = t->TruncateWal(end + 1, kNoWriterLease);
  EXPECT_TRUE(absl::IsOutOfRange(past.status())) << past.status();
  const wal::Mtr& cut_at = s.mtrs[220];
  auto inside = t->TruncateWal(cut_at.start_lsn + 1, kNoWriterLease);
  EXPECT_TRUE(absl::IsInvalidArgument(inside.status())) << inside.status();
  EXPECT_TRUE(MessageHas(
      inside.status(),
      absl::StrCat("mini-transaction ", cut_at.start_lsn.value(), "..", cut_at.end_lsn.value())))
      << inside.status();
  EXPECT_EQ(t->Status().last_record_lsn, end) << "a refused truncation changed the timeline";

  const Lsn keep = cut_at.start_lsn;  // the end of mtrs[219]
  auto cut = t->TruncateWal(keep, kNoWriterLease);
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ(*cut, keep);
  EXPECT_EQ(t->Status().last_record_lsn, keep);
  EXPECT_TRUE(absl::IsDeadlineExceeded(t->GetPage(PageId{kSpace, PageNo(1)}, end, kSoon).status()));
  Stream kept = s;
  kept.mtrs.resize(220);
  ExpectMatchesModel(*t, kept, 7);

  // Other redo at `keep` is taken (it is not compared with the dropped bytes), then the rest.
  const size_t keep_bytes = keep - kBase;
  auto again = t->IngestWal(keep, std::span<const uint8_t>(s.bytes).subspan(keep_bytes));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->last_record_lsn, end);
  ExpectMatchesModel(*t, s, 13);

  // An aux version stamped with the end of the dropped redo applies from the new end, also
  // after a restart; the writer can store the next version at that end.
  const std::vector<uint8_t> frm{1};
  ASSERT_TRUE(t->PutAuxFile("db/t.frm", end, frm, /*deleted=*/false, kNoWriterLease).ok());
  ASSERT_TRUE(t->TruncateWal(keep, kNoWriterLease).ok());
  AuxFileVersion version;
  auto aux = t->GetAuxFile("db/t.frm", keep, kSoon, &version);
  ASSERT_TRUE(aux.ok()) << aux.status();
  EXPECT_EQ(version.lsn, keep);
  t.reset();
  t = Open();
  EXPECT_EQ(t->Status().last_record_lsn, keep);
  ExpectMatchesModel(*t, kept, 11);
  ASSERT_TRUE(t->GetAuxFile("db/t.frm", keep, kSoon, &version).ok());
  EXPECT_EQ(version.lsn, keep);
  EXPECT_TRUE(t->PutAuxFile("db/t.frm", keep, {}, /*deleted=*/true, kNoWriterLease).ok());
}

// One writer per database (issue 9): each AcquireWriter is a new generation, durable across a
// restart; an append of any other generation is refused with nothing stored.
TEST_F(TimelineTest, WriterLeaseFencesEveryOtherWriter) {
  const Stream s = MakeStream(60, 91);
  auto part = [&](size_t i) {  // the bytes of mini-transaction i
    const Lsn from = i == 0 ? kBase : s.mtrs[i - 1].end_lsn;
    return std::make_pair(
        from, std::span<const uint8_t>(s.bytes).subspan(from - kBase, s.mtrs[i].end_lsn - from));
  };
  auto t = OpenWithBase();
  EXPECT_FALSE(t->Status().writer.has_value());
  auto [at0, bytes0] = part(0);
  ASSERT_TRUE(t->IngestWal(at0, bytes0).ok()) << "before any lease, writers need none";
  auto [at1, bytes1] = part(1);
  auto never = t->IngestWalAs(5, at1, bytes1);
  EXPECT_TRUE(absl::IsFailedPrecondition(never.status())) << never.status();
  EXPECT_TRUE(MessageHas(never.status(), "never granted"));

  auto a = t->AcquireWriter("compute a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->generation, 1u);
  EXPECT_EQ(a->granted_at, s.mtrs[0].end_lsn);
  auto unleased = t->IngestWal(at1, bytes1);
  EXPECT_TRUE(absl::IsFailedPrecondition(unleased.status())) << unleased.status();
  EXPECT_TRUE(MessageHas(unleased.status(), "a writer without a lease is fenced"));
  ASSERT_TRUE(t->IngestWalAs(1, at1, bytes1).ok());

  auto b = t->AcquireWriter("compute b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->generation, 2u);
  auto [at2, bytes2] = part(2);
  auto fenced = t->IngestWalAs(1, at2, bytes2);
  EXPECT_TRUE(absl::IsFailedPrecondition(fenced.status())) << fenced.status();
  EXPECT_TRUE(MessageHas(fenced.status(), "writer generation 1 is fenced"));
  EXPECT_TRUE(MessageHas(fenced.status(), "held by \"compute b\""));
  EXPECT_EQ(t->Status().last_record_lsn, s.mtrs[1].end_lsn) << "a fenced writer stored redo";
  EXPECT_EQ(t->Status().received_lsn, s.mtrs[1].end_lsn);
  ASSERT_TRUE(t->IngestWalAs(2, at2, bytes2).ok());

  t.reset();
  t = Open();
  ASSERT_TRUE(t->Status().writer.has_value());
  EXPECT_EQ(t->Status().writer->generation, 2u);
  EXPECT_EQ(t->Status().writer->holder, "compute b");
  auto [at3, bytes3] = part(3);
  EXPECT_TRUE(absl::IsFailedPrecondition(t->IngestWalAs(1, at3, bytes3).status()));
  auto c = t->AcquireWriter("compute c");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->generation, 3u);
  EXPECT_EQ(c->granted_at, s.mtrs[2].end_lsn);
}

}  // namespace
}  // namespace pageserver::storage
