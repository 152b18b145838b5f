// MtrDecoder: record decoding of every type, the same-page shortcut, both length forms, and
// incremental decoding with the stream split anywhere (framing errors and corrupt records are in
// mtr_decoder_corruption_test.cc). The byte examples marked "real" are
// copied from MariaDB 10.11 logs (spec sections 1.5, 2.4, 2.5); the expected values are the
// spec's annotations.
#include "wal/mtr_decoder.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/testing/test_seed.h"
#include "wal/testing/mtr_builder.h"
#include "wal/testing/mtr_decode_helpers.h"

namespace pageserver::wal {
namespace {

using namespace testing;  // pageserver::wal::testing: MtrBuilder and the decode helpers

// ---- Real bytes from MariaDB logs -------------------------------------------------------------

TEST(MtrDecoderRealTest, FirstCheckpointOfANewDatabase) {
  auto mtr = DecodeOne(Hex("fa 00 00 00 00 00 00 00 00 30 00 | 01 | 1f ec 1a 80"));
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  EXPECT_EQ(mtr->start_lsn, Lsn(12288));
  EXPECT_EQ(mtr->end_lsn, Lsn(12304));
  ASSERT_EQ(mtr->records.size(), 1u);
  const Record& r = mtr->records[0];
  EXPECT_EQ(r.type, RecordType::kFileCheckpoint);
  EXPECT_EQ(mtr->CheckpointLsn(r), Lsn(12288));
  EXPECT_EQ(r.page, P(0, 0));
}

TEST(MtrDecoderRealTest, Write) {
  auto mtr = DecodeOne(Hex("34 00 07 35 12 | 01 | a94e24d8"));
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  ASSERT_EQ(mtr->records.size(), 1u);
  const Record& r = mtr->records[0];
  EXPECT_EQ(r.type, RecordType::kWrite);
  EXPECT_EQ(r.page, P(0, 7));
  EXPECT_EQ(r.offset, 53);
  EXPECT_EQ(Bytes(mtr->Data(r).begin(), mtr->Data(r).end()), Bytes{0x12});
  EXPECT_EQ(mtr->end_lsn, kStart + 10);
}

TEST(MtrDecoderRealTest, MemsetWriteFreePageWrite) {
  auto mtr = DecodeOne(
      Hex("46 02 02 b06a 04 ff | 34 02 00 3d 60 | 02 02 61 | 35 02 00 805e be | 01 | 0a64b641"));
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  ASSERT_EQ(mtr->records.size(), 4u);
  const auto& r = mtr->records;
  EXPECT_EQ(r[0].type, RecordType::kMemset);
  EXPECT_EQ(r[0].page, P(2, 2));
  EXPECT_EQ(r[0].offset, 12522);
  EXPECT_EQ(r[0].length, 4);
  EXPECT_EQ(Bytes(mtr->Data(r[0]).begin(), mtr->Data(r[0]).end()), Bytes{0xFF});
  EXPECT_EQ(r[1].type, RecordType::kWrite);
  EXPECT_EQ(r[1].page, P(2, 0));
  EXPECT_EQ(r[1].offset, 61);
  EXPECT_EQ(r[2].type, RecordType::kFreePage);
  EXPECT_EQ(r[2].page, P(2, 97));
  EXPECT_EQ(r[3].type, RecordType::kWrite);
  EXPECT_EQ(r[3].page, P(2, 0));
  EXPECT_EQ(r[3].offset, 222);
  EXPECT_EQ(mtr->Data(r[3])[0], 0xBE);
  // first_byte_pos locates each record in the body (for diagnostics).
  EXPECT_EQ(r[1].first_byte_pos, 7u);
  EXPECT_EQ(r[2].first_byte_pos, 12u);
  EXPECT_EQ(r[3].first_byte_pos, 15u);
}

TEST(MtrDecoderRealTest, SamePageChainWithMemmove) {
  auto mtr = DecodeOne(
      Hex("34 02 03 31 01 | b7 00 00000042 0078 | d3 00 06 0b | 45 02 42 78 04 ff | d3 02 06 0b |"
          "34 02 42 39 02 | b2 2b 10 | 01 | 8266ba89"));
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  ASSERT_EQ(mtr->records.size(), 7u);
  const auto& r = mtr->records;
  EXPECT_EQ(r[0].page, P(2, 3));
  EXPECT_EQ(r[0].offset, 49);
  EXPECT_EQ(r[1].type, RecordType::kWrite);
  EXPECT_EQ(r[1].page, P(2, 3));
  EXPECT_EQ(r[1].offset, 50);
  EXPECT_EQ(r[1].data_len, 6u);
  EXPECT_EQ(r[2].type, RecordType::kMemmove);
  EXPECT_EQ(r[2].page, P(2, 3));
  EXPECT_EQ(r[2].offset, 56);
  EXPECT_EQ(r[2].length, 6);
  EXPECT_EQ(r[2].source, 50);
  EXPECT_EQ(r[3].type, RecordType::kMemset);
  EXPECT_EQ(r[3].page, P(2, 66));
  EXPECT_EQ(r[3].offset, 120);
  EXPECT_EQ(r[3].length, 4);
  EXPECT_EQ(r[4].type, RecordType::kMemmove);
  EXPECT_EQ(r[4].page, P(2, 66));
  EXPECT_EQ(r[4].offset, 126);
  EXPECT_EQ(r[4].length, 6);
  EXPECT_EQ(r[4].source, 120);
  EXPECT_EQ(r[5].page, P(2, 66));
  EXPECT_EQ(r[5].offset, 57);
  EXPECT_EQ(r[6].page, P(2, 66));
  EXPECT_EQ(r[6].offset, 101);
  EXPECT_EQ(mtr->Data(r[6])[0], 0x10);
}

TEST(MtrDecoderRealTest, InsertHeapRedundantSamePage) {
  auto mtr = DecodeOne(Hex("34 00 09 3f 0f | ad 04 8070 0c 01 07 0d 12772f626967 | 01 | 5df9c8fd"));
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  ASSERT_EQ(mtr->records.size(), 2u);
  const Record& r = mtr->records[1];
  EXPECT_EQ(r.type, RecordType::kExtended);
  EXPECT_EQ(r.subtype, ExtendedType::kInsertHeapRedundant);
  EXPECT_EQ(r.page, P(0, 9));
  EXPECT_EQ(Bytes(mtr->Data(r).begin(), mtr->Data(r).end()), Hex("8070 0c 01 07 0d 12772f626967"));
}

TEST(MtrDecoderRealTest, UndoAppendLongLengthForm) {
  // The spec's annotation lists one 00 byte too many; these 22 record bytes are the ones whose
  // CRC-32C is the stored 0eb315be, and they give the annotated 21 bytes after the first byte.
  auto mtr = DecodeOne(Hex("20 06 02 42 03 0b0102080000000000000012040000000000 | 01 | 0eb315be"));
  EXPECT_FALSE(mtr.ok());  // as printed: the CRC does not match
  mtr = DecodeOne(Hex("20 06 02 42 03 0b01020800000000000000120400000000 | 01 | 0eb315be"));
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  ASSERT_EQ(mtr->records.size(), 1u);
  const Record& r = mtr->records[0];
  EXPECT_EQ(r.type, RecordType::kExtended);
  EXPECT_EQ(r.subtype, ExtendedType::kUndoAppend);
  EXPECT_EQ(r.page, P(2, 66));
  EXPECT_EQ(r.data_len, 17u);
  EXPECT_EQ(mtr->Data(r)[0], 0x0B);
}

TEST(MtrDecoderRealTest, DeleteRowFormatDynamic) {
  auto mtr = DecodeOne(Hex("27 07 04 09 1d 03 8121 | 01 | 40c9d764"));
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  const Record& r = mtr->records.at(0);
  EXPECT_EQ(r.subtype, ExtendedType::kDeleteDynamic);
  EXPECT_EQ(r.page, P(7, 4));
  EXPECT_EQ(Bytes(mtr->Data(r).begin(), mtr->Data(r).end()), Hex("1d 03 8121"));
}

TEST(MtrDecoderRealTest, FileModify) {
  auto mtr = DecodeOne(Hex("bd 07 00 2e2f772f6269672e696264 | 01 | 1f613f10"));
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  const Record& r = mtr->records.at(0);
  EXPECT_EQ(r.type, RecordType::kFileModify);
  EXPECT_TRUE(r.IsFileOp());
  EXPECT_EQ(r.page.space, SpaceId(7));
  EXPECT_EQ(mtr->Path(r), "./w/big.ibd");
}

// ---- Each record type ------------------------------------------------------------------------

TEST(MtrDecoderRecordTest, FreePageAndInitPage) {
  MtrBuilder b;
  b.FreePage(P(5, 300)).InitPage(P(5, 301));
  // INIT_PAGE's first byte is 0x1n with n = id bytes: 1 + 2 here.
  EXPECT_EQ(b.body()[4], 0x13);
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  ASSERT_EQ(mtr->records.size(), 2u);
  EXPECT_EQ(mtr->records[0].type, RecordType::kFreePage);
  EXPECT_EQ(mtr->records[0].page, P(5, 300));
  EXPECT_EQ(mtr->records[1].type, RecordType::kInitPage);
  EXPECT_EQ(mtr->records[1].page, P(5, 301));
}

TEST(MtrDecoderRecordTest, LargeSpaceAndPageIds) {
  MtrBuilder b;
  b.InitPage(P(0xFFFFFFF0u, 0xFFFFFFFFu));
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  EXPECT_EQ(mtr->records.at(0).page, P(0xFFFFFFF0u, 0xFFFFFFFFu));
}

TEST(MtrDecoderRecordTest, Write) {
  MtrBuilder b;
  b.Write(P(3, 4), 16376, Bytes{1, 2, 3, 4, 5, 6, 7, 8});  // ends exactly at the page end
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  const Record& r = mtr->records.at(0);
  EXPECT_EQ(r.type, RecordType::kWrite);
  EXPECT_EQ(r.offset, 16376);
  EXPECT_EQ(Bytes(mtr->Data(r).begin(), mtr->Data(r).end()), (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(MtrDecoderRecordTest, MemsetOneAndMultiBytePattern) {
  MtrBuilder b;
  b.Memset(P(3, 4), 100, 10, Bytes{0xAB}).Memset(P(3, 4), 200, 4, Bytes{0x01, 0x02});
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  const auto& r = mtr->records;
  EXPECT_EQ(r.at(0).type, RecordType::kMemset);
  EXPECT_EQ(r[0].offset, 100);
  EXPECT_EQ(r[0].length, 10);
  EXPECT_EQ(r[0].data_len, 1u);
  EXPECT_EQ(r.at(1).offset, 200);
  EXPECT_EQ(r[1].length, 4);
  EXPECT_EQ(Bytes(mtr->Data(r[1]).begin(), mtr->Data(r[1]).end()), (Bytes{1, 2}));
}

TEST(MtrDecoderRecordTest, MemmoveBothDirections) {
  MtrBuilder b;
  b.Memmove(P(3, 4), 100, 20, +1)
      .Memmove(P(3, 4), 100, 20, -1)
      .Memmove(P(3, 4), 1000, 50, +500)
      .Memmove(P(3, 4), 1000, 50, -992);  // source 8, the lowest allowed
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  const auto& r = mtr->records;
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].type, RecordType::kMemmove);
  EXPECT_EQ(r[0].source, 101);
  EXPECT_EQ(r[1].source, 99);
  EXPECT_EQ(r[2].source, 1500);
  EXPECT_EQ(r[3].source, 8);
  EXPECT_EQ(r[3].offset, 1000);
  EXPECT_EQ(r[3].length, 50);
}

TEST(MtrDecoderRecordTest, EveryExtendedSubtype) {
  const Bytes insert_payload = {0x00, 0x00, 0x00, 0x00, 0xAA};
  const Bytes payloads[kExtendedTypeCount] = {{},
                                              {},
                                              {},
                                              {1, 2, 3},
                                              insert_payload,
                                              insert_payload,
                                              insert_payload,
                                              insert_payload,
                                              {0x05},
                                              {0x05, 0x03, 0x10},
                                              {}};
  for (int sub = 0; sub < kExtendedTypeCount; ++sub) {
    MtrBuilder b;
    b.Extended(P(9, 640), static_cast<uint8_t>(sub), payloads[sub]);
    auto mtr = DecodeBuilt(b);
    ASSERT_TRUE(mtr.ok()) << "subtype " << sub << ": " << mtr.status();
    const Record& r = mtr->records.at(0);
    EXPECT_EQ(r.type, RecordType::kExtended);
    EXPECT_EQ(static_cast<int>(r.subtype), sub);
    EXPECT_EQ(r.page, P(9, 640));
    EXPECT_EQ(Bytes(mtr->Data(r).begin(), mtr->Data(r).end()), payloads[sub]) << sub;
  }
}

TEST(MtrDecoderRecordTest, OptionIsDecodedAndCarriesItsBytes) {
  MtrBuilder b;
  b.Option(P(3, 4), 0x01, Bytes{0xDE, 0xAD, 0xBE, 0xEF});
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  const Record& r = mtr->records.at(0);
  EXPECT_EQ(r.type, RecordType::kOption);
  EXPECT_EQ(r.page, P(3, 4));
  EXPECT_EQ(r.data_len, 4u);
}

TEST(MtrDecoderRecordTest, FileCreateDeleteModify) {
  const std::pair<uint8_t, RecordType> kinds[] = {{kFileCreate, RecordType::kFileCreate},
                                                  {kFileDelete, RecordType::kFileDelete},
                                                  {kFileModify, RecordType::kFileModify}};
  for (auto [bits, type] : kinds) {
    MtrBuilder b;
    b.FileOp(bits, SpaceId(12), StrBytes("./db/a_rather_long_table_name.ibd"));
    auto mtr = DecodeBuilt(b);
    ASSERT_TRUE(mtr.ok()) << mtr.status();
    const Record& r = mtr->records.at(0);
    EXPECT_EQ(r.type, type);
    EXPECT_EQ(r.page, P(12, 0));
    EXPECT_EQ(mtr->Path(r), "./db/a_rather_long_table_name.ibd");
  }
}

TEST(MtrDecoderRecordTest, FileRename) {
  MtrBuilder b;
  b.FileRename(SpaceId(9), "./t/tr.ibd", "./t/#sql-ib22.ibd");
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  const Record& r = mtr->records.at(0);
  EXPECT_EQ(r.type, RecordType::kFileRename);
  EXPECT_EQ(mtr->OldPath(r), "./t/tr.ibd");
  EXPECT_EQ(mtr->NewPath(r), "./t/#sql-ib22.ibd");
}

TEST(MtrDecoderRecordTest, FileModifyThenCheckpointInOneMtr) {
  MtrBuilder b;
  b.FileOp(kFileModify, SpaceId(7), StrBytes("./w/big.ibd")).FileCheckpoint(Lsn(44776));
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  ASSERT_EQ(mtr->records.size(), 2u);
  EXPECT_EQ(mtr->records[1].type, RecordType::kFileCheckpoint);
  EXPECT_EQ(mtr->CheckpointLsn(mtr->records[1]), Lsn(44776));
}

TEST(MtrDecoderRecordTest, PaddingMtrHasNoRecords) {
  // MariaDB's log_pad() wrote `f1 00` as a mini-transaction of its own.
  auto mtr = DecodeBuilt(MtrBuilder().Padding());
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  EXPECT_TRUE(mtr->records.empty());
  EXPECT_EQ(mtr->end_lsn, kStart + 7);
}

TEST(MtrDecoderRecordTest, PaddingBeforePageRecordsIsSkipped) {
  MtrBuilder b;
  b.Padding().Write(P(1, 3), 100, Bytes{7}).InitPage(P(1, 4));
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  ASSERT_EQ(mtr->records.size(), 2u);
  EXPECT_EQ(mtr->records[0].type, RecordType::kWrite);
  EXPECT_EQ(mtr->records[1].type, RecordType::kInitPage);
}

// ---- Same-page records and last_offset -------------------------------------------------------

TEST(MtrDecoderSamePageTest, OffsetsFollowLastOffset) {
  MtrBuilder b;
  b.Write(P(2, 7), 100, Bytes{1, 2, 3})  // last_offset 103
      .WriteSame(0, Bytes{4})            // @103 -> 104
      .MemsetSame(6, 10, Bytes{0})       // @110 len 10 -> 120
      .MemmoveSame(5, 4, -25)            // @125 from 100 -> 129
      .WriteSame(0, Bytes{9});           // @129
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  const auto& r = mtr->records;
  ASSERT_EQ(r.size(), 5u);
  for (const Record& rec : r) EXPECT_EQ(rec.page, P(2, 7));
  EXPECT_EQ(r[1].offset, 103);
  EXPECT_EQ(r[2].offset, 110);
  EXPECT_EQ(r[3].offset, 125);
  EXPECT_EQ(r[3].source, 100);
  EXPECT_EQ(r[4].offset, 129);
}

TEST(MtrDecoderSamePageTest, InitPageAndExtendedSetLastOffsetTo24) {
  MtrBuilder b;
  b.InitPage(P(2, 7)).WriteSame(0, Bytes{0x45, 0xBF});  // FIL_PAGE_TYPE
  b.Extended(P(2, 8), 1).WriteSame(1, Bytes{0xBE});     // R-tree type low byte at 25
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  const auto& r = mtr->records;
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[1].page, P(2, 7));
  EXPECT_EQ(r[1].offset, 24);
  EXPECT_EQ(r[3].page, P(2, 8));
  EXPECT_EQ(r[3].offset, 25);
}

TEST(MtrDecoderSamePageTest, ExplicitPageIdResetsLastOffset) {
  MtrBuilder b;
  b.Write(P(2, 7), 1000, Bytes{1}).Write(P(2, 7), 50, Bytes{2}).WriteSame(3, Bytes{3});
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  EXPECT_EQ(mtr->records.at(1).offset, 50);
  EXPECT_EQ(mtr->records.at(2).offset, 54);
}

TEST(MtrDecoderSamePageTest, OptionLeavesLastOffsetAlone) {
  MtrBuilder b;
  b.Write(P(2, 7), 100, Bytes{1, 2});
  const uint8_t option[] = {0x01, 0xAA, 0xBB, 0xCC, 0xDD};
  b.Record(kSamePage | kOption, option);
  b.WriteSame(3, Bytes{3});
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  ASSERT_EQ(mtr->records.size(), 3u);
  EXPECT_EQ(mtr->records[1].type, RecordType::kOption);
  EXPECT_EQ(mtr->records[1].page, P(2, 7));
  EXPECT_EQ(mtr->records[2].offset, 105);
}

TEST(MtrDecoderSamePageTest, ExtendedSameFollowsThePreviousPage) {
  MtrBuilder b;
  b.Write(P(4, 10), 24, Bytes{0x45, 0xBF}).ExtendedSame(8, Bytes{0x00});
  auto mtr = DecodeBuilt(b);
  ASSERT_TRUE(mtr.ok()) << mtr.status();
  EXPECT_EQ(mtr->records.at(1).subtype, ExtendedType::kDeleteRedundant);
  EXPECT_EQ(mtr->records[1].page, P(4, 10));
}

// ---- Length forms ---------------------------------------------------------------------------

TEST(MtrDecoderLengthTest, LongFormDecodesLikeShortForm) {
  // A reader must accept the long form for any length it can express (>= 15 following bytes).
  // 10 and 11 data bytes make 14 and 15 bytes after the length: both forms can express them.
  for (size_t data_len = 10; data_len <= 11; ++data_len) {
    const Bytes data(data_len, 0x5A);
    MtrBuilder short_form, long_form;
    short_form.Write(P(3, 4), 1000, data);
    long_form.Write(P(3, 4), 1000, data, LengthForm::kLong);
    ASSERT_NE(short_form.body(), long_form.body());
    EXPECT_EQ(long_form.body()[0], 0x30);
    auto a = DecodeBuilt(short_form);
    auto b = DecodeBuilt(long_form);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(a->records.at(0).offset, b->records.at(0).offset);
    EXPECT_EQ(Bytes(a->Data(a->records[0]).begin(), a->Data(a->records[0]).end()),
              Bytes(b->Data(b->records[0]).begin(), b->Data(b->records[0]).end()));
  }
}

TEST(MtrDecoderLengthTest, LongFormWithOneTwoAndThreeByteVarint) {
  // 3-byte length varints need more than a 16 KiB page can hold; use a 64 KiB page size.
  for (size_t data_len : {100u, 5000u, 20000u}) {
    MtrBuilder b;
    b.Write(P(3, 4), 8, Bytes(data_len, 0x11)).Write(P(3, 5), 8, Bytes{0x22});
    const MtrDecoderOptions options = WithGeometry(kGeometry, 65536);
    auto mtr = DecodeBuilt(b, kStart, options);
    ASSERT_TRUE(mtr.ok()) << data_len << ": " << mtr.status();
    ASSERT_EQ(mtr->records.size(), 2u);
    EXPECT_EQ(mtr->records[0].data_len, data_len);
    EXPECT_EQ(mtr->records[1].page, P(3, 5));
  }
}

// ---- Incremental decoding -------------------------------------------------------------------

struct Decoded {
  std::vector<Mtr> mtrs;
  absl::Status end = absl::OkStatus();  // OK: stopped at "need more"
};

void Drain(MtrDecoder& decoder, Decoded* out) {
  for (;;) {
    Mtr mtr;
    auto next = decoder.Next(&mtr);
    if (!next.ok()) {
      out->end = next.status();
      return;
    }
    if (!*next) return;
    out->mtrs.push_back(std::move(mtr));
  }
}

void ExpectSameMtrs(const Decoded& got, const Decoded& want, const std::string& context) {
  ASSERT_EQ(got.mtrs.size(), want.mtrs.size()) << context;
  for (size_t i = 0; i < want.mtrs.size(); ++i) {
    EXPECT_EQ(got.mtrs[i].start_lsn, want.mtrs[i].start_lsn) << context;
    EXPECT_EQ(got.mtrs[i].end_lsn, want.mtrs[i].end_lsn) << context;
    EXPECT_EQ(got.mtrs[i].body, want.mtrs[i].body) << context;
    EXPECT_EQ(got.mtrs[i].records.size(), want.mtrs[i].records.size()) << context;
  }
  EXPECT_EQ(got.end.code(), want.end.code()) << context;
}

// A stream of varied mtrs in a small ring so several terminators are 0 (pass 1), then one
// byte 0x00 as the end of log.
constexpr LogGeometry kSmallRing{Lsn(12288), 97};

Bytes VariedStream(Lsn start, size_t* mtr_count) {
  std::vector<MtrBuilder> mtrs(8);
  mtrs[0].FileCheckpoint(Lsn(12288));
  mtrs[1].Write(P(1, 3), 100, Bytes{1, 2, 3}).WriteSame(0, Bytes{4}).MemsetSame(2, 8, Bytes{9});
  mtrs[2].Write(P(2, 5), 200, Bytes(40, 0xEE)).MemmoveSame(0, 10, -30);
  mtrs[3].InitPage(P(7, 9)).Extended(P(7, 9), 1).FreePage(P(7, 10));
  mtrs[4].FileOp(kFileModify, SpaceId(9), StrBytes("./d/t.ibd"));
  mtrs[5].Extended(P(2, 66), 3, Bytes(30, 0x42));
  mtrs[6].Padding();
  mtrs[7].Write(P(1, 4), 8, Bytes(300, 0xAB));
  Bytes out;
  Lsn lsn = start;
  for (const MtrBuilder& b : mtrs) {
    const Bytes bytes = b.Build(kSmallRing, lsn);
    out.insert(out.end(), bytes.begin(), bytes.end());
    lsn = lsn + bytes.size();
  }
  out.push_back(0x00);
  *mtr_count = mtrs.size();
  return out;
}

// The stream decoded in one piece: what every way of cutting it must reproduce.
Decoded DecodeWhole(const Bytes& stream, const MtrDecoderOptions& options) {
  Decoded whole;
  MtrDecoder decoder(kStart, options);
  decoder.Feed(stream);
  Drain(decoder, &whole);
  return whole;
}

TEST(MtrDecoderIncrementalTest, SplitAtEveryPosition) {
  size_t count = 0;
  const Bytes stream = VariedStream(kStart, &count);
  const MtrDecoderOptions options = WithGeometry(kSmallRing);
  const Decoded whole = DecodeWhole(stream, options);
  ASSERT_EQ(whole.mtrs.size(), count);
  ASSERT_TRUE(absl::IsOutOfRange(whole.end)) << whole.end;  // the trailing 0x00
  for (size_t split = 0; split <= stream.size(); ++split) {
    MtrDecoder decoder(kStart, options);
    Decoded got;
    decoder.Feed(std::span(stream).subspan(0, split));
    Drain(decoder, &got);
    // Only the trailing 0x00 (the end of log) may stop a prefix.
    ASSERT_TRUE(got.end.ok() || split == stream.size())
        << "a prefix must never be an error: split " << split << " " << got.end;
    decoder.Feed(std::span(stream).subspan(split));
    Drain(decoder, &got);
    ExpectSameMtrs(got, whole, "split " + std::to_string(split));
  }
}

TEST(MtrDecoderIncrementalTest, RandomChunkSizes) {
  size_t count = 0;
  const Bytes stream = VariedStream(kStart, &count);
  const MtrDecoderOptions options = WithGeometry(kSmallRing);
  const Decoded whole = DecodeWhole(stream, options);
  const uint64_t seed = pageserver::testing::TestSeed();
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 300; ++round) {
    MtrDecoder decoder(kStart, options);
    Decoded got;
    size_t pos = 0;
    while (pos < stream.size()) {
      const size_t n = std::min<size_t>(1 + rng() % 40, stream.size() - pos);
      decoder.Feed(std::span(stream).subspan(pos, n));
      pos += n;
      Drain(decoder, &got);
      if (!got.end.ok()) break;
    }
    ExpectSameMtrs(got, whole, "round " + std::to_string(round) + " seed " + std::to_string(seed));
  }
}

TEST(MtrDecoderIncrementalTest, EveryPrefixOfAnMtrNeedsMore) {
  MtrBuilder b;
  b.Write(P(1, 3), 100, Bytes(20, 1), LengthForm::kLong)
      .WriteSame(0, Bytes{2})
      .Extended(P(2, 66), 3, Bytes(200, 0x42));
  const Bytes bytes = b.Build(kGeometry, kStart);
  for (size_t n = 0; n < bytes.size(); ++n) {
    MtrDecoder decoder(kStart, WithGeometry());
    decoder.Feed(std::span(bytes).subspan(0, n));
    Mtr mtr;
    auto next = decoder.Next(&mtr);
    ASSERT_TRUE(next.ok()) << n << ": " << next.status();
    EXPECT_FALSE(*next) << n;
    EXPECT_EQ(decoder.next_lsn(), kStart);
    EXPECT_EQ(decoder.buffered(), n);
  }
}

TEST(MtrDecoderIncrementalTest, PrematureEndThenTheRestArrives) {
  // A tailer sees the last mtr without its CRC, then re-reads and gets it.
  MtrBuilder b;
  b.Write(P(1, 3), 100, Bytes{1, 2});
  const Bytes bytes = b.Build(kGeometry, kStart);
  MtrDecoder decoder(kStart, WithGeometry());
  decoder.Feed(std::span(bytes).subspan(0, bytes.size() - 2));
  Mtr mtr;
  EXPECT_FALSE(decoder.Next(&mtr).value());
  EXPECT_FALSE(decoder.Next(&mtr).value());
  decoder.Feed(std::span(bytes).subspan(bytes.size() - 2));
  EXPECT_TRUE(decoder.Next(&mtr).value());
  EXPECT_EQ(decoder.next_lsn(), kStart + bytes.size());
  EXPECT_EQ(decoder.buffered(), 0u);
  EXPECT_FALSE(decoder.Next(&mtr).value());
}

}  // namespace
}  // namespace pageserver::wal
