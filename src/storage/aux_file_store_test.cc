// AuxFileStore: versions by LSN (the newest at or below a read's LSN; equal LSNs in the order
// stored), deletions, durability across a reopen, and what it refuses: unclean paths, content
// too large, an LSN older than the path's newest version, a torn file on disk.
#include "storage/aux_file_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <fstream>

#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"

namespace pageserver::storage {
namespace {

using pageserver::testing::MessageHas;
using Bytes = std::vector<uint8_t>;

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

class AuxFileStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<AuxFileStore> Open() {
    auto s = AuxFileStore::Open((dir_.path() / "aux").string());
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  static std::string At(const AuxFileStore& s, const std::string& path, Lsn lsn) {
    auto got = s.Get(path, lsn);
    if (!got.ok()) return "<" + std::string(absl::StatusCodeToString(got.status().code())) + ">";
    return std::string(got->begin(), got->end());
  }
  pageserver::testing::TempDir dir_{"aux_file_store_test"};
};

TEST_F(AuxFileStoreTest, ReadsSeeTheNewestVersionAtOrBelowTheirLsn) {
  auto s = Open();
  ASSERT_TRUE(s->Put("db/t.frm", Lsn(100), Text("v1"), false).ok());
  ASSERT_TRUE(s->Put("db/t.frm", Lsn(200), Text("v2"), false).ok());
  ASSERT_TRUE(s->Put("db/t.frm", Lsn(200), Text("v2b"), false).ok());  // same LSN: later wins
  ASSERT_TRUE(s->Put("db/t.frm", Lsn(300), {}, true).ok());
  ASSERT_TRUE(s->Put("db/t.frm", Lsn(400), Text("v4"), false).ok());
  EXPECT_EQ(At(*s, "db/t.frm", Lsn(99)), "<NOT_FOUND>");
  EXPECT_EQ(At(*s, "db/t.frm", Lsn(100)), "v1");
  EXPECT_EQ(At(*s, "db/t.frm", Lsn(199)), "v1");
  EXPECT_EQ(At(*s, "db/t.frm", Lsn(250)), "v2b");
  EXPECT_EQ(At(*s, "db/t.frm", Lsn(300)), "<NOT_FOUND>");
  EXPECT_TRUE(MessageHas(s->Get("db/t.frm", Lsn(350)).status(), "deleted at LSN 300"));
  EXPECT_EQ(At(*s, "db/t.frm", Lsn(1000)), "v4");
  AuxFileVersion v;
  ASSERT_TRUE(s->Get("db/t.frm", Lsn(260), &v).ok());
  EXPECT_EQ(v.lsn, Lsn(200));
  EXPECT_EQ(v.size, 3u);
}

TEST_F(AuxFileStoreTest, ListShowsWhatExistsAtAnLsn) {
  auto s = Open();
  ASSERT_TRUE(s->Put("mysql/db.MAD", Lsn(10), Bytes(5000, 7), false).ok());
  ASSERT_TRUE(s->Put("db/db.opt", Lsn(20), Text("charset"), false).ok());
  ASSERT_TRUE(s->Put("db/db.opt", Lsn(30), {}, true).ok());
  auto at25 = s->List(Lsn(25));
  ASSERT_EQ(at25.size(), 2u);
  EXPECT_EQ(at25[0].path, "db/db.opt");
  EXPECT_EQ(at25[1].path, "mysql/db.MAD");
  EXPECT_EQ(at25[1].size, 5000u);
  auto at30 = s->List(Lsn(30));
  ASSERT_EQ(at30.size(), 1u);
  EXPECT_EQ(at30[0].path, "mysql/db.MAD");
  EXPECT_TRUE(s->List(Lsn(9)).empty());
}

TEST_F(AuxFileStoreTest, VersionsSurviveAReopenAndLaterPutsFollowThem) {
  {
    auto s = Open();
    ASSERT_TRUE(s->Put("a.frm", Lsn(100), Text("one"), false).ok());
    ASSERT_TRUE(s->Put("a.frm", Lsn(100), Text("two"), false).ok());
    ASSERT_TRUE(s->Put("b/c.par", Lsn(150), Bytes(), false).ok());  // an empty file
  }
  // A crash between writing a version and renaming it leaves a temporary file: never counted.
  std::ofstream((dir_.path() / "aux" / "00000000000000000099.aux.tmp").string()) << "torn";
  auto s = Open();
  EXPECT_EQ(At(*s, "a.frm", Lsn(100)), "two") << "the order of equal-LSN versions was lost";
  EXPECT_EQ(At(*s, "b/c.par", Lsn(150)), "");
  ASSERT_TRUE(s->Put("a.frm", Lsn(100), Text("three"), false).ok());
  EXPECT_EQ(At(*s, "a.frm", Lsn(100)), "three");
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "aux" / "00000000000000000099.aux.tmp"));
}

