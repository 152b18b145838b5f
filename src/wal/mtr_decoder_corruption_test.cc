// MtrDecoder's two kinds of failure, one named test per case: the end of the valid log
// (OutOfRange: bad first byte, malformed length, no terminator within 1 MiB, terminator from
// another pass, CRC mismatch) and a corrupt record inside a checksummed mini-transaction
// (DataLoss). Every message must name the LSN.
#include <gtest/gtest.h>

#include "common/testing/status_testing.h"
#include "wal/mtr_decoder.h"
#include "wal/testing/mtr_builder.h"
#include "wal/testing/mtr_decode_helpers.h"

namespace pageserver::wal {
namespace {

using namespace testing;  // pageserver::wal::testing: MtrBuilder and the decode helpers

// ---- End of log: OutOfRange ------------------------------------------------------------------

TEST(MtrDecoderEndOfLogTest, CrcMismatch) {
  MtrBuilder b;
  b.Write(P(1, 3), 100, Bytes{1, 2, 3});
  Bytes bytes = b.Build(kGeometry, kStart);
  bytes.back() ^= 0x01;
  ExpectEndOfLog(DecodeOne(bytes), kStart, "checksum mismatch");
}

TEST(MtrDecoderEndOfLogTest, CorruptRecordByteFailsTheCrc) {
  MtrBuilder b;
  b.Write(P(1, 3), 100, Bytes{1, 2, 3});
  Bytes bytes = b.Build(kGeometry, kStart);
  bytes[4] ^= 0x40;  // a data byte: lengths still frame it, the CRC does not match
  ExpectEndOfLog(DecodeOne(bytes), kStart, "checksum");
}

TEST(MtrDecoderEndOfLogTest, TerminatorFromTheWrongPass) {
  MtrBuilder b;
  b.Write(P(1, 3), 100, Bytes{1});
  // First pass: MariaDB writes 1; a 0 is a stale byte from an older (odd) pass.
  ExpectEndOfLog(DecodeOne(b.Build(0)), kStart, "another pass");
  // Second pass: 0 expected, 1 is stale.
  const Lsn second_pass = kGeometry.first_lsn + kGeometry.capacity + 100;
  ExpectEndOfLog(DecodeOne(b.Build(1), second_pass), second_pass, "another pass");
  EXPECT_TRUE(DecodeOne(b.Build(0), second_pass).ok());
}

TEST(MtrDecoderEndOfLogTest, SequenceBitIsTakenAtTheTerminatorNotTheStart) {
  // The mtr starts in pass 0 and its terminator lies in pass 1: the terminator must be 0.
  const LogGeometry g{Lsn(12288), 1000};
  MtrBuilder b;
  b.Write(P(1, 3), 100, Bytes(10, 0x33));
  const Lsn start = g.first_lsn + 995;
  ASSERT_EQ(g.Pass(start), 0u);
  ASSERT_EQ(g.Pass(start + b.body().size()), 1u);
  EXPECT_TRUE(DecodeOne(b.Build(0), start, WithGeometry(g)).ok());
  ExpectEndOfLog(DecodeOne(b.Build(1), start, WithGeometry(g)), start, "another pass");
}

TEST(MtrDecoderEndOfLogTest, WithoutGeometryEitherTerminatorIsAccepted) {
  MtrBuilder b;
  b.Write(P(1, 3), 100, Bytes{1});
  const MtrDecoderOptions no_geometry;
  EXPECT_TRUE(DecodeOne(b.Build(0), kStart, no_geometry).ok());
  EXPECT_TRUE(DecodeOne(b.Build(1), kStart, no_geometry).ok());
}

TEST(MtrDecoderEndOfLogTest, FirstByteZero) {
  ExpectEndOfLog(DecodeOne(Bytes{0x00, 0x34, 0x00, 0x07, 0x35, 0x12}), kStart, "byte 0x00");
}

TEST(MtrDecoderEndOfLogTest, FirstByteOne) {
  ExpectEndOfLog(DecodeOne(Bytes{0x01, 0x00, 0x00, 0x00, 0x00}), kStart, "byte 0x01");
}

TEST(MtrDecoderEndOfLogTest, LengthVarintWiderThanThreeBytes) {
  ExpectEndOfLog(DecodeOne(Bytes{0x30, 0xE0, 0x00, 0x00, 0x00, 0x00, 0x00}), kStart,
                 "malformed record length");
}

TEST(MtrDecoderEndOfLogTest, LengthVarintInvalidFirstByte) {
  ExpectEndOfLog(DecodeOne(Bytes{0x30, 0xF8, 0x00, 0x00, 0x00, 0x00, 0x00}), kStart,
                 "malformed record length");
}

TEST(MtrDecoderEndOfLogTest, LengthVarintOfOneMiB) {
  // 3-byte varint 0xD0 00 00 = 16512 + 0x100000 >= 1 MiB.
  ExpectEndOfLog(DecodeOne(Bytes{0x30, 0xD0, 0x00, 0x00, 0x00}), kStart, "malformed record length");
}

TEST(MtrDecoderEndOfLogTest, MalformedLengthInALaterRecordNamesItsLsn) {
  Bytes bytes = MtrBuilder().Write(P(1, 3), 100, Bytes{1}).body();  // 5 bytes
  bytes.insert(bytes.end(), {0x30, 0xE0, 0, 0, 0});
  ExpectEndOfLog(DecodeOne(bytes), kStart + 5, "malformed record length");
}

// Records of `total` body bytes: WRITEs of up to 16000 bytes, all to valid pages.
MtrBuilder BodyOfSize(size_t total) {
  MtrBuilder b;
  uint32_t page = 3;
  while (b.body().size() < total) {
    const size_t left = total - b.body().size();
    // A WRITE with d data bytes (long form, 2-byte varint) takes 1 + 2 + 3 (id, offset) + d.
    const size_t d = left >= 16000 + 6 + 100 ? 16000 : left - 6;
    b.Write(P(1, page++), 8, Bytes(d, 0x77), LengthForm::kLong);
  }
  return b;
}

TEST(MtrDecoderEndOfLogTest, MtrOfOneMiBIsRefused) {
  const MtrBuilder b = BodyOfSize(kMtrSizeMax);
  ASSERT_EQ(b.body().size(), kMtrSizeMax);
  ExpectEndOfLog(DecodeBuilt(b), kStart, "1 MiB");
}

TEST(MtrDecoderEndOfLogTest, MtrJustBelowOneMiBIsAccepted) {
  const MtrBuilder b = BodyOfSize(kMtrSizeMax - 1);
  ASSERT_EQ(b.body().size(), kMtrSizeMax - 1);
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  EXPECT_EQ(mtr->end_lsn, kStart + (kMtrSizeMax - 1 + 5));
}

TEST(MtrDecoderEndOfLogTest, NoTerminatorWithinOneMiBOfUnfedBytes) {
  // The length fields alone walk past 1 MiB before the bytes even arrive.
  // One record whose length varint is 1 MiB - 10 (16512 + 0x0FBF76): 1 + 1 MiB + 5 bytes.
  Bytes bytes = {0x30, 0xCF, 0xBF, 0x76};
  ExpectEndOfLog(DecodeOne(bytes), kStart, "1 MiB");
}

TEST(MtrDecoderEndOfLogTest, DecoderStaysAtTheEndOfLog) {
  MtrBuilder good;
  good.Write(P(1, 3), 100, Bytes{1});
  Bytes bytes = good.Build(kGeometry, kStart);
  const Lsn second = kStart + bytes.size();
  Bytes bad = good.Build(kGeometry, second);
  bad[bad.size() - 1] ^= 0xFF;
  bytes.insert(bytes.end(), bad.begin(), bad.end());
  MtrDecoder decoder(kStart, WithGeometry());
  decoder.Feed(bytes);
  Mtr mtr;
  ASSERT_TRUE(decoder.Next(&mtr).value());
  for (int i = 0; i < 2; ++i) {
    auto next = decoder.Next(&mtr);
    ASSERT_FALSE(next.ok());
    EXPECT_TRUE(absl::IsOutOfRange(next.status()));
    EXPECT_EQ(decoder.next_lsn(), second);
  }
}

// ---- Corrupt records inside a valid mtr: DataLoss --------------------------------------------

TEST(MtrDecoderCorruptTest, ReservedType) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Record(kReserved, Bytes{1, 3, 0})), "RESERVED");
}

