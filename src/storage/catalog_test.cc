#include "storage/catalog.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "wal/mtr_decoder.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::storage {
namespace {

using wal::testing::Bytes;
using wal::testing::MtrBuilder;

// Decodes one mini-transaction built at `lsn`.
wal::Mtr Decode(const MtrBuilder& b, Lsn lsn) {
  wal::MtrDecoder d(lsn, {});
  d.Feed(b.Build(1));
  wal::Mtr mtr;
  EXPECT_TRUE(*d.Next(&mtr));
  return mtr;
}

TEST(CatalogTest, HistoryIsAnsweredAtEachLsn) {
  Catalog c;
  c.AddBase(Lsn(1000), {{SpaceId(5), "./db/t.ibd", 0x15, 4}});
  MtrBuilder grow;
  grow.Write(PageId{SpaceId(5), PageNo(9)}, 100, Bytes{1});
  const wal::Mtr m1 = Decode(grow, Lsn(1100));
  c.Apply(m1);
  MtrBuilder create;
  create.FileOp(wal::testing::kFileCreate, SpaceId(6), wal::testing::StrBytes("./db/u.ibd"));
  const wal::Mtr m2 = Decode(create, Lsn(1200));
  c.Apply(m2);
  MtrBuilder rename;
  rename.FileRename(SpaceId(5), "./db/t.ibd", "./db/t2.ibd");
  const wal::Mtr m3 = Decode(rename, Lsn(1300));
  c.Apply(m3);
  MtrBuilder drop;
  drop.FileOp(wal::testing::kFileDelete, SpaceId(6), wal::testing::StrBytes("./db/u.ibd"));
  const wal::Mtr m4 = Decode(drop, Lsn(1400));
  c.Apply(m4);

  EXPECT_EQ(c.Find(SpaceId(5), Lsn(1000))->pages, 4u);
  EXPECT_EQ(c.Find(SpaceId(5), m1.end_lsn)->pages, 10u);
  EXPECT_EQ(c.Find(SpaceId(5), m1.end_lsn)->path, "db/t.ibd");
  EXPECT_EQ(c.Find(SpaceId(5), m3.end_lsn)->path, "db/t2.ibd");
  EXPECT_FALSE(c.Find(SpaceId(6), m1.end_lsn));
  EXPECT_EQ(c.Find(SpaceId(6), m2.end_lsn)->floor, m2.end_lsn);
  EXPECT_FALSE(c.Find(SpaceId(6), m2.end_lsn)->flags.has_value());
  EXPECT_FALSE(c.Find(SpaceId(6), m4.end_lsn));
  EXPECT_FALSE(c.Find(SpaceId(5), Lsn(999)));
  EXPECT_EQ(c.List(m2.end_lsn).size(), 2u);

  // The manifest form up to an LSN forgets what came after it.
  auto back = Catalog::FromJson(c.ToJson(m2.end_lsn));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->Find(SpaceId(5), m4.end_lsn)->path, "db/t.ibd");
  EXPECT_TRUE(back->Find(SpaceId(6), m4.end_lsn).has_value());
  EXPECT_EQ(back->Find(SpaceId(5), m4.end_lsn)->pages, 10u);
}

TEST(CatalogTest, APathNamesTheFileOfTheSpaceNamedLast) {
  Catalog c;
  c.AddBase(Lsn(1000), {{SpaceId(92), "./db/r.ibd", 0x15, 4}});
  MtrBuilder create;
  create.FileOp(wal::testing::kFileCreate, SpaceId(93), wal::testing::StrBytes("./db/#sql-alter.ibd"));
  c.Apply(Decode(create, Lsn(1100)));
  MtrBuilder rename;
  rename.FileRename(SpaceId(93), "./db/#sql-alter.ibd", "./db/r.ibd");
  const wal::Mtr renamed = Decode(rename, Lsn(1200));
  c.Apply(renamed);
  // Space 92 was never deleted nor renamed in the redo, yet its file is gone: 93 took its name.
  ASSERT_EQ(c.List(renamed.end_lsn).size(), 2u);
  const std::vector<TablespaceAt> files = c.ListFiles(renamed.end_lsn);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].space, SpaceId(93));
  EXPECT_EQ(files[0].named, renamed.end_lsn);
  EXPECT_EQ(c.ListFiles(Lsn(1150)).size(), 2u) << "before the rename both files exist";
  EXPECT_TRUE(c.Find(SpaceId(92), renamed.end_lsn).has_value()) << "its pages stay readable";
}

