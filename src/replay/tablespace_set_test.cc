// TablespaceSet: the page lifecycle rules replay relies on (free pages are never written, undo
// truncation, file operations, unlogged file extension, eviction), on real files in a temp dir.
#include "replay/tablespace_set.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "common/byte_order.h"
#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"

namespace pageserver::replay {
namespace {

namespace fs = std::filesystem;
constexpr size_t kPs = 16384;
constexpr SpaceId kSpace(7);

PageId P(uint32_t page) { return PageId{kSpace, PageNo(page)}; }

class TablespaceSetTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_ / "db"); }

  // A tablespace file of `pages` pages: page 0 with full_crc32 flags and FSP_SIZE, every other
  // page filled with its own number so that an unwanted write shows.
  void WriteFile(const std::string& rel, uint32_t pages, uint32_t flags = 0x15,
                 uint32_t fsp_size = 0) {
    std::vector<uint8_t> data(pages * kPs, 0);
    for (uint32_t p = 1; p < pages; ++p) std::fill_n(&data[p * kPs], kPs, static_cast<uint8_t>(p));
    WriteBe32(&data[redo::kFilPageSpaceId], kSpace.value());
    WriteBe32(&data[redo::kFspSpaceId], kSpace.value());
    WriteBe32(&data[redo::kFspSize], fsp_size ? fsp_size : pages);
    WriteBe32(&data[redo::kFspSpaceFlags], flags);
    std::ofstream(dir_ / rel, std::ios::binary)
        .write(reinterpret_cast<char*>(data.data()), data.size());
  }
  std::vector<uint8_t> ReadPage(const std::string& rel, uint32_t page) {
    std::vector<uint8_t> buf(kPs, 0);
    std::ifstream in(dir_ / rel, std::ios::binary);
    in.seekg(page * kPs);
    in.read(reinterpret_cast<char*>(buf.data()), kPs);
    return buf;
  }
  uint64_t FilePages(const std::string& rel) { return fs::file_size(dir_ / rel) / kPs; }

  pageserver::testing::TempDir temp_{"tablespace_set_test"};
  const fs::path dir_ = temp_.path();
};

TEST_F(TablespaceSetTest, DirtyPageIsWrittenWithLsnAndChecksum) {
  WriteFile("db/t.ibd", 4);
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Open(kSpace, "db/t.ibd").ok());
  auto frame = set.Frame(P(2));
  ASSERT_TRUE(frame.ok()) << frame.status();
  (*frame)[100] = 0xAB;
  WriteBe64(frame->data() + redo::kFilPageLsn, 5000);
  set.MarkDirty(P(2));
  auto freed = set.Finish();
  ASSERT_TRUE(freed.ok()) << freed.status();
  EXPECT_TRUE(freed->empty());
  const auto page = ReadPage("db/t.ibd", 2);
  EXPECT_EQ(page[100], 0xAB);
  EXPECT_TRUE(redo::PageChecksumValid(page, true));
  EXPECT_EQ(ReadBe32(&page[kPs - 8]), 5000u);  // low half of FIL_PAGE_LSN in the trailer
}

TEST_F(TablespaceSetTest, FreedPageIsNeverWrittenAndIsListed) {
  WriteFile("db/t.ibd", 4);
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Open(kSpace, "db/t.ibd").ok());
  auto frame = set.Frame(P(3));
  ASSERT_TRUE(frame.ok());
  (*frame)[200] = 0xCD;
  set.MarkDirty(P(3));
  set.MarkFreed(P(3));
  auto freed = set.Finish();
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(*freed, std::vector<PageId>{P(3)});
  EXPECT_EQ(ReadPage("db/t.ibd", 3)[200], 3);  // the file keeps its older image, as in MariaDB
}

