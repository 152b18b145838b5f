#include "storage/delta_layer.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/testing/status_testing.h"
#include "common/testing/temp_dir.h"

namespace pageserver::storage {
namespace {

using testing::MessageHas;

PageId P(uint32_t space, uint32_t page) { return PageId{SpaceId(space), PageNo(page)}; }
std::vector<uint8_t> Snippet(uint32_t seed, size_t n) {
  std::vector<uint8_t> s(n);
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<uint8_t>(seed * 31 + i);
  return s;
}

class DeltaLayerTest : public ::testing::Test {
 protected:
  // 300 pages (so the index spans several 128-entry blocks) with 1..3 entries each; every
  // page's entry at LSN 120 (if any) is a will_init one.
  std::string WriteSample() {
    const std::string path = (dir_.path() / "d.layer").string();
    auto w = DeltaLayerWriter::Create(path, Lsn(100), Lsn(200));
    EXPECT_TRUE(w.ok());
    for (uint32_t p = 0; p < 300; ++p) {
      for (uint32_t k = 0; k <= p % 3; ++k) {
        const Lsn lsn(110 + 10 * k);
        EXPECT_TRUE((*w)->Add(P(1, p), lsn, k == 1, Snippet(p + k, 20 + k)).ok());
      }
    }
    EXPECT_TRUE((*w)->Finish().ok());
    return path;
  }
  testing::TempDir dir_{"delta_layer_test"};
};

TEST_F(DeltaLayerTest, CollectsNewestFirstAndStopsAtWillInit) {
  auto layer = DeltaLayer::Open(WriteSample());
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_EQ((*layer)->entry_count(), 600u);
  for (uint32_t p : {0u, 1u, 2u, 128u, 129u, 255u, 299u}) {
    std::vector<DeltaEntry> out;
    auto stopped = (*layer)->CollectNewestFirst(P(1, p), Lsn(200), Lsn(0), &out);
    ASSERT_TRUE(stopped.ok()) << stopped.status();
    const uint32_t n = p % 3 + 1;
    EXPECT_EQ(*stopped, n >= 2) << p;
    // Entries 110 (k=0), 120 (k=1, will_init), 130 (k=2): collection stops at 120.
    ASSERT_EQ(out.size(), n >= 2 ? n - 1 : 1) << p;
    EXPECT_EQ(out.front().lsn, Lsn(110 + 10 * (n - 1)));
    EXPECT_EQ(out.front().snippet, Snippet(p + n - 1, 20 + n - 1));
    EXPECT_EQ(*(*layer)->CountEntries(P(1, p)), n);
  }
}

TEST_F(DeltaLayerTest, LsnBoundsAndFloorAreHonoured) {
  auto layer = DeltaLayer::Open(WriteSample());
  ASSERT_TRUE(layer.ok());
  std::vector<DeltaEntry> out;
  ASSERT_TRUE((*layer)->CollectNewestFirst(P(1, 2), Lsn(115), Lsn(0), &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].lsn, Lsn(110));
  out.clear();
  ASSERT_TRUE((*layer)->CollectNewestFirst(P(1, 2), Lsn(200), Lsn(125), &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].lsn, Lsn(130));
  out.clear();
  ASSERT_TRUE((*layer)->CollectNewestFirst(P(2, 0), Lsn(200), Lsn(0), &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST_F(DeltaLayerTest, OutOfOrderAndOutOfRangeEntriesAreRefused) {
  auto w = DeltaLayerWriter::Create((dir_.path() / "x.layer").string(), Lsn(100), Lsn(200));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Add(P(1, 5), Lsn(150), false, Snippet(1, 4)).ok());
  EXPECT_TRUE(MessageHas((*w)->Add(P(1, 4), Lsn(160), false, Snippet(1, 4)), "order"));
  EXPECT_TRUE(MessageHas((*w)->Add(P(1, 5), Lsn(150), false, Snippet(1, 4)), "order"));
  EXPECT_TRUE(MessageHas((*w)->Add(P(1, 6), Lsn(100), false, Snippet(1, 4)), "outside"));
  EXPECT_TRUE(MessageHas((*w)->Add(P(1, 6), Lsn(201), false, Snippet(1, 4)), "outside"));
}

// Flips one byte at `offset` (from the end when negative) and expects Open or a read to fail.
class DeltaLayerDamageTest : public DeltaLayerTest {
 protected:
  // Where the sample's compressed values end and its index begins (summary bytes 40..47).
  int64_t SampleIndexOffset() {
    std::ifstream f(WriteSample(), std::ios::binary);
    f.seekg(40);
    uint8_t b[8] = {};
    f.read(reinterpret_cast<char*>(b), 8);
    int64_t v = 0;
    for (uint8_t x : b) v = v << 8 | x;
    return v;
  }
  absl::Status ReadAllAfterFlip(int64_t offset) {
    const std::string path = WriteSample();
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const int64_t size = f.tellg();
    const int64_t at = offset < 0 ? size + offset : offset;
    f.seekg(at);
    char c;
    f.get(c);
    f.seekp(at);
    f.put(static_cast<char>(c ^ 0x40));
    f.close();
    auto layer = DeltaLayer::Open(path);
    if (!layer.ok()) return layer.status();
    for (uint32_t p = 0; p < 300; ++p) {
      std::vector<DeltaEntry> out;
      auto s = (*layer)->CollectNewestFirst(P(1, p), Lsn(200), Lsn(0), &out);
      if (!s.ok()) return s.status();
      // What does read must be what was written (a flip zstd never looks at changes nothing).
      const uint32_t newest = p % 3, oldest = newest >= 1 ? 1 : 0;  // LSN 120 is will_init
      EXPECT_EQ(out.size(), newest - oldest + 1) << ToString(P(1, p));
      for (size_t i = 0; i < out.size(); ++i) {
        EXPECT_EQ(out[i].snippet, Snippet(p + newest - i, 20 + newest - i)) << ToString(P(1, p));
      }
    }
    return absl::OkStatus();
  }
};

TEST_F(DeltaLayerDamageTest, SummaryDamage) {
  const absl::Status s = ReadAllAfterFlip(20);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(MessageHas(s, "summary checksum"));
}

TEST_F(DeltaLayerDamageTest, SnippetDamage) {
  // Every byte of the compressed values: the frame no longer decompresses, or its snippets no
  // longer match their checksums, or (a bit zstd never reads) everything reads back as written.
  const int64_t values_end = SampleIndexOffset();
  int64_t refused = 0;
  for (int64_t at = 4096; at < values_end; ++at) {
    const absl::Status s = ReadAllAfterFlip(at);
    if (s.ok()) continue;
    ++refused;
    EXPECT_TRUE(absl::IsDataLoss(s)) << at << ": " << s;
    EXPECT_TRUE(MessageHas(s, "fail their checksum") || MessageHas(s, "frame at")) << s;
    EXPECT_TRUE(MessageHas(s, "d.layer")) << s;
  }
  EXPECT_GT(refused, (values_end - 4096) / 2);
}

TEST_F(DeltaLayerDamageTest, IndexBlockDamage) {
  const absl::Status s = ReadAllAfterFlip(SampleIndexOffset() + 40);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(MessageHas(s, "index block"));
}

TEST_F(DeltaLayerDamageTest, BlockIndexDamage) {
  const absl::Status s = ReadAllAfterFlip(-3);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(MessageHas(s, "block index checksum"));
}

TEST_F(DeltaLayerTest, TruncatedFileIsRefused) {
  const std::string path = WriteSample();
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 1);
  auto layer = DeltaLayer::Open(path);
  EXPECT_TRUE(absl::IsDataLoss(layer.status())) << layer.status();
}

TEST_F(DeltaLayerTest, Level1LayerKeepsItsKeyRangeAndRefusesPagesOutsideIt) {
  const std::string path = (dir_.path() / "l1.layer").string();
  const uint64_t start = KeyRange::KeyOf(P(1, 100));
  const uint64_t end = KeyRange::KeyOf(P(1, 200));
  {
    auto w = DeltaLayerWriter::CreateLevel1(path, Lsn(100), Lsn(200), start);
    ASSERT_TRUE(w.ok()) << w.status();
    const absl::Status below = (*w)->Add(P(1, 99), Lsn(150), false, Snippet(1, 10));
    EXPECT_TRUE(absl::IsInvalidArgument(below)) << below;
    ASSERT_TRUE((*w)->Add(P(1, 100), Lsn(150), false, Snippet(1, 10)).ok());
    ASSERT_TRUE((*w)->Add(P(1, 150), Lsn(160), true, Snippet(2, 10)).ok());
    const absl::Status short_range = (*w)->Finish(KeyRange::KeyOf(P(1, 150)));
    EXPECT_TRUE(absl::IsInvalidArgument(short_range)) << short_range;
    ASSERT_TRUE((*w)->Finish(end).ok());
  }
  auto layer = DeltaLayer::Open(path);
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_EQ((*layer)->level(), 1u);
  EXPECT_EQ((*layer)->key_range().start, start);
  EXPECT_EQ((*layer)->key_range().end, end);
  EXPECT_TRUE((*layer)->key_range().Contains(P(1, 199)));
  EXPECT_FALSE((*layer)->key_range().Contains(P(1, 200)));
  std::vector<DeltaEntry> out;
  ASSERT_TRUE((*layer)->CollectNewestFirst(P(1, 150), Lsn(200), Lsn(0), &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].snippet, Snippet(2, 10));

  // A level-0 layer covers every key.
  auto level0 = DeltaLayer::Open(WriteSample());
  ASSERT_TRUE(level0.ok()) << level0.status();
  EXPECT_EQ((*level0)->level(), 0u);
  EXPECT_TRUE((*level0)->key_range().Contains(P(0xFFFFFFF0u, 0xFFFFFFFFu)));
}

TEST_F(DeltaLayerTest, CursorReadsEveryEntryInOrderWithItsSnippet) {
  auto layer = DeltaLayer::Open(WriteSample());
  ASSERT_TRUE(layer.ok()) << layer.status();
  DeltaLayer::Cursor cursor(**layer);
  size_t n = 0;
  for (uint32_t p = 0; p < 300; ++p) {
    for (uint32_t k = 0; k <= p % 3; ++k) {
      auto more = cursor.Next();
      ASSERT_TRUE(more.ok()) << more.status();
      ASSERT_TRUE(*more);
      EXPECT_EQ(cursor.id(), P(1, p));
      EXPECT_EQ(cursor.lsn(), Lsn(110 + 10 * k));
      EXPECT_EQ(cursor.will_init(), k == 1);
      const std::vector<uint8_t> expected = Snippet(p + k, 20 + k);
      ASSERT_TRUE(std::equal(cursor.snippet().begin(), cursor.snippet().end(), expected.begin(),
                             expected.end()));
      ++n;
    }
  }
  auto end = cursor.Next();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_FALSE(*end);
  EXPECT_EQ(n, (*layer)->entry_count());
}

TEST_F(DeltaLayerTest, ValuesAcrossManyCompressedFramesReadBackAndTakeLessRoom) {
  // 4000 pages x 3 snippets of 100-300 bytes: about 2 MiB of values, dozens of 32 KiB frames,
  // a page's snippets often split between two of them.
  const std::string path = (dir_.path() / "big.layer").string();
  uint64_t raw = 0;
  {
    auto w = DeltaLayerWriter::Create(path, Lsn(100), Lsn(200));
    ASSERT_TRUE(w.ok());
    for (uint32_t p = 0; p < 4000; ++p) {
      for (uint32_t k = 0; k < 3; ++k) {
        const std::vector<uint8_t> snippet = Snippet(p * 3 + k, 100 + (p * 7 + k) % 200);
        raw += snippet.size() + 32;
        ASSERT_TRUE((*w)->Add(P(2, p), Lsn(110 + k), false, snippet).ok());
      }
    }
    ASSERT_TRUE((*w)->Finish().ok());
  }
  auto layer = DeltaLayer::Open(path);
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_LT((*layer)->file_bytes(), raw / 2) << "raw " << raw;
  for (uint32_t p = 0; p < 4000; p += 37) {
    std::vector<DeltaEntry> out;
    ASSERT_TRUE((*layer)->CollectNewestFirst(P(2, p), Lsn(200), Lsn(0), &out).ok());
    ASSERT_EQ(out.size(), 3u);
    for (uint32_t k = 0; k < 3; ++k) {
      EXPECT_EQ(out[2 - k].snippet, Snippet(p * 3 + k, 100 + (p * 7 + k) % 200));
    }
  }
  DeltaLayer::Cursor cursor(**layer);
  for (uint32_t n = 0; n < 12000; ++n) {
    auto more = cursor.Next();
    ASSERT_TRUE(more.ok() && *more) << n;
    const std::vector<uint8_t> expected = Snippet(n, 100 + ((n / 3) * 7 + n % 3) % 200);
    ASSERT_TRUE(std::equal(cursor.snippet().begin(), cursor.snippet().end(), expected.begin(),
                           expected.end()))
        << n;
  }
  auto end = cursor.Next();
  ASSERT_TRUE(end.ok() && !*end);
}

TEST_F(DeltaLayerDamageTest, CursorReportsADamagedSnippet) {
  const int64_t at = (4096 + SampleIndexOffset()) / 2;  // inside the compressed values
  const std::string path = WriteSample();
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(at);
    char c;
    f.read(&c, 1);
    c ^= 0x10;
    f.seekp(at);
    f.write(&c, 1);
  }
  auto layer = DeltaLayer::Open(path);
  ASSERT_TRUE(layer.ok()) << layer.status();
  DeltaLayer::Cursor cursor(**layer);
  absl::StatusOr<bool> more = true;
  while (more.ok() && *more) more = cursor.Next();
  EXPECT_TRUE(absl::IsDataLoss(more.status())) << more.status();
  EXPECT_TRUE(MessageHas(more.status(), "fails its checksum") ||
              MessageHas(more.status(), "frame at"))
      << more.status();
}

}  // namespace
}  // namespace pageserver::storage