TEST(CatalogTest, TrimPagesSetsSizeAndFloor) {
  Catalog c;
  c.AddBase(Lsn(1000), {{SpaceId(2), "undo002", 0x15, 640}});
  MtrBuilder trim;
  trim.Extended(PageId{SpaceId(2), PageNo(128)}, 10 /* TRIM_PAGES */);
  const wal::Mtr m = Decode(trim, Lsn(2000));
  c.Apply(m);
  EXPECT_EQ(c.Find(SpaceId(2), Lsn(1999))->pages, 640u);
  const auto after = c.Find(SpaceId(2), m.end_lsn);
  EXPECT_EQ(after->pages, 128u);
  EXPECT_EQ(after->floor, m.end_lsn);
  EXPECT_TRUE(after->trimmed);
}

// FSP_SIZE of page 0: MariaDB extends files without logging the new pages, so the size is the
// field in page 0, followed through the records that write it.
constexpr SpaceId kSpace(5);
const PageId kPage0{kSpace, PageNo(0)};
constexpr uint32_t kFspSize = 46;  // FSP_HEADER_OFFSET 38 + FSP_SIZE 8

uint32_t PagesAt(const Catalog& c, Lsn lsn) { return c.Find(kSpace, lsn)->pages; }

// A base of `file_pages` pages whose page 0 says FSP_SIZE = 640 (0x00000280).
Catalog BaseWithFspSize(uint32_t file_pages = 179) {
  Catalog c;
  c.AddBase(Lsn(1000), {{kSpace, "w/t1.ibd", 0x15, file_pages}}, {{kSpace.value(), 640}});
  return c;
}

TEST(CatalogTest, ImportedFspSizeBeyondTheFileIsTheSize) {
  const Catalog c = BaseWithFspSize();
  EXPECT_EQ(PagesAt(c, Lsn(1000)), 640u);
}

TEST(CatalogTest, FileLongerThanFspSizeKeepsItsPages) {
  const Catalog c = BaseWithFspSize(700);
  EXPECT_EQ(PagesAt(c, Lsn(1000)), 700u);
}

TEST(CatalogTest, WriteOfTheChangedLastByteOfFspSizeKeepsTheOthers) {
  Catalog c = BaseWithFspSize();
  // mtr_t::write logs only from the first byte that differs: 0x280 -> 0x2C0 is one byte at 49.
  const wal::Mtr m = Decode(MtrBuilder().Write(kPage0, kFspSize + 3, Bytes{0xC0}), Lsn(2000));
  c.Apply(m);
  EXPECT_EQ(PagesAt(c, Lsn(1999)), 640u);
  EXPECT_EQ(PagesAt(c, m.end_lsn), 0x2C0u);
}

TEST(CatalogTest, WriteAroundFspSizeTakesItsBytes) {
  Catalog c = BaseWithFspSize();
  // A write of bytes 44..51 sets the field from its bytes 2..5.
  const wal::Mtr m =
      Decode(MtrBuilder().Write(kPage0, 44, Bytes{9, 9, 0, 0, 0x12, 0x34, 9, 9}), Lsn(2000));
  c.Apply(m);
  EXPECT_EQ(PagesAt(c, m.end_lsn), 0x1234u);
}

TEST(CatalogTest, WriteNextToFspSizeLeavesIt) {
  Catalog c = BaseWithFspSize();
  // FSP_FREE_LIMIT follows FSP_SIZE at byte 50.
  const wal::Mtr m = Decode(MtrBuilder().Write(kPage0, kFspSize + 4, Bytes{0xFF}), Lsn(2000));
  c.Apply(m);
  EXPECT_EQ(PagesAt(c, m.end_lsn), 640u);
}

TEST(CatalogTest, MemsetOverFspSizeRepeatsItsPattern) {
  Catalog c = BaseWithFspSize();
  const wal::Mtr m = Decode(MtrBuilder().Memset(kPage0, kFspSize + 1, 3, Bytes{0x01}), Lsn(2000));
  c.Apply(m);
  EXPECT_EQ(PagesAt(c, m.end_lsn), 0x010101u);
}

TEST(CatalogTest, CreatedSpaceTakesFspSizeFromItsInitialisedPage0) {
  Catalog c;
  MtrBuilder create;
  create.FileOp(wal::testing::kFileCreate, kSpace, wal::testing::StrBytes("./db/new.ibd"))
      .InitPage(kPage0)
      .Write(kPage0, kFspSize + 3, Bytes{4});  // fsp_header_init on a zeroed frame
  const wal::Mtr m1 = Decode(create, Lsn(1000));
  c.Apply(m1);
  EXPECT_EQ(PagesAt(c, m1.end_lsn), 4u);
  // The file grows (fsp_try_extend_data_file): only FSP_SIZE tells.
  const wal::Mtr m2 = Decode(MtrBuilder().Write(kPage0, kFspSize + 3, Bytes{64}), Lsn(2000));
  c.Apply(m2);
  EXPECT_EQ(PagesAt(c, m2.end_lsn), 64u);
}