TEST_F(TablespaceSetTest, PageInitializedAfterFreeIsWrittenAgain) {
  WriteFile("db/t.ibd", 4);
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Open(kSpace, "db/t.ibd").ok());
  set.MarkFreed(P(1));
  set.MarkInitialized(P(1));
  auto frame = set.Frame(P(1));
  ASSERT_TRUE(frame.ok());
  (*frame)[300] = 0xEF;
  set.MarkDirty(P(1));
  auto freed = set.Finish();
  ASSERT_TRUE(freed.ok());
  EXPECT_TRUE(freed->empty());
  EXPECT_EQ(ReadPage("db/t.ibd", 1)[300], 0xEF);
}

TEST_F(TablespaceSetTest, TrimTruncatesAndReportsPagesNotReinitialisedAsFree) {
  WriteFile("undo001", 10);
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Open(kSpace, "undo001").ok());
  auto frame = set.Frame(P(8));
  ASSERT_TRUE(frame.ok());
  set.MarkDirty(P(8));  // dirty before the truncation: discarded, as MariaDB does
  ASSERT_TRUE(set.Trim(kSpace, 4).ok());
  EXPECT_EQ(FilePages("undo001"), 4u);
  set.MarkInitialized(P(0));
  set.MarkInitialized(P(2));
  auto page0 = set.Frame(P(0), /*need_content=*/false);
  ASSERT_TRUE(page0.ok());
  WriteBe32(page0->data() + redo::kFspSize, 4);
  WriteBe32(page0->data() + redo::kFspSpaceFlags, 0x15);
  set.MarkDirty(P(0));
  auto freed = set.Finish();
  ASSERT_TRUE(freed.ok()) << freed.status();
  EXPECT_EQ(*freed, (std::vector<PageId>{P(1), P(3)}));
  EXPECT_EQ(FilePages("undo001"), 4u);
}

TEST_F(TablespaceSetTest, FinishExtendsTheFileToFspSize) {
  WriteFile("db/t.ibd", 4, 0x15, /*fsp_size=*/9);
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Open(kSpace, "db/t.ibd").ok());
  ASSERT_TRUE(set.Finish().ok());
  EXPECT_EQ(FilePages("db/t.ibd"), 9u);
}

TEST_F(TablespaceSetTest, RenameMovesTheFileAndKeepsItsPages) {
  WriteFile("db/t.ibd", 4);
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Open(kSpace, "db/t.ibd").ok());
  ASSERT_TRUE(set.Rename(kSpace, "other/t2.ibd").ok());
  EXPECT_FALSE(fs::exists(dir_ / "db/t.ibd"));
  auto frame = set.Frame(P(2));
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ((*frame)[0], 2);
  set.MarkDirty(P(2));
  ASSERT_TRUE(set.Finish().ok());
  EXPECT_TRUE(redo::PageChecksumValid(ReadPage("other/t2.ibd", 2), true));
}

TEST_F(TablespaceSetTest, DeleteRemovesTheFileAndForgetsTheSpace) {
  WriteFile("db/t.ibd", 4);
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Open(kSpace, "db/t.ibd").ok());
  ASSERT_TRUE(set.Frame(P(1)).ok());
  set.MarkDirty(P(1));
  set.MarkFreed(P(2));
  ASSERT_TRUE(set.Delete(kSpace).ok());
  EXPECT_FALSE(fs::exists(dir_ / "db/t.ibd"));
  EXPECT_FALSE(set.Known(kSpace));
  auto freed = set.Finish();
  ASSERT_TRUE(freed.ok()) << freed.status();
  EXPECT_TRUE(freed->empty());
}

TEST_F(TablespaceSetTest, PageOfUnknownSpaceIsNotFound) {
  TablespaceSet set(dir_.string(), 100);
  auto frame = set.Frame(P(1));
  ASSERT_FALSE(frame.ok());
  EXPECT_TRUE(absl::IsNotFound(frame.status()));
  EXPECT_TRUE(testing::MessageHas(frame.status(), "tablespace 7"));
}

TEST_F(TablespaceSetTest, CreatedSpaceStartsEmptyAndReadsAsZero) {
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Create(kSpace, "db/new.ibd").ok());
  auto frame = set.Frame(P(5));
  ASSERT_TRUE(frame.ok());
  EXPECT_TRUE(std::all_of(frame->begin(), frame->end(), [](uint8_t b) { return b == 0; }));
}

