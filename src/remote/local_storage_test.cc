// LocalStorage: the rules of remote_storage.h on a local directory — immutable objects,
// AlreadyExists however many writers race, ranges, listing by prefix, crash leftovers.
#include "remote/local_storage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/testing/temp_dir.h"

namespace pageserver::remote {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

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
  ASSERT_TRUE(storage_->PutIfAbsent("tl/layers/a.delta", Text("0123456789")).ok());
  auto whole = storage_->Get("tl/layers/a.delta", {});
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(*whole, Text("0123456789"));
  EXPECT_EQ(*storage_->Get("tl/layers/a.delta", {.offset = 3, .length = 4}), Text("3456"));
  EXPECT_EQ(*storage_->Get("tl/layers/a.delta", {.offset = 8, .length = 100}), Text("89"))
      << "a range past the end is cut there";
  EXPECT_EQ(*storage_->Get("tl/layers/a.delta", {.offset = 10}), Bytes{});
  EXPECT_TRUE(absl::IsOutOfRange(storage_->Get("tl/layers/a.delta", {.offset = 11}).status()));
  EXPECT_TRUE(absl::IsNotFound(storage_->Get("tl/layers/b.delta", {}).status()));
  ASSERT_TRUE(storage_->PutIfAbsent("empty", {}).ok());
  EXPECT_EQ(*storage_->Get("empty", {}), Bytes{});
}

TEST_F(LocalStorageTest, NothingIsEverOverwritten) {
  ASSERT_TRUE(storage_->PutIfAbsent("k", Text("first")).ok());
  const absl::Status again = storage_->PutIfAbsent("k", Text("second"));
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  EXPECT_NE(again.message().find("k exists"), std::string::npos) << again;
  EXPECT_EQ(*storage_->Get("k", {}), Text("first"));
}

TEST_F(LocalStorageTest, RacingWritersOfOneKeyMakeOneWholeObject) {
  constexpr int kWriters = 8;
  std::atomic<int> stored{0}, refused{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      const Bytes mine(64 << 10, static_cast<uint8_t>('a' + w));
      const absl::Status s = storage_->PutIfAbsent("race/obj", mine);
      if (s.ok()) ++stored;
      if (absl::IsAlreadyExists(s)) ++refused;
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(stored.load(), 1);
  EXPECT_EQ(refused.load(), kWriters - 1);
  const Bytes got = *storage_->Get("race/obj", {});
  ASSERT_EQ(got.size(), 64u << 10);
  EXPECT_EQ(std::count(got.begin(), got.end(), got[0]), static_cast<long>(got.size()))
      << "the object mixes two writers' bytes";
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
  ASSERT_TRUE(storage_->PutIfAbsent("d/k", Text("x")).ok());
  ASSERT_TRUE(storage_->Delete("d/k").ok());
  EXPECT_TRUE(absl::IsNotFound(storage_->Get("d/k", {}).status()));
  EXPECT_TRUE(storage_->Delete("d/k").ok());
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
  std::ofstream(root_ / ".tmp" / "123.0.abc") << "half an object";
  auto reopened = LocalStorage::Open(root_.string());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE(fs::is_empty(root_ / ".tmp"));
  EXPECT_TRUE((*reopened)->List("")->empty()) << "the temporary directory is not objects";
}

}  // namespace
}  // namespace pageserver::remote
