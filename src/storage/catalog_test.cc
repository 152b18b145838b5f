#include "storage/catalog.h"

#include <gtest/gtest.h>

#include <random>
#include <tuple>

#include "common/byte_order.h"
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

// What a question at `lsn` sees of every space id the history used, as comparable values.
std::vector<std::tuple<uint32_t, std::string, std::optional<uint32_t>, uint32_t, uint64_t, uint64_t,
                       bool>>
Answers(const Catalog& c, Lsn lsn, uint32_t space_ids) {
  std::vector<std::tuple<uint32_t, std::string, std::optional<uint32_t>, uint32_t, uint64_t,
                         uint64_t, bool>>
      out;
  for (uint32_t id = 0; id < space_ids; ++id) {
    if (auto t = c.Find(SpaceId(id), lsn)) {
      out.emplace_back(id, t->path, t->flags, t->pages, t->named.value(), t->floor.value(),
                       t->trimmed);
    } else {
      out.emplace_back(id, "(none)", std::nullopt, 0, 0, 0, false);
    }
  }
  for (const TablespaceAt& t : c.ListFiles(lsn)) out.emplace_back(t.space.value(), t.path, t.flags, 0, 0, 0, false);
  return out;
}

TEST(CatalogTest, ForgettingBeforeACutoffChangesNoAnswerAtOrAboveIt) {
  constexpr uint32_t kSpaces = 6;
  std::mt19937 rng(7);
  Catalog c;
  c.AddBase(Lsn(1000), {{SpaceId(1), "db/a.ibd", 0x15, 4}, {SpaceId(2), "undo002", 0x15, 64}},
            {{1, 4}});
  // Creations, renames, deletions (and re-creations of a space id), trims, growth and page-0
  // writes over FSP_SIZE, at random.
  std::vector<Lsn> lsns;
  Lsn lsn(2000);
  for (int i = 0; i < 600; ++i) {
    MtrBuilder b;
    const SpaceId space(1 + rng() % (kSpaces - 1));  // not 0: no file records for ibdata1
    const std::string name = "db/t" + std::to_string(rng() % 4) + ".ibd";
    switch (rng() % 8) {
      case 0:
        b.FileOp(wal::testing::kFileCreate, space, wal::testing::StrBytes(name));
        break;
      case 1:
        b.FileRename(space, "db/old.ibd", name);
        break;
      case 2:
        b.FileOp(wal::testing::kFileDelete, space, wal::testing::StrBytes(name));
        break;
      case 3:
        b.Extended(PageId{space, PageNo(rng() % 50)}, 10 /* TRIM_PAGES */);
        break;
      case 4: {
        uint8_t size[4];
        WriteBe32(size, rng() % 300);
        b.Write(PageId{space, PageNo(0)}, kFspSize, size);
        break;
      }
      default:
        b.Write(PageId{space, PageNo(rng() % 400)}, 100, Bytes{1});
    }
    const wal::Mtr m = Decode(b, lsn);
    c.Apply(m);
    lsns.push_back(m.end_lsn);
    lsn = m.end_lsn + (1 + rng() % 20);
  }
  for (size_t cut : {size_t{0}, size_t{150}, size_t{300}, size_t{599}}) {
    const Lsn cutoff = lsns[cut];
    Catalog forgot = c;
    forgot.ForgetBefore(cutoff);
    auto back = Catalog::FromJson(forgot.ToJson(lsns.back()));
    ASSERT_TRUE(back.ok()) << back.status();
    for (size_t i = cut; i < lsns.size(); ++i) {
      for (Lsn at : {lsns[i], Lsn(lsns[i].value() + 1)}) {
        ASSERT_EQ(Answers(forgot, at, kSpaces), Answers(c, at, kSpaces)) << "at LSN " << at;
        ASSERT_EQ(Answers(*back, at, kSpaces), Answers(c, at, kSpaces)) << "at LSN " << at;
      }
    }
    if (cut > 0) {
      EXPECT_LT(forgot.ToJson(lsns.back()).dump().size(), c.ToJson(lsns.back()).dump().size())
          << "nothing was forgotten below LSN " << cutoff;
    }
  }
}

TEST(CatalogTest, MalformedJsonIsDataLoss) {
  auto bad = Catalog::FromJson(nlohmann::json::parse(R"([{"space_id": 1}])"));
  EXPECT_TRUE(absl::IsDataLoss(bad.status())) << bad.status();
}

}  // namespace
}  // namespace pageserver::storage