TEST(MtrDecoderCorruptTest, SamePageFreePage) {
  MtrBuilder b;
  b.Write(P(1, 3), 100, Bytes{1}).Record(kSamePage | kFreePage, Bytes{0});
  ExpectCorrupt(DecodeBuilt(b), "same-page form", kStart + 5);
}

TEST(MtrDecoderCorruptTest, SamePageInitPage) {
  MtrBuilder b;
  b.Write(P(1, 3), 100, Bytes{1}).Record(kSamePage | kInitPage, Bytes{0});
  ExpectCorrupt(DecodeBuilt(b), "same-page form", kStart + 5);
}

TEST(MtrDecoderCorruptTest, FreePageWithPayload) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Record(kFreePage, Bytes{1, 3, 0})), "payload");
}

TEST(MtrDecoderCorruptTest, SamePageWriteAfterFreePage) {
  MtrBuilder b;
  b.FreePage(P(1, 3)).WriteSame(100, Bytes{1});
  ExpectCorrupt(DecodeBuilt(b), "after FREE_PAGE", kStart + 3);
}

TEST(MtrDecoderCorruptTest, SamePageMemsetAfterFreePage) {
  MtrBuilder b;
  b.FreePage(P(1, 3)).MemsetSame(100, 4, Bytes{0});
  ExpectCorrupt(DecodeBuilt(b), "after FREE_PAGE", kStart + 3);
}

