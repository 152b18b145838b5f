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

TEST(CatalogTest, MalformedJsonIsDataLoss) {
  auto bad = Catalog::FromJson(nlohmann::json::parse(R"([{"space_id": 1}])"));
  EXPECT_TRUE(absl::IsDataLoss(bad.status())) << bad.status();
}

}  // namespace
}  // namespace pageserver::storage