TEST(CatalogTest, InitPageOfPage0ZeroesFspSize) {
  Catalog c = BaseWithFspSize(179);
  const wal::Mtr m = Decode(MtrBuilder().InitPage(kPage0), Lsn(2000));
  c.Apply(m);
  EXPECT_EQ(PagesAt(c, m.end_lsn), 179u);  // the highest-touched rule is what is left
}

TEST(CatalogTest, MemmoveIntoFspSizeFallsBackToTheHighestPageTouched) {
  Catalog c = BaseWithFspSize(179);
  const wal::Mtr m1 = Decode(MtrBuilder().Memmove(kPage0, kFspSize, 4, 100), Lsn(2000));
  c.Apply(m1);
  EXPECT_EQ(PagesAt(c, m1.end_lsn), 179u);
  // A partial write cannot make an unknown field known...
  const wal::Mtr m2 = Decode(MtrBuilder().Write(kPage0, kFspSize + 3, Bytes{0xC0}), Lsn(3000));
  c.Apply(m2);
  EXPECT_EQ(PagesAt(c, m2.end_lsn), 179u);
  // ... a write of the whole field does.
  const wal::Mtr m3 = Decode(MtrBuilder().Write(kPage0, kFspSize, Bytes{0, 0, 3, 0}), Lsn(4000));
  c.Apply(m3);
  EXPECT_EQ(PagesAt(c, m3.end_lsn), 768u);
  EXPECT_EQ(PagesAt(c, Lsn(1000)), 640u);
}

TEST(CatalogTest, TrimPagesSetsFspSizeToo) {
  Catalog c;
  c.AddBase(Lsn(1000), {{SpaceId(2), "undo002", 0x15, 1280}}, {{2, 1280}});
  MtrBuilder trim;
  trim.Extended(PageId{SpaceId(2), PageNo(640)}, 10 /* TRIM_PAGES */);
  const wal::Mtr m = Decode(trim, Lsn(2000));
  c.Apply(m);
  EXPECT_EQ(c.Find(SpaceId(2), m.end_lsn)->pages, 640u);
}

TEST(CatalogTest, FspSizeHistorySurvivesTheManifest) {
  Catalog c = BaseWithFspSize(179);
  const wal::Mtr m1 = Decode(MtrBuilder().Write(kPage0, kFspSize + 3, Bytes{0xC0}), Lsn(2000));
  c.Apply(m1);
  const wal::Mtr m2 = Decode(MtrBuilder().Memmove(kPage0, kFspSize, 4, 100), Lsn(3000));
  c.Apply(m2);
  auto back = Catalog::FromJson(c.ToJson(m2.end_lsn));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(PagesAt(*back, Lsn(1000)), 640u);
  EXPECT_EQ(PagesAt(*back, m1.end_lsn), 0x2C0u);
  EXPECT_EQ(PagesAt(*back, m2.end_lsn), 179u);  // unknown since m2
  // Loaded up to m1 and given the redo after it again, it ends where the original did.
  auto replayed = Catalog::FromJson(c.ToJson(m1.end_lsn));
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  const wal::Mtr m3 = Decode(MtrBuilder().Write(kPage0, kFspSize + 2, Bytes{3, 0}), Lsn(4000));
  replayed->Apply(m3);
  EXPECT_EQ(PagesAt(*replayed, m3.end_lsn), 0x300u);
}

TEST(CatalogTest, ManifestWithoutFspSizesUsesTheHighestPageTouched) {
  // As written before FSP_SIZE was tracked.
  auto old = Catalog::FromJson(nlohmann::json::parse(
      R"([{"space_id": 5, "created": 1000, "flags": 21,
           "paths": [{"lsn": 1000, "path": "w/t1.ibd"}], "sizes": [[1000, 179]], "trims": []}])"));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(PagesAt(*old, Lsn(1000)), 179u);
  // A partial write over the unknown field tells nothing.
  const wal::Mtr m = Decode(MtrBuilder().Write(kPage0, kFspSize + 3, Bytes{0xC0}), Lsn(2000));
  old->Apply(m);
  EXPECT_EQ(PagesAt(*old, m.end_lsn), 179u);
}

TEST(CatalogTest, MalformedJsonIsDataLoss) {
  auto bad = Catalog::FromJson(nlohmann::json::parse(R"([{"space_id": 1}])"));
  EXPECT_TRUE(absl::IsDataLoss(bad.status())) << bad.status();
}

}  // namespace
}  // namespace pageserver::storage
