// The timeline tests' model (timeline_test.cc, remote_timeline_test.cc): a base of kPages pages
// of one tablespace, a seeded random redo stream of WRITEs and INIT_PAGEs over it, and every page
// at any LSN rebuilt directly from the base and the records up to that LSN, to compare a
// timeline's pages with; plus a fixture that opens timelines in a temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <set>
#include <vector>

#include "common/byte_order.h"
#include "common/testing/temp_dir.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "storage/page_reconstruct.h"
#include "storage/page_snippet.h"
#include "storage/timeline.h"
#include "wal/mtr_decoder.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::storage {

using wal::testing::Bytes;
using wal::testing::MtrBuilder;

inline constexpr Lsn kBase(1'000'000);
inline constexpr SpaceId kSpace(5);
inline constexpr uint32_t kPages = 12;
inline constexpr uint32_t kFlags = 0x15;  // full_crc32, 16 KiB
inline constexpr size_t kPs = 16384;
inline const absl::Time kSoon = absl::InfinitePast();  // do not wait

inline Bytes BasePage(uint32_t page) {
  Bytes p(kPs, 0);
  WriteBe32(&p[redo::kFilPageOffset], page);
  WriteBe32(&p[redo::kFilPageSpaceId], kSpace.value());
  if (page == 0) WriteBe32(&p[redo::kFspSpaceFlags], kFlags);
  for (size_t i = 100; i < 200; ++i) p[i] = static_cast<uint8_t>(page * 7 + i);
  redo::PrepareForWrite(p, PageId{kSpace, PageNo(page)}, true);
  return p;
}

// A redo stream of `count` mini-transactions of WRITEs (and now and then an INIT_PAGE) to the
// pages of kSpace, starting at kBase; plus the decoded mini-transactions, for the model.
struct Stream {
  Bytes bytes;
  std::vector<wal::Mtr> mtrs;
};

// With `frees`, now and then a page is freed (FREE_PAGE), and initialised again before its next
// change, as InnoDB does.
// The stream of whole mini-transactions `bytes` make from kBase on.
// (From `start`, for a branch's redo.)
inline Stream DecodeStream(Bytes bytes, Lsn start = kBase) {
  Stream s;
  s.bytes = std::move(bytes);
  wal::MtrDecoder decoder(start, {});
  decoder.Feed(s.bytes);
  wal::Mtr mtr;
  while (*decoder.Next(&mtr)) s.mtrs.push_back(mtr);
  EXPECT_EQ(decoder.next_lsn(), start + s.bytes.size());
  return s;
}

inline Stream MakeStream(int count, uint32_t seed, bool frees = false) {
  std::mt19937 rng(seed);
  Stream s;
  std::set<uint32_t> freed;
  for (int i = 0; i < count; ++i) {
    MtrBuilder b;
    const int records = 1 + static_cast<int>(rng() % 4);
    for (int r = 0; r < records; ++r) {
      const PageId id{kSpace, PageNo(1 + rng() % (kPages - 1))};
      if (frees && freed.erase(id.page.value()) > 0) {
        b.InitPage(id);
      } else if (frees && rng() % 60 == 0) {
        b.FreePage(id);
        freed.insert(id.page.value());
        break;  // nothing more to this page in the same mini-transaction
      } else if (rng() % 25 == 0) {
        b.InitPage(id);
      } else {
        b.Write(id, 200 + rng() % 1000, Bytes(1 + rng() % 40, static_cast<uint8_t>(rng())));
      }
    }
    const Bytes mtr = b.Build(1);
    s.bytes.insert(s.bytes.end(), mtr.begin(), mtr.end());
  }
  return DecodeStream(std::move(s.bytes));
}

// The model: `frame` + every snippet of `s` up to `lsn`, in order.
inline Bytes ModelPageOn(Bytes frame, const Stream& s, PageId id, Lsn lsn) {
  std::vector<std::vector<uint8_t>> snippets;
  for (const wal::Mtr& mtr : s.mtrs) {
    if (mtr.end_lsn > lsn) break;
    for (const wal::Record& rec : mtr.records) {
      if (rec.page == id) {
        snippets.push_back(EncodeSnippet(mtr, id));
        break;
      }
    }
  }
  ReconstructResult result;
  EXPECT_TRUE(ReconstructPage(id, frame, snippets, &result).ok());
  if (result.applied > 0) redo::PrepareForWrite(frame, id, true);
  return frame;
}

