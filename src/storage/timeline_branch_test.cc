// Branches (timeline_branch.cc) against the model (timeline_model.h): a branch at an LSN reads
// exactly its ancestor's pages and aux files there; its own redo and aux files, and the
// ancestor's after the branch point, never show on the other; nested branches; a restart;
// GC keeps a branch point's history whatever the PITR window says; and what is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"

#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"
#include "common/testing/test_seed.h"
#include "storage/testing/timeline_model.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;

class TimelineBranchTest : public TimelineTest {
 protected:
  // A new branch directory's path (not created).
  std::string BranchDir(const std::string& name) { return (branches_.path() / name).string(); }
  std::unique_ptr<Timeline> OpenBranch(const std::string& dir, Timeline& ancestor) {
    TimelineOptions options = options_;
    options.ancestor = &ancestor;
    auto t = Timeline::Open(dir, options);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? std::move(*t) : nullptr;
  }
  // Every page of `t` at `lsn` equals `expected(id)`.
  template <typename Expected>
  static void ExpectPages(Timeline& t, Lsn lsn, Expected expected) {
    for (uint32_t p = 0; p < kPages; ++p) {
      const PageId id{kSpace, PageNo(p)};
      auto page = t.GetPage(id, lsn, kSoon);
      ASSERT_TRUE(page.ok()) << ToString(id) << " at LSN " << lsn << ": " << page.status();
      ASSERT_EQ(page->image, expected(id)) << ToString(id) << " at LSN " << lsn;
    }
  }
  static std::string Aux(Timeline& t, const std::string& path, Lsn lsn) {
    auto got = t.GetAuxFile(path, lsn, kSoon, nullptr);
    if (!got.ok()) return absl::StrCat("<", absl::StatusCodeToString(got.status().code()), ">");
    return std::string(got->begin(), got->end());
  }
  static void PutAux(Timeline& t, const std::string& path, Lsn lsn, const std::string& text,
                     bool deleted = false) {
    const std::vector<uint8_t> bytes(text.begin(), text.end());
    ASSERT_TRUE(t.PutAuxFile(path, lsn, bytes, deleted, kNoWriterLease).ok());
  }

  testing::TempDir branches_{"timeline_branch_test"};
};

