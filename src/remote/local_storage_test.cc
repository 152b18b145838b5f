// LocalStorage: the rules of remote_storage.h on a local directory — immutable objects,
// AlreadyExists however many writers race, ranges, listing by prefix, crash leftovers.
#include "remote/local_storage.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/testing/temp_dir.h"
#include "remote/testing/conformance.h"

namespace pageserver::remote {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

using testing::Text;

class LocalStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = LocalStorage::Open(root_.string());
    ASSERT_TRUE(opened.ok()) << opened.status();
    storage_ = std::move(*opened);
  }
  pageserver::testing::TempDir dir_{"local_storage_test"};
  const fs::path root_ = dir_.path() / "bucket";
  std::unique_ptr<LocalStorage> storage_;
};

TEST_F(LocalStorageTest, AnObjectIsReadBackWholeOrByRange) {
  testing::ExpectObjectsReadBackWholeOrByRange(*storage_);
}

TEST_F(LocalStorageTest, NothingIsEverOverwritten) {
  testing::ExpectNothingOverwritten(*storage_);
  const absl::Status again = storage_->PutIfAbsent("k", Text("third"));
  EXPECT_NE(again.message().find("k exists"), std::string::npos) << again;
}

TEST_F(LocalStorageTest, RacingWritersOfOneKeyMakeOneWholeObject) {
  testing::ExpectRacingWritersMakeOneWholeObject(
      [&]() -> std::unique_ptr<RemoteStorage> { return std::move(*LocalStorage::Open(root_)); },
      *storage_);
}

TEST_F(LocalStorageTest, ListIsSortedByKeyUnderAPrefixWithSizes) {
  for (const char* key : {"tl/b", "tl/a/x", "tl/a/y", "other/z"}) {
    ASSERT_TRUE(storage_->PutIfAbsent(key, Text(key)).ok());
  }
  auto listed = storage_->List("tl/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(*listed, (std::vector<ObjectInfo>{{"tl/a/x", 6}, {"tl/a/y", 6}, {"tl/b", 4}}));
  EXPECT_EQ(storage_->List("")->size(), 4u);
  EXPECT_TRUE(storage_->List("none/")->empty());
}

TEST_F(LocalStorageTest, DeleteIsIdempotent) {
  testing::ExpectDeleteIdempotent(*storage_);
  EXPECT_TRUE(storage_->PutIfAbsent("d/k", Text("y")).ok()) << "a deleted key is free again";
}

TEST_F(LocalStorageTest, BadKeysAreRefusedBeforeAnyIo) {
  const std::vector<std::string> bad = {"",   "/abs",   "a//b",       "a/../b",
                                       "./a", "a/", "sp ace", "new\nline", std::string(1025, 'k')};
  for (const std::string& key : bad) {
    const absl::Status s = storage_->PutIfAbsent(key, Text("x"));
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << "\"" << key << "\": " << s;
  }
  EXPECT_TRUE(storage_->List("")->empty());
  EXPECT_FALSE(fs::exists(root_.parent_path() / "b"));
}

TEST_F(LocalStorageTest, LeftoversOfAnInterruptedPutAreRemovedAtOpen) {
  // A writer that is gone (a child that exited) and one that runs (this process).
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  const fs::path dead = root_ / ".tmp" / (std::to_string(child) + ".0.abc");
  const fs::path live = root_ / ".tmp" / (std::to_string(getpid()) + ".0.def");
  std::ofstream(dead) << "half an object";
  std::ofstream(live) << "an object being written";
  auto reopened = LocalStorage::Open(root_.string());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live)) << "another instance's put in progress was removed";
  fs::remove(live);
  EXPECT_TRUE((*reopened)->List("")->empty()) << "the temporary directory is not objects";
}

}  // namespace
}  // namespace pageserver::remote