// The model: base image + every snippet up to `lsn`, in order.
inline Bytes ModelPage(const Stream& s, PageId id, Lsn lsn) {
  return ModelPageOn(BasePage(id.page.value()), s, id, lsn);
}

// Imports the model's base (kPages pages of kSpace at kBase) into an empty timeline.
inline void ImportModelBase(Timeline& t) {
  auto session = t.BeginImport(kBase, kPs, {{kSpace, "./db/t.ibd", kFlags, kPages}});
  ASSERT_TRUE(session.ok()) << session.status();
  for (uint32_t p = 0; p < kPages; ++p) {
    ASSERT_TRUE((*session)->AddPage(PageId{kSpace, PageNo(p)}, BasePage(p)).ok());
  }
  ASSERT_TRUE((*session)->Finish().ok());
}

// Sends `bytes`, which start at `from`, in chunks of up to `chunk` bytes.
inline void IngestFrom(Timeline& t, Lsn from, std::span<const uint8_t> bytes, size_t chunk = 900) {
  for (size_t at = 0; at < bytes.size(); at += chunk) {
    auto r = t.IngestWal(from + at, bytes.subspan(at, std::min(chunk, bytes.size() - at)));
    ASSERT_TRUE(r.ok()) << r.status();
  }
}

class TimelineTest : public ::testing::Test {
 protected:
  std::unique_ptr<Timeline> Open() {
    auto t = Timeline::Open(dir_.path().string(), options_);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? std::move(*t) : nullptr;
  }
  std::unique_ptr<Timeline> OpenWithBase() { return OpenWithBase(dir_.path().string(), options_); }
  // Another timeline, in `dir`, with the same base.
  static std::unique_ptr<Timeline> OpenWithBase(const std::string& dir,
                                                const TimelineOptions& options) {
    auto t = Timeline::Open(dir, options);
    EXPECT_TRUE(t.ok()) << t.status();
    if (!t.ok()) return nullptr;
    ImportModelBase(**t);
    return std::move(*t);
  }
  // Sends the stream in seeded random chunks of 1..max_chunk bytes.
  void IngestChunked(Timeline& t, const Bytes& bytes, uint32_t seed, size_t max_chunk) {
    std::mt19937 rng(seed);
    size_t at = 0;
    while (at < bytes.size()) {
      const size_t n = std::min<size_t>(bytes.size() - at, 1 + rng() % max_chunk);
      auto r = t.IngestWal(kBase + at, std::span<const uint8_t>(bytes).subspan(at, n));
      ASSERT_TRUE(r.ok()) << r.status();
      at += n;
    }
  }
  // Every page at every `stride`-th mini-transaction's end and at the last one.
  // Every page at every `stride`-th mini-transaction's end from `from` on, and at the last one.
  void ExpectMatchesModel(Timeline& t, const Stream& s, size_t stride, Lsn from = Lsn(0)) {
    for (size_t i = 0; i < s.mtrs.size(); i += (i + 1 == s.mtrs.size() ? 1 : stride)) {
      const Lsn lsn = s.mtrs[std::min(i, s.mtrs.size() - 1)].end_lsn;
      if (lsn >= from) ExpectMatchesModelAt(t, s, lsn);
      if (i + 1 == s.mtrs.size()) break;
    }
  }
  void ExpectMatchesModelAt(Timeline& t, const Stream& s, Lsn lsn) {
    for (uint32_t p = 0; p < kPages; ++p) {
      const PageId id{kSpace, PageNo(p)};
      auto page = t.GetPage(id, lsn, kSoon);
      ASSERT_TRUE(page.ok()) << page.status();
      ASSERT_EQ(page->image, ModelPage(s, id, lsn)) << ToString(id) << " at LSN " << lsn;
    }
  }

  testing::TempDir dir_{"timeline_test"};
  TimelineOptions options_{.in_memory_layer_bytes = 8 << 10,
                           .wal_segment_bytes = 16 << 10,
                           .image_chain_threshold = 6,
                           .sync = false};
};

}  // namespace pageserver::storage
