// ImageLayer: round trip, lookups of absent pages, the crash rule (nothing under the final name
// before Finish), and each kind of damage refused with DataLoss naming the file or the page.
#include "storage/image_layer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;
constexpr uint32_t kPs = 16384;

PageId P(uint32_t space, uint32_t page) { return PageId{SpaceId(space), PageNo(page)}; }

std::vector<uint8_t> Image(PageId id) {
  std::vector<uint8_t> page(kPs);
  for (size_t i = 0; i < kPs; ++i)
    page[i] = static_cast<uint8_t>(id.space.value() * 31 + id.page.value() + i);
  return page;
}

class ImageLayerTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = (dir_ / "layer.img").string(); }

  const std::vector<PageId> kPages = {P(0, 0), P(0, 5), P(0, 6), P(3, 1), P(7, 0), P(7, 900)};
  void WriteLayer() {
    auto w = ImageLayerWriter::Create(path_, Lsn(4242));
    ASSERT_TRUE(w.ok()) << w.status();
    for (const PageId& id : kPages) ASSERT_TRUE((*w)->Add(id, Image(id)).ok());
    ASSERT_TRUE((*w)->Finish().ok());
  }
  void Corrupt(uint64_t offset) {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ 0x01));
  }
  // The layout, read from the file as docs/image_layer_format.md gives it.
  uint64_t Be64At(uint64_t offset) {
    std::ifstream f(path_, std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    uint8_t b[8] = {};
    f.read(reinterpret_cast<char*>(b), 8);
    uint64_t v = 0;
    for (uint8_t x : b) v = v << 8 | x;
    return v;
  }
  uint64_t IndexOffset() { return Be64At(32); }
  uint64_t ImageOffset(size_t i) { return Be64At(IndexOffset() + 24 * i + 8) & ~(1ull << 63); }

  pageserver::testing::TempDir temp_{"image_layer_test"};
  const fs::path dir_ = temp_.path();
  std::string path_;
};

TEST_F(ImageLayerTest, EveryPageReadsBack) {
  WriteLayer();
  auto layer = ImageLayer::Open(path_);
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_EQ((*layer)->lsn(), Lsn(4242));
  EXPECT_EQ((*layer)->page_count(), kPages.size());
  for (const PageId& id : kPages) {
    auto page = (*layer)->Get(id);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_TRUE(page->has_value()) << ToString(id);
    EXPECT_EQ(**page, Image(id));
  }
}

TEST_F(ImageLayerTest, AbsentPagesAreNotFound) {
  WriteLayer();
  auto layer = ImageLayer::Open(path_);
  ASSERT_TRUE(layer.ok());
  for (const PageId& id : {P(0, 1), P(0, 7), P(3, 0), P(7, 1), P(9, 0), P(7, 901)}) {
    auto page = (*layer)->Get(id);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_FALSE(page->has_value()) << ToString(id);
  }
}

TEST_F(ImageLayerTest, NothingUnderTheFinalNameBeforeFinish) {
  auto w = ImageLayerWriter::Create(path_, Lsn(1));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Add(P(1, 1), Image(P(1, 1))).ok());
  EXPECT_FALSE(fs::exists(path_));
  w->reset();  // abandoned, as by a crash: the temporary file goes, nothing else appears
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
}

TEST_F(ImageLayerTest, PagesOutOfOrderAreRefused) {
  auto w = ImageLayerWriter::Create(path_, Lsn(1));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Add(P(2, 5), Image(P(2, 5))).ok());
  EXPECT_TRUE(absl::IsInvalidArgument((*w)->Add(P(2, 5), Image(P(2, 5)))));
  EXPECT_TRUE(absl::IsInvalidArgument((*w)->Add(P(1, 9), Image(P(1, 9)))));
  EXPECT_TRUE(absl::IsInvalidArgument((*w)->Add(P(3, 0), std::vector<uint8_t>(100))));
}

TEST_F(ImageLayerTest, DamagedPageFailsItsChecksum) {
  WriteLayer();
  Corrupt((ImageOffset(2) + ImageOffset(3)) / 2);  // inside the third image, P(0, 6)
  auto layer = ImageLayer::Open(path_);
  ASSERT_TRUE(layer.ok());
  auto page = (*layer)->Get(P(0, 6));
  ASSERT_FALSE(page.ok());
  EXPECT_TRUE(absl::IsDataLoss(page.status())) << page.status();
  EXPECT_TRUE(testing::MessageHas(page.status(), "space 0 page 6")) << page.status();
  EXPECT_TRUE((*layer)->Get(P(0, 5)).ok());  // the others still read
}

TEST_F(ImageLayerTest, ImagesAreCompressedAndWhatDoesNotShrinkIsStoredAsItIs) {
  std::vector<uint8_t> noise(kPs);
  uint32_t x = 1;
  for (uint8_t& b : noise) b = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16);
  auto w = ImageLayerWriter::Create(path_, Lsn(9));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Add(P(1, 1), Image(P(1, 1))).ok());
  ASSERT_TRUE((*w)->Add(P(1, 2), noise).ok());
  ASSERT_TRUE((*w)->Add(P(1, 3), Image(P(1, 3))).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_LT(ImageOffset(1) - ImageOffset(0), kPs / 4);  // a repeating pattern shrinks
  EXPECT_EQ(ImageOffset(2) - ImageOffset(1), kPs);      // noise does not: stored raw
  auto layer = ImageLayer::Open(path_);
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_LT((*layer)->file_bytes(), kPs + kPs / 2);
  EXPECT_EQ(**(*layer)->Get(P(1, 1)), Image(P(1, 1)));
  EXPECT_EQ(**(*layer)->Get(P(1, 2)), noise);
  EXPECT_EQ(**(*layer)->Get(P(1, 3)), Image(P(1, 3)));
}

TEST_F(ImageLayerTest, DamagedSummaryIsRefused) {
  WriteLayer();
  Corrupt(20);
  auto layer = ImageLayer::Open(path_);
  ASSERT_FALSE(layer.ok());
  EXPECT_TRUE(absl::IsDataLoss(layer.status())) << layer.status();
}

TEST_F(ImageLayerTest, DamagedIndexEntryIsRefused) {
  WriteLayer();
  Corrupt(IndexOffset() + 24 * 2 + 3);  // the middle index entry
  // Open reads the whole index (for its sparse in-memory copy) and checks every entry.
  auto layer = ImageLayer::Open(path_);
  ASSERT_FALSE(layer.ok());
  EXPECT_TRUE(absl::IsDataLoss(layer.status())) << layer.status();
  EXPECT_TRUE(testing::MessageHas(layer.status(), "index entry 2"));
}

TEST_F(ImageLayerTest, TruncatedFileIsRefused) {
  WriteLayer();
  fs::resize_file(path_, fs::file_size(path_) - 1);
  EXPECT_TRUE(absl::IsDataLoss(ImageLayer::Open(path_).status()));
}

TEST_F(ImageLayerTest, OtherFilesAreRefused) {
  std::ofstream(path_) << std::string(8192, 'x');
  EXPECT_TRUE(absl::IsDataLoss(ImageLayer::Open(path_).status()));
}

TEST_F(ImageLayerTest, EmptyLayerHasNoPages) {
  auto w = ImageLayerWriter::Create(path_, Lsn(7));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Finish().ok());
  auto layer = ImageLayer::Open(path_);
  ASSERT_TRUE(layer.ok()) << layer.status();
  auto page = (*layer)->Get(P(0, 0));
  ASSERT_TRUE(page.ok());
  EXPECT_FALSE(page->has_value());
}

}  // namespace
}  // namespace pageserver::storage