TEST_F(TimelineBranchTest, ABranchReadsItsAncestorAtTheBranchLsnAndWritesStayApart) {
  const uint32_t seed = testing::TestSeed();
  std::mt19937 rng(seed);
  const Stream s = MakeStream(3000, seed, /*frees=*/true);
  const size_t split = 2 * s.mtrs.size() / 3;
  const Lsn first_end = s.mtrs[split].end_lsn;
  auto main = OpenWithBase();
  IngestFrom(*main, kBase, std::span<const uint8_t>(s.bytes).first(first_end - kBase));
  PutAux(*main, "db/t.frm", s.mtrs[10].end_lsn, "t1");
  PutAux(*main, "db/u.frm", s.mtrs[20].end_lsn, "u1");
  ASSERT_TRUE(main->Flush().ok());  // some history in layers, some in memory

  // Branches at random LSNs of the stored history, the base and the last LSN among them.
  std::vector<Lsn> points = {kBase, Lsn(0)};
  for (int i = 0; i < 4; ++i) points.push_back(s.mtrs[rng() % split].end_lsn);
  std::vector<std::unique_ptr<Timeline>> branches;
  std::vector<Lsn> at;
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string dir = BranchDir(absl::StrCat("branch", i, "_", seed));
    fs::remove_all(dir);
    auto lsn = Timeline::CreateBranch(dir, *main, points[i], NewTimelineId());
    ASSERT_TRUE(lsn.ok()) << lsn.status();
    EXPECT_EQ(*lsn, points[i] == Lsn(0) ? first_end : points[i]);
    branches.push_back(OpenBranch(dir, *main));
    ASSERT_NE(branches.back(), nullptr);
    at.push_back(*lsn);
    const TimelineStatus st = branches.back()->Status();
    EXPECT_EQ(st.base_lsn, kBase) << "readable down to main's base";
    EXPECT_EQ(st.last_record_lsn, *lsn);
    EXPECT_EQ(st.identity.ancestor_id, main->Status().identity.id);
    EXPECT_EQ(st.identity.ancestor_lsn, *lsn);
    ExpectPages(*branches.back(), *lsn, [&](PageId id) { return ModelPage(s, id, *lsn); });
    EXPECT_EQ(Aux(*branches.back(), "db/t.frm", *lsn), Aux(*main, "db/t.frm", *lsn));
    // Below the branch LSN, the branch is its ancestor.
    const Lsn before(lsn->value() - 1);
    if (*lsn > kBase) {
      ExpectPages(*branches.back(), before, [&](PageId id) { return ModelPage(s, id, before); });
    } else {
      auto below = branches.back()->GetPage(PageId{kSpace, PageNo(1)}, before, kSoon);
      EXPECT_TRUE(absl::IsOutOfRange(below.status())) << below.status();
    }
  }
  // Each branch takes redo of its own from its branch LSN; main goes on with the rest of its own.
  std::vector<Stream> own;
  for (size_t i = 0; i < branches.size(); ++i) {
    const Stream mine = MakeStream(400, seed + 100 + i, /*frees=*/true);
    own.push_back(DecodeStream(mine.bytes, at[i]));
    IngestFrom(*branches[i], at[i], own.back().bytes);
    PutAux(*branches[i], "db/t.frm", own.back().mtrs.back().end_lsn, absl::StrCat("branch ", i));
    PutAux(*branches[i], "db/u.frm", own.back().mtrs.back().end_lsn, "", /*deleted=*/true);
    if (i % 2 == 0) {
      ASSERT_TRUE(branches[i]->Flush().ok());
    }
  }
  IngestFrom(*main, first_end, std::span<const uint8_t>(s.bytes).subspan(first_end - kBase));
  PutAux(*main, "db/t.frm", s.mtrs.back().end_lsn, "t2");
  ASSERT_TRUE(main->Flush().ok());

  auto check = [&](std::vector<std::unique_ptr<Timeline>>& bs, Timeline& m) {
    const Lsn main_end = s.mtrs.back().end_lsn;
    ExpectPages(m, main_end, [&](PageId id) { return ModelPage(s, id, main_end); });
    EXPECT_EQ(Aux(m, "db/t.frm", main_end), "t2");
    EXPECT_EQ(Aux(m, "db/u.frm", main_end), "u1");
    for (size_t i = 0; i < bs.size(); ++i) {
      const Stream& mine = own[i];
      for (size_t k = 0; k < mine.mtrs.size(); k += 37) {
        const Lsn lsn = mine.mtrs[k].end_lsn;
        ExpectPages(*bs[i], lsn, [&](PageId id) {
          return ModelPageOn(ModelPage(s, id, at[i]), mine, id, lsn);
        });
      }
      const Lsn end = mine.mtrs.back().end_lsn;
      ExpectPages(*bs[i], end,
                  [&](PageId id) { return ModelPageOn(ModelPage(s, id, at[i]), mine, id, end); });
      EXPECT_EQ(Aux(*bs[i], "db/t.frm", end), absl::StrCat("branch ", i));
      EXPECT_EQ(Aux(*bs[i], "db/u.frm", end), "<NOT_FOUND>");
      auto listed = bs[i]->ListAuxFiles(end, kSoon);
      ASSERT_TRUE(listed.ok()) << listed.status();
      ASSERT_EQ(listed->size(), 1u);
      EXPECT_EQ((*listed)[0].path, "db/t.frm");
      EXPECT_EQ(Aux(*bs[i], "db/t.frm", at[i]), Aux(m, "db/t.frm", at[i]));
    }
  };
  check(branches, *main);
  // A restart: branches close before their ancestor and open after it.
  std::vector<std::string> dirs;
  for (size_t i = 0; i < branches.size(); ++i) {
    dirs.push_back(BranchDir(absl::StrCat("branch", i, "_", seed)));
  }
  branches.clear();
  main.reset();
  options_.branch_points = at;
  main = Open();
  for (const std::string& dir : dirs) branches.push_back(OpenBranch(dir, *main));
  check(branches, *main);
  branches.clear();
  for (const std::string& dir : dirs) fs::remove_all(dir);
}