// Versions stamped with the end of redo that was then dropped move down to the new end, in
// their order, durably; the versions at or below it do not change, and later puts follow.
TEST_F(AuxFileStoreTest, LowerAboveMovesTheVersionsAboveAnLsnDownToIt) {
  {
    auto s = Open();
    ASSERT_TRUE(s->Put("db/t.frm", Lsn(100), Text("v1"), false).ok());
    ASSERT_TRUE(s->Put("db/t.frm", Lsn(200), Text("v2"), false).ok());
    ASSERT_TRUE(s->Put("db/t.frm", Lsn(260), Text("v3"), false).ok());
    ASSERT_TRUE(s->Put("db/t.frm", Lsn(270), {}, true).ok());
    ASSERT_TRUE(s->Put("db/u.frm", Lsn(150), Text("u1"), false).ok());
    auto lowered = s->LowerAbove(Lsn(250));
    ASSERT_TRUE(lowered.ok()) << lowered.status();
    EXPECT_EQ(*lowered, (std::vector<uint64_t>{3, 4}));
    EXPECT_EQ(At(*s, "db/t.frm", Lsn(249)), "v2");
    EXPECT_EQ(At(*s, "db/t.frm", Lsn(250)), "<NOT_FOUND>") << "the deletion, stored last, wins";
    ASSERT_TRUE(s->LowerAbove(Lsn(250)).ok());  // again: nothing to do
  }
  auto s = Open();
  EXPECT_EQ(At(*s, "db/t.frm", Lsn(249)), "v2");
  EXPECT_EQ(At(*s, "db/t.frm", Lsn(250)), "<NOT_FOUND>");
  EXPECT_EQ(At(*s, "db/u.frm", Lsn(250)), "u1");
  ASSERT_TRUE(s->Put("db/t.frm", Lsn(255), Text("v5"), false).ok())
      << "a put above the new end was refused";
  EXPECT_EQ(At(*s, "db/t.frm", Lsn(255)), "v5");
}

TEST_F(AuxFileStoreTest, UncleanPathsAreRefused) {
  auto s = Open();
  const std::vector<std::string> paths = {"",        "/etc/passwd", "../x", "db/../x",
                                          "db//t.frm", "./t.frm",   "db/", std::string("a\0b", 3)};
  for (const std::string& path : paths) {
    absl::Status put = s->Put(path, Lsn(1), Text("x"), false);
    EXPECT_TRUE(absl::IsInvalidArgument(put)) << "\"" << path << "\": " << put;
  }
  EXPECT_TRUE(s->List(Lsn(100)).empty()) << "a refused path was stored";
}

TEST_F(AuxFileStoreTest, AnOlderLsnThanTheNewestVersionIsRefused) {
  auto s = Open();
  ASSERT_TRUE(s->Put("t.frm", Lsn(500), Text("new"), false).ok());
  absl::Status older = s->Put("t.frm", Lsn(400), Text("old"), false);
  EXPECT_TRUE(absl::IsFailedPrecondition(older)) << older;
  EXPECT_TRUE(MessageHas(older, "newer version, at LSN 500"));
  EXPECT_EQ(At(*s, "t.frm", Lsn(1000)), "new");
}

TEST_F(AuxFileStoreTest, TooLargeContentAndDeletionsWithContentAreRefused) {
  auto s = Open();
  const Bytes huge(kMaxAuxFileBytes + 1, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(s->Put("big.MAD", Lsn(1), huge, false)));
  EXPECT_TRUE(absl::IsInvalidArgument(s->Put("t.frm", Lsn(1), Text("x"), true)));
}

