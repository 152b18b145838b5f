// Test-only encoder for MariaDB 10.8+ redo records and mini-transactions (spec section 2), the
// mirror image of MtrDecoder: varints, the length nibble or the long form (varint + 15), the
// same-page flag, the terminator byte and the CRC-32C. It encodes exactly what it is told, so
// tests can also build malformed records (a same-page INIT_PAGE, a RESERVED type, a WRITE at
// offset 2) and check that the decoder refuses them.
//
// Header-only, no state beyond the bytes of one mini-transaction. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "common/byte_order.h"
#include "common/crc32c.h"
#include "common/types.h"
#include "wal/log_geometry.h"
#include "wal/mtr_encoder.h"
#include "wal/varint.h"

namespace pageserver::wal::testing {

using Bytes = std::vector<uint8_t>;

using wal::AppendVarint;

inline Bytes EncodeVarint(uint32_t value) {
  Bytes out;
  AppendVarint(&out, value);
  return out;
}

// MEMMOVE's source encoding: a non-zero signed distance d from the target; d > 0 -> 2(d-1),
// d < 0 -> 2(-d-1)+1.
inline uint32_t EncodeSourceDelta(int32_t distance) {
  return distance > 0 ? static_cast<uint32_t>(distance - 1) * 2
                      : static_cast<uint32_t>(-distance - 1) * 2 + 1;
}

inline Bytes Concat(std::initializer_list<std::span<const uint8_t>> parts) {
  Bytes out;
  for (auto part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

inline Bytes StrBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// How the record length is written. kAuto is what MariaDB's writer does: the nibble when 1..15
// bytes follow the first byte, else the long form.
enum class LengthForm { kAuto, kLong };

// Record type bits (spec 2.1).
inline constexpr uint8_t kFreePage = 0x00;
inline constexpr uint8_t kInitPage = 0x10;
inline constexpr uint8_t kExtended = 0x20;
inline constexpr uint8_t kWrite = 0x30;
inline constexpr uint8_t kMemset = 0x40;
inline constexpr uint8_t kMemmove = 0x50;
inline constexpr uint8_t kReserved = 0x60;
inline constexpr uint8_t kOption = 0x70;
inline constexpr uint8_t kSamePage = 0x80;
inline constexpr uint8_t kFileCreate = 0x80;
inline constexpr uint8_t kFileDelete = 0x90;
inline constexpr uint8_t kFileRename = 0xA0;
inline constexpr uint8_t kFileModify = 0xB0;
inline constexpr uint8_t kFileCheckpoint = 0xF0;

class MtrBuilder {
 public:
  // Appends one record: first byte `type_bits | length`, then `payload` (everything after the
  // length: page id, offsets, data). The long form needs at least 14 payload bytes, since its
  // varint counts itself and 15 is added.
  MtrBuilder& Record(uint8_t type_bits, std::span<const uint8_t> payload,
                     LengthForm form = LengthForm::kAuto) {
    // A test asked for a length the long form cannot express: a bug in the test.
    if (!wal::AppendRecord(&body_, type_bits, payload, form == LengthForm::kLong)) std::abort();
    return *this;
  }
  MtrBuilder& Raw(std::span<const uint8_t> bytes) {
    body_.insert(body_.end(), bytes.begin(), bytes.end());
    return *this;
  }

  // Page records with an explicit page id.
  MtrBuilder& FreePage(PageId id) { return Record(kFreePage, Id(id)); }
  MtrBuilder& InitPage(PageId id) { return Record(kInitPage, Id(id)); }
  MtrBuilder& Write(PageId id, uint32_t offset, std::span<const uint8_t> data,
                    LengthForm form = LengthForm::kAuto) {
    return Record(kWrite, Concat({Id(id), EncodeVarint(offset), data}), form);
  }
  MtrBuilder& Memset(PageId id, uint32_t offset, uint32_t length,
                     std::span<const uint8_t> pattern) {
    return Record(kMemset, Concat({Id(id), EncodeVarint(offset), EncodeVarint(length), pattern}));
  }
  MtrBuilder& Memmove(PageId id, uint32_t offset, uint32_t length, int32_t source_distance) {
    return Record(kMemmove, Concat({Id(id), EncodeVarint(offset), EncodeVarint(length),
                                    EncodeVarint(EncodeSourceDelta(source_distance))}));
  }
  MtrBuilder& Extended(PageId id, uint8_t subtype, std::span<const uint8_t> payload = {},
                       LengthForm form = LengthForm::kAuto) {
    const uint8_t sub[1] = {subtype};
    return Record(kExtended, Concat({Id(id), sub, payload}), form);
  }
  MtrBuilder& Option(PageId id, uint8_t subtype, std::span<const uint8_t> payload = {}) {
    const uint8_t sub[1] = {subtype};
    return Record(kOption, Concat({Id(id), sub, payload}));
  }

  // Same-page records: no page id; `delta` is relative to the decoder's last_offset.
  MtrBuilder& WriteSame(uint32_t delta, std::span<const uint8_t> data) {
    return Record(kSamePage | kWrite, Concat({EncodeVarint(delta), data}));
  }
  MtrBuilder& MemsetSame(uint32_t delta, uint32_t length, std::span<const uint8_t> pattern) {
    return Record(kSamePage | kMemset,
                  Concat({EncodeVarint(delta), EncodeVarint(length), pattern}));
  }
  MtrBuilder& MemmoveSame(uint32_t delta, uint32_t length, int32_t source_distance) {
    return Record(kSamePage | kMemmove, Concat({EncodeVarint(delta), EncodeVarint(length),
                                                EncodeVarint(EncodeSourceDelta(source_distance))}));
  }
  MtrBuilder& ExtendedSame(uint8_t subtype, std::span<const uint8_t> payload = {}) {
    const uint8_t sub[1] = {subtype};
    return Record(kSamePage | kExtended, Concat({sub, payload}));
  }

  // File-level records (page number 0).
  MtrBuilder& FileOp(uint8_t type_bits, SpaceId space, std::span<const uint8_t> payload) {
    return Record(type_bits, Concat({Id({space, PageNo(0)}), payload}));
  }
  MtrBuilder& FileRename(SpaceId space, std::string_view from, std::string_view to) {
    const uint8_t nul[1] = {0};
    return FileOp(kFileRename, space, Concat({StrBytes(from), nul, StrBytes(to)}));
  }
  MtrBuilder& FileCheckpoint(Lsn lsn) {
    uint8_t raw[8];
    WriteBe64(raw, lsn.value());
    return FileOp(kFileCheckpoint, SpaceId(0), raw);
  }
  // The one-byte dummy record the parser skips (spec 2.6).
  MtrBuilder& Padding() { return Raw(Bytes{0xF1, 0x00}); }

  const Bytes& body() const { return body_; }

  // The complete mini-transaction: records, terminator, CRC-32C of the records (big-endian).
  Bytes Build(uint8_t terminator) const { return wal::FinishMtr(body_, terminator); }
  Bytes Build(const LogGeometry& geometry, Lsn start) const {
    return Build(static_cast<uint8_t>(geometry.SequenceBit(start + body_.size())));
  }

  static Bytes Id(PageId id) {
    return Concat({EncodeVarint(id.space.value()), EncodeVarint(id.page.value())});
  }

 private:
  Bytes body_;
};

}  // namespace pageserver::wal::testing