TEST(MtrDecoderCorruptTest, SamePageWriteAfterTrimPages) {
  MtrBuilder b;
  b.Extended(P(1, 640), 10).WriteSame(100, Bytes{1});
  ExpectCorrupt(DecodeBuilt(b), "after FREE_PAGE/TRIM_PAGES", kStart + 5);
}

TEST(MtrDecoderCorruptTest, ExplicitWriteAfterFreePageIsNotSamePage) {
  // Only the same-page form is refused: an explicit page id starts afresh.
  MtrBuilder b;
  b.FreePage(P(1, 3)).Write(P(1, 3), 100, Bytes{1});
  EXPECT_TRUE(DecodeBuilt(b).ok());
}

TEST(MtrDecoderCorruptTest, WriteOffsetBelow8) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Write(P(1, 3), 7, Bytes{1})), "outside the page");
}

TEST(MtrDecoderCorruptTest, WriteOffsetAtPageSize) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Write(P(1, 3), 16384, Bytes{1})), "outside the page");
}

TEST(MtrDecoderCorruptTest, WritePastPageEnd) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Write(P(1, 3), 16380, Bytes{1, 2, 3, 4, 5})),
                "past the end of the page");
}

TEST(MtrDecoderCorruptTest, WriteWithoutData) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Write(P(1, 3), 100, {})), "without data");
}

TEST(MtrDecoderCorruptTest, SamePageWriteOffsetOverflowsThePage) {
  MtrBuilder b;
  b.Write(P(1, 3), 16000, Bytes{1}).WriteSame(500, Bytes{2});
  ExpectCorrupt(DecodeBuilt(b), "outside the page", kStart + 6);
}