TEST_F(AuxFileStoreTest, ATruncatedVersionFileIsDataLossAtOpen) {
  {
    auto s = Open();
    ASSERT_TRUE(s->Put("db/t.frm", Lsn(100), Text("content"), false).ok());
  }
  const auto file = dir_.path() / "aux" / "00000000000000000001.aux";
  ASSERT_TRUE(std::filesystem::exists(file));
  std::filesystem::resize_file(file, 6);  // inside the path
  auto s = AuxFileStore::Open((dir_.path() / "aux").string());
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsDataLoss(s.status())) << s.status();
}

TEST_F(AuxFileStoreTest, CollectKeepsWhatReadsAtOrAboveTheCutoffSeeAndRefusesTheRest) {
  auto s = Open();
  ASSERT_TRUE(s->Put("a", Lsn(100), Text("a1"), false).ok());
  ASSERT_TRUE(s->Put("a", Lsn(200), Text("a2"), false).ok());
  ASSERT_TRUE(s->Put("a", Lsn(300), Text("a3"), false).ok());  // above the cutoff
  ASSERT_TRUE(s->Put("b", Lsn(110), Text("b1"), false).ok());
  ASSERT_TRUE(s->Put("b", Lsn(210), {}, true).ok());  // deleted by the cutoff: all of b goes
  ASSERT_TRUE(s->Put("c", Lsn(120), Text("c1"), false).ok());
  ASSERT_TRUE(s->Put("d", Lsn(130), Text("d1"), false).ok());
  // The newest version stored: kept though it is a deletion (its seq is not to be taken again).
  ASSERT_TRUE(s->Put("d", Lsn(240), {}, true).ok());
  const std::vector<std::string> paths = {"a", "b", "c", "d"};
  std::map<std::pair<std::string, uint64_t>, std::string> before;
  for (const auto& p : paths) {
    for (uint64_t lsn = 250; lsn <= 320; lsn += 10) before[{p, lsn}] = At(*s, p, Lsn(lsn));
  }
  auto removed = s->Collect(Lsn(250));
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, (std::vector<uint64_t>{1, 4, 5, 7}));
  EXPECT_EQ(s->Sequences(), (std::vector<uint64_t>{2, 3, 6, 8}));
  EXPECT_FALSE(s->Holds(1));
  EXPECT_TRUE(s->Holds(2));
  for (const auto& [key, value] : before) {
    EXPECT_EQ(At(*s, key.first, Lsn(key.second)), value) << key.first << " at " << key.second;
  }
  // The versions listed are whole (path, LSN, size): what stayed is untouched.
  std::vector<std::string> listed;
  for (const AuxFileVersion& v : s->List(Lsn(320))) {
    listed.push_back(v.path + "@" + std::to_string(v.lsn.value()) + ":" + std::to_string(v.size));
  }
  EXPECT_EQ(listed, (std::vector<std::string>{"a@300:2", "c@120:2"}));
  auto below = s->Get("a", Lsn(249));
  EXPECT_TRUE(absl::IsOutOfRange(below.status())) << below.status();
  EXPECT_TRUE(MessageHas(below.status(), "GC cutoff, LSN 250")) << below.status();
  // The files went; a reopen finds what stayed, and the next seq is still new.
  size_t files = 0;
  for ([[maybe_unused]] const auto& f : std::filesystem::directory_iterator(dir_.path() / "aux")) {
    ++files;
  }
  EXPECT_EQ(files, 4u);
  s.reset();
  s = Open();
  EXPECT_EQ(s->Sequences(), (std::vector<uint64_t>{2, 3, 6, 8}));
  uint64_t seq = 0;
  ASSERT_TRUE(s->Put("e", Lsn(400), Text("e1"), false, &seq).ok());
  EXPECT_EQ(seq, 9u);
}

TEST_F(AuxFileStoreTest, CollectCanKeepDeletions) {
  auto s = Open();
  ASSERT_TRUE(s->Put("b", Lsn(110), Text("b1"), false).ok());
  ASSERT_TRUE(s->Put("b", Lsn(210), {}, true).ok());
  ASSERT_TRUE(s->Put("c", Lsn(300), Text("c1"), false).ok());  // the newest seq is not b's
  auto removed = s->Collect(Lsn(250), /*keep_deletions=*/true);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, (std::vector<uint64_t>{1}));
  ASSERT_TRUE(s->VersionAt("b", Lsn(250)).has_value());
  EXPECT_TRUE(s->VersionAt("b", Lsn(250))->deleted);
}

}  // namespace
}  // namespace pageserver::storage
