#include "storage/page_filter.h"

#include <gtest/gtest.h>

#include <random>

namespace pageserver::storage {
namespace {

PageId P(uint32_t space, uint32_t page) { return PageId{SpaceId(space), PageNo(page)}; }

TEST(PageFilterTest, EmptyFilterHoldsNothing) {
  PageFilter f;
  EXPECT_FALSE(f.MayContain(P(0, 0)));
  EXPECT_FALSE(PageFilter(100).MayContain(P(5, 7)));
}

TEST(PageFilterTest, EveryAddedPageIsFoundAndFewOthersAre) {
  // Pages as a layer holds them: runs of neighbours in a few spaces.
  std::mt19937 rng(42);
  std::vector<PageId> added;
  for (uint32_t space = 1; space <= 8; ++space) {
    for (uint32_t page = 0; page < 20000; page += 1 + rng() % 4) added.push_back(P(space, page));
  }
  PageFilter f(added.size());
  for (PageId id : added) f.Add(id);
  for (PageId id : added) ASSERT_TRUE(f.MayContain(id)) << ToString(id);
  // Pages never added: other spaces, and pages past the end of these.
  int positives = 0, asked = 0;
  for (uint32_t space = 100; space < 108; ++space) {
    for (uint32_t page = 0; page < 20000; ++page, ++asked)
      positives += f.MayContain(P(space, page));
  }
  for (uint32_t page = 20000; page < 60000; ++page, ++asked) positives += f.MayContain(P(1, page));
  const double rate = static_cast<double>(positives) / asked;
  EXPECT_LT(rate, 0.02) << positives << " of " << asked;
  EXPECT_LE(f.bytes(), added.size() * 10 / 8 + 8);
}

TEST(PageFilterTest, AddToADefaultFilterWorks) {
  PageFilter f;
  f.Add(P(3, 9));
  EXPECT_TRUE(f.MayContain(P(3, 9)));
}

}  // namespace
}  // namespace pageserver::storage