TEST(MtrDecoderCorruptTest, SamePageRecordAfterTheEndOfA64KiBPage) {
  // A WRITE that ends exactly at the end of a 64 KiB page leaves last_offset = 65536; a
  // same-page record after it targets 65536 + delta, outside the page (16-bit wrap-around
  // would turn it into offset `delta`).
  MtrBuilder b;
  b.Write(P(1, 3), 65528, Bytes(8, 1)).WriteSame(100, Bytes{2});
  ExpectCorrupt(DecodeBuilt(b, kStart, WithGeometry(kGeometry, 65536)), "outside the page",
                kStart + 14);
}

TEST(MtrDecoderCorruptTest, MemsetPatternLongerThanLength) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Memset(P(1, 3), 100, 2, Bytes{1, 2, 3})),
                "MEMSET pattern");
}

TEST(MtrDecoderCorruptTest, MemsetWithoutPattern) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Memset(P(1, 3), 100, 2, {})), "MEMSET pattern");
}

TEST(MtrDecoderCorruptTest, MemsetOfZeroBytes) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Memset(P(1, 3), 100, 0, Bytes{1})), "bad length");
}

TEST(MtrDecoderCorruptTest, MemsetPastPageEnd) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Memset(P(1, 3), 16380, 5, Bytes{1})), "page end");
}

TEST(MtrDecoderCorruptTest, MemmoveSourceBelow8) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Memmove(P(1, 3), 100, 4, -93)), "MEMMOVE source");
}

TEST(MtrDecoderCorruptTest, MemmoveSourcePastPageEnd) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Memmove(P(1, 3), 100, 10, 16280)), "MEMMOVE source");
}

TEST(MtrDecoderCorruptTest, MemmoveWithTrailingBytes) {
  const Bytes payload =
      Concat({MtrBuilder::Id(P(1, 3)), EncodeVarint(100), EncodeVarint(4), Bytes{0x02, 0x00}});
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Record(kMemmove, payload)), "MEMMOVE source");
}

TEST(MtrDecoderCorruptTest, ExtendedOnPagesBelow3) {
  for (uint32_t page = 0; page < 3; ++page) {
    for (uint8_t sub : {0, 1, 2}) {
      ExpectCorrupt(DecodeBuilt(MtrBuilder().Extended(P(5, page), sub)), "page 0, 1 or 2");
    }
    ExpectCorrupt(DecodeBuilt(MtrBuilder().Extended(P(5, page), 3, Bytes{1, 2, 3})),
                  "page 0, 1 or 2");
    ExpectCorrupt(DecodeBuilt(MtrBuilder().Extended(P(5, page), 8, Bytes{0})), "page 0, 1 or 2");
  }
}

TEST(MtrDecoderCorruptTest, UnknownExtendedSubtype) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Extended(P(5, 3), 11)), "unknown EXTENDED subtype 11");
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Extended(P(5, 3), 0xFF)), "unknown EXTENDED subtype");
}

TEST(MtrDecoderCorruptTest, ExtendedWithoutSubtype) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Record(kExtended, MtrBuilder::Id(P(5, 3)))),
                "without a subtype");
}

TEST(MtrDecoderCorruptTest, PageInitWithPayload) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Extended(P(5, 3), 1, Bytes{0})), "carries a payload");
}

TEST(MtrDecoderCorruptTest, UndoAppendShorterThanThreeBytes) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Extended(P(5, 3), 3, Bytes{1, 2})), "UNDO_APPEND");
}

TEST(MtrDecoderCorruptTest, PageNumberMissing) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Record(kInitPage, Bytes{0x05})), "bad page number");
}

TEST(MtrDecoderCorruptTest, FileCheckpointNotLast) {
  MtrBuilder b;
  b.FileCheckpoint(Lsn(12288)).FileOp(kFileModify, SpaceId(7), StrBytes("./w/big.ibd"));
  ExpectCorrupt(DecodeBuilt(b), "not the last record");
}