TEST_F(TablespaceSetTest, CreateNeverTruncatesAFileAlreadyThere) {
  WriteFile("db/t.ibd", 4);
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Create(kSpace, "db/t.ibd").ok());
  EXPECT_EQ(FilePages("db/t.ibd"), 4u);
  EXPECT_EQ(ReadPage("db/t.ibd", 3)[0], 3);
}

TEST_F(TablespaceSetTest, CreateOverAnotherSpacesFileIsRefused) {
  WriteFile("db/t.ibd", 4);
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Open(kSpace, "db/t.ibd").ok());
  const absl::Status s = set.Create(SpaceId(9), "db/t.ibd");
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(testing::MessageHas(s, "tablespace 7")) << s;
  EXPECT_EQ(FilePages("db/t.ibd"), 4u);
}

TEST_F(TablespaceSetTest, SameSpaceIdInTwoFilesIsRefused) {
  WriteFile("db/t.ibd", 4);
  WriteFile("db/u.ibd", 4);
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Open(kSpace, "db/t.ibd").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(set.Open(kSpace, "db/u.ibd")));
}

TEST_F(TablespaceSetTest, TrimThatWouldGrowTheFileIsRefused) {
  WriteFile("undo001", 4);
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Open(kSpace, "undo001").ok());
  const absl::Status s = set.Trim(kSpace, 0xFFFFFFFFu);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_EQ(FilePages("undo001"), 4u);
}

TEST_F(TablespaceSetTest, DataDirectoryPathIsRefused) {
  TablespaceSet set(dir_.string(), 100);
  const absl::Status s = set.Create(kSpace, "/elsewhere/db/t.ibd");
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(testing::MessageHas(s, "DATA DIRECTORY")) << s;
  EXPECT_FALSE(fs::exists("/elsewhere/db/t.ibd"));
}

TEST_F(TablespaceSetTest, PathLeavingTheTreeIsRefused) {
  WriteFile("db/t.ibd", 4);
  TablespaceSet set(dir_.string(), 100);
  ASSERT_TRUE(set.Open(kSpace, "db/t.ibd").ok());
  EXPECT_TRUE(absl::IsDataLoss(set.Create(SpaceId(8), "db/../../x.ibd")));
  EXPECT_TRUE(absl::IsDataLoss(set.Rename(kSpace, "../t.ibd")));
  EXPECT_TRUE(fs::exists(dir_ / "db/t.ibd"));
}

TEST_F(TablespaceSetTest, EvictionWritesDirtyPagesAndRereadsThem) {
  WriteFile("db/t.ibd", 8);
  TablespaceSet set(dir_.string(), /*max_cached_pages=*/2);
  ASSERT_TRUE(set.Open(kSpace, "db/t.ibd").ok());
  for (uint32_t p = 1; p <= 4; ++p) {
    auto frame = set.Frame(P(p));
    ASSERT_TRUE(frame.ok());
    (*frame)[500] = static_cast<uint8_t>(0x40 + p);
    set.MarkDirty(P(p));
  }
  ASSERT_TRUE(set.MaybeEvict().ok());
  EXPECT_EQ(set.pages_written(), 4u);
  auto again = set.Frame(P(3));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[500], 0x43);
}

TEST_F(TablespaceSetTest, UnsupportedTablespaceIsRefusedAtOpen) {
  WriteFile("db/t.ibd", 4, /*flags=*/0x15 | (1u << 5));  // full_crc32 + page_compressed
  TablespaceSet set(dir_.string(), 100);
  const absl::Status s = set.Open(kSpace, "db/t.ibd");
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(testing::MessageHas(s, "page_compressed")) << s;
  EXPECT_TRUE(testing::MessageHas(s, "db/t.ibd")) << s;
}

}  // namespace
}  // namespace pageserver::replay