TEST_F(TimelineBranchTest, NestedBranchesReadThroughEveryAncestor) {
  const uint32_t seed = testing::TestSeed();
  const Stream s = MakeStream(600, seed);
  auto main = OpenWithBase();
  IngestFrom(*main, kBase, s.bytes);
  // Five levels: each a branch of the one before, at the end of its redo, with redo of its own.
  std::vector<std::unique_ptr<Timeline>> chain;
  std::vector<std::string> dirs;
  std::vector<Stream> own;
  Timeline* parent = main.get();
  Lsn lsn = s.mtrs.back().end_lsn;
  for (int level = 0; level < 5; ++level) {
    dirs.push_back(BranchDir(absl::StrCat("nested", level, "_", seed)));
    fs::remove_all(dirs.back());
    auto created = Timeline::CreateBranch(dirs.back(), *parent, Lsn(0), NewTimelineId());
    ASSERT_TRUE(created.ok()) << created.status();
    ASSERT_EQ(*created, lsn);
    chain.push_back(OpenBranch(dirs.back(), *parent));
    own.push_back(DecodeStream(MakeStream(200, seed + level + 1).bytes, lsn));
    IngestFrom(*chain.back(), lsn, own.back().bytes);
    if (level % 2 == 1) {
      ASSERT_TRUE(chain.back()->Flush().ok());
    }
    lsn = own.back().mtrs.back().end_lsn;
    parent = chain.back().get();
  }
  // The deepest at its end: main's pages, then each level's redo in turn.
  ExpectPages(*chain.back(), lsn, [&](PageId id) {
    Bytes page = ModelPage(s, id, s.mtrs.back().end_lsn);
    for (const Stream& level : own) page = ModelPageOn(page, level, id, level.mtrs.back().end_lsn);
    return page;
  });
  while (!chain.empty()) chain.pop_back();  // the deepest first
  for (const std::string& dir : dirs) fs::remove_all(dir);
}

TEST_F(TimelineBranchTest, GcKeepsTheHistoryOfABranchPointUntilTheBranchGoes) {
  options_.image_creation_delta_bytes = 48 << 10;
  options_.pitr_window_bytes = 20000;
  const uint32_t seed = testing::TestSeed();
  const Stream s = MakeStream(4000, seed, /*frees=*/true);
  const Lsn early = s.mtrs[300].end_lsn;
  auto main = OpenWithBase();
  IngestFrom(*main, kBase, std::span<const uint8_t>(s.bytes).first(early - kBase));
  PutAux(*main, "db/t.frm", s.mtrs[100].end_lsn, "early");
  const std::string dir = BranchDir(absl::StrCat("gc_branch_", seed));
  fs::remove_all(dir);
  ASSERT_TRUE(Timeline::CreateBranch(dir, *main, early, NewTimelineId()).ok());
  auto branch = OpenBranch(dir, *main);
  IngestFrom(*main, early, std::span<const uint8_t>(s.bytes).subspan(early - kBase));
  PutAux(*main, "db/t.frm", s.mtrs.back().end_lsn, "late");
  ASSERT_TRUE(main->Flush().ok());
  const TimelineStatus st = main->Status();
  ASSERT_GT(st.gc_cutoff_lsn, early) << "GC did not pass the branch point";
  // Main refuses reads below its cutoff; the branch reads its branch point exactly.
  EXPECT_TRUE(absl::IsOutOfRange(main->GetPage(PageId{kSpace, PageNo(1)}, early, kSoon).status()));
  ExpectPages(*branch, early, [&](PageId id) { return ModelPage(s, id, early); });
  EXPECT_EQ(Aux(*branch, "db/t.frm", early), "early");
  // Below its branch LSN the branch reads main, whose cutoff refuses it.
  auto under = branch->GetPage(PageId{kSpace, PageNo(1)}, Lsn(early.value() - 1), kSoon);
  EXPECT_TRUE(testing::MessageHas(under.status(), "GC cutoff")) << under.status();
  // A branch below the cutoff is refused, and nothing is made.
  const std::string refused = BranchDir(absl::StrCat("gc_refused_", seed));
  auto below = Timeline::CreateBranch(refused, *main, early, NewTimelineId());
  EXPECT_TRUE(absl::IsOutOfRange(below.status())) << below.status();
  EXPECT_TRUE(testing::MessageHas(below.status(), "GC cutoff")) << below.status();
  EXPECT_FALSE(fs::exists(refused));
  // Once the branch goes, the next GC takes the history it kept.
  const uint64_t kept_bytes = st.image_layer_bytes + st.delta_layer_bytes;
  branch.reset();
  fs::remove_all(dir);
  main->RemoveBranchPoint(early);
  const Stream more = DecodeStream(MakeStream(2000, seed + 1).bytes, s.mtrs.back().end_lsn);
  IngestFrom(*main, s.mtrs.back().end_lsn, more.bytes);
  ASSERT_TRUE(main->Flush().ok());
  const TimelineStatus after = main->Status();
  EXPECT_LT(after.image_layer_bytes + after.delta_layer_bytes, kept_bytes)
      << "the history kept for the branch was not collected after it went";
}