TEST(MtrDecoderCorruptTest, FileCheckpointWithWrongLength) {
  ExpectCorrupt(
      DecodeBuilt(MtrBuilder().FileOp(kFileCheckpoint, SpaceId(0), Bytes{0, 0, 0, 0, 0, 0, 0x30})),
      "bad FILE_CHECKPOINT");
}

TEST(MtrDecoderCorruptTest, FileRenameWithoutNul) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().FileOp(kFileRename, SpaceId(9), StrBytes("./t/a.ibd"))),
                "exactly one NUL");
}

TEST(MtrDecoderCorruptTest, FileRenameWithTwoNuls) {
  using namespace std::string_view_literals;
  const Bytes paths = StrBytes("./t/a.ibd\0\0./t/b.ibd"sv);
  ExpectCorrupt(DecodeBuilt(MtrBuilder().FileOp(kFileRename, SpaceId(9), paths)),
                "exactly one NUL");
}

TEST(MtrDecoderCorruptTest, FileRenameToANonIbdPath) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().FileRename(SpaceId(9), "./t/a.ibd", "./t/b.frm")),
                "not a .ibd path");
}

TEST(MtrDecoderCorruptTest, FilePathNotIbd) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().FileOp(kFileCreate, SpaceId(9), StrBytes("./t/a.frm"))),
                "not a .ibd path");
}

TEST(MtrDecoderCorruptTest, FilePathWithoutSlash) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().FileOp(kFileDelete, SpaceId(9), StrBytes("a.ibd"))),
                "not a .ibd path");
}

TEST(MtrDecoderCorruptTest, FileRecordForTheSystemTablespace) {
  ExpectCorrupt(DecodeBuilt(MtrBuilder().FileOp(kFileModify, SpaceId(0), StrBytes("./t/a.ibd"))),
                "system tablespace");
}

TEST(MtrDecoderCorruptTest, FileRecordWithNonZeroPage) {
  const Bytes payload = Concat({MtrBuilder::Id(P(9, 1)), StrBytes("./t/a.ibd")});
  ExpectCorrupt(DecodeBuilt(MtrBuilder().Record(kFileModify, payload)), "non-zero page number");
}

TEST(MtrDecoderCorruptTest, InvalidFileRecordTypes) {
  for (uint8_t bits : {0xC0, 0xD0, 0xE0}) {
    ExpectCorrupt(DecodeBuilt(MtrBuilder().FileOp(bits, SpaceId(9), StrBytes("./t/a.ibd"))),
                  "unknown file-level record type");
  }
}

TEST(MtrDecoderCorruptTest, ErrorNamesTheRecordLsnAndLeavesTheDecoderInPlace) {
  MtrBuilder b;
  b.Write(P(1, 3), 100, Bytes{1}).Write(P(1, 3), 200, Bytes{2}).Write(P(1, 3), 3, Bytes{3});
  const Lsn start(500000);
  MtrDecoder decoder(start, WithGeometry());
  decoder.Feed(b.Build(kGeometry, start));
  Mtr mtr;
  auto next = decoder.Next(&mtr);
  ASSERT_FALSE(next.ok());
  EXPECT_TRUE(absl::IsDataLoss(next.status()));
  EXPECT_TRUE(pageserver::testing::MessageHas(next.status(), "at LSN 500011")) << next.status();
  EXPECT_TRUE(pageserver::testing::MessageHas(next.status(), "mini-transaction at LSN 500000"))
      << next.status();
  EXPECT_EQ(decoder.next_lsn(), start);
}

TEST(MtrDecoderCorruptTest, ParseMtrBodyRejectsATruncatedRecord) {
  const Bytes body = {0x34, 0x00, 0x07, 0x35};  // promises 4 bytes after the first, has 3
  Mtr mtr;
  const absl::Status s = ParseMtrBody(body, kStart, 16384, &mtr);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_TRUE(pageserver::testing::MessageHas(s, "LSN 12288")) << s;
}

}  // namespace
}  // namespace pageserver::wal