TEST_F(TimelineBranchTest, ABranchsGcKeepsItsDeletionOfAnInheritedAuxFile) {
  const Stream s = MakeStream(100, 5);
  auto main = OpenWithBase();
  IngestFrom(*main, kBase, s.bytes);
  PutAux(*main, "db/u.frm", s.mtrs.back().end_lsn, "u1");
  const std::string dir = BranchDir("gc_deleting_branch");
  ASSERT_TRUE(Timeline::CreateBranch(dir, *main, Lsn(0), NewTimelineId()).ok());
  // The branch deletes the file main still has, then runs long enough for its GC to pass that.
  TimelineOptions collecting = options_;
  collecting.ancestor = main.get();
  collecting.image_creation_delta_bytes = 48 << 10;
  collecting.pitr_window_bytes = 20000;
  auto opened = Timeline::Open(dir, collecting);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Timeline& branch = **opened;
  const Lsn from = s.mtrs.back().end_lsn;
  const Stream own = DecodeStream(MakeStream(4000, 6).bytes, from);
  IngestFrom(branch, from, std::span<const uint8_t>(own.bytes).first(200));
  const Lsn deleted_at = branch.Status().last_record_lsn;
  PutAux(branch, "db/u.frm", deleted_at, "", /*deleted=*/true);
  PutAux(branch, "db/v.frm", deleted_at, "v1");  // the deletion is not the newest version stored
  IngestFrom(branch, Lsn(from.value() + 200), std::span<const uint8_t>(own.bytes).subspan(200));
  ASSERT_TRUE(branch.Flush().ok());
  ASSERT_GT(branch.Status().gc_cutoff_lsn, deleted_at) << "the branch's GC did not pass the deletion";
  EXPECT_EQ(Aux(branch, "db/u.frm", own.mtrs.back().end_lsn), "<NOT_FOUND>");
  EXPECT_EQ(Aux(*main, "db/u.frm", from), "u1");
  opened->reset();
}

TEST_F(TimelineBranchTest, WhatABranchCannotBeIsRefusedAndNothingIsMade) {
  const Stream s = MakeStream(200, 3);
  auto main = OpenWithBase();
  IngestFrom(*main, kBase, s.bytes);
  const Lsn end = s.mtrs.back().end_lsn;
  const std::string dir = BranchDir("refused_branch");
  fs::remove_all(dir);
  auto above = Timeline::CreateBranch(dir, *main, Lsn(end.value() + 1), NewTimelineId());
  EXPECT_TRUE(absl::IsOutOfRange(above.status())) << above.status();
  EXPECT_TRUE(testing::MessageHas(above.status(), "above the timeline's last LSN"));
  auto before = Timeline::CreateBranch(dir, *main, Lsn(kBase.value() - 1), NewTimelineId());
  EXPECT_TRUE(absl::IsOutOfRange(before.status())) << before.status();
  EXPECT_FALSE(fs::exists(dir));
  // An empty timeline has nothing to branch from.
  testing::TempDir empty_dir("timeline_branch_empty");
  auto empty = Timeline::Open((empty_dir.path() / "t").string(), options_);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      Timeline::CreateBranch(dir, **empty, Lsn(0), NewTimelineId()).status()));
  EXPECT_FALSE(fs::exists(dir));
  // A directory that exists is not taken over.
  ASSERT_TRUE(Timeline::CreateBranch(dir, *main, end, NewTimelineId()).ok());
  auto again = Timeline::CreateBranch(dir, *main, end, NewTimelineId());
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
  // A branch opened without its ancestor is refused, naming it.
  auto orphan = Timeline::Open(dir, options_);
  EXPECT_TRUE(absl::IsFailedPrecondition(orphan.status())) << orphan.status();
  EXPECT_TRUE(testing::MessageHas(orphan.status(), main->Status().identity.id));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pageserver::storage
