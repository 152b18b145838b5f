#include "redo/page_applier.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "redo/index_page.h"
#include "redo/page_format.h"
#include "redo/undo_page.h"

namespace pageserver::redo {
namespace {

using wal::ExtendedType;
using wal::RecordType;

absl::Status WithContext(absl::Status status, const wal::Mtr& mtr, const wal::Record& rec) {
  if (status.ok()) return status;
  return absl::Status(
      status.code(),
      absl::StrFormat("cannot apply %s at LSN %d (mini-transaction %d..%d) to %s: %s",
                      rec.type == RecordType::kExtended ? wal::ExtendedTypeName(rec.subtype)
                                                        : wal::RecordTypeName(rec.type),
                      mtr.start_lsn.value() + rec.first_byte_pos, mtr.start_lsn.value(),
                      mtr.end_lsn.value(), ToString(rec.page), status.message()));
}

void InitPage(std::span<uint8_t> page, PageId id) {
  std::memset(page.data(), 0, page.size());
  WriteBe32(page.data() + kFilPageOffset, id.page.value());
  std::memset(page.data() + kFilPagePrev, 0xFF, 8);
  WriteBe32(page.data() + kFilPageSpaceId, id.space.value());
}

absl::Status ApplyExtended(const wal::Mtr& mtr, const wal::Record& rec, std::span<uint8_t> page) {
  const std::span<const uint8_t> payload = mtr.Data(rec);
  switch (rec.subtype) {
    case ExtendedType::kInitRowFormatRedundant:
      InitIndexPage(page, false);
      return absl::OkStatus();
    case ExtendedType::kInitRowFormatDynamic:
      InitIndexPage(page, true);
      return absl::OkStatus();
    case ExtendedType::kUndoInit:
      InitUndoPage(page);
      return absl::OkStatus();
    case ExtendedType::kUndoAppend:
      return AppendUndoRecord(page, payload);
    case ExtendedType::kInsertHeapRedundant:
      return ApplyInsert(page, false, false, payload);
    case ExtendedType::kInsertReuseRedundant:
      return ApplyInsert(page, false, true, payload);
    case ExtendedType::kInsertHeapDynamic:
      return ApplyInsert(page, true, false, payload);
    case ExtendedType::kInsertReuseDynamic:
      return ApplyInsert(page, true, true, payload);
    case ExtendedType::kDeleteRedundant:
      return ApplyDelete(page, false, payload);
    case ExtendedType::kDeleteDynamic:
      return ApplyDelete(page, true, payload);
    case ExtendedType::kTrimPages:
      return absl::OkStatus();
  }
  return absl::DataLossError("unknown EXTENDED subtype");
}

}  // namespace

bool ChangesPageBytes(const wal::Record& rec) {
  switch (rec.type) {
    case RecordType::kInitPage:
    case RecordType::kWrite:
    case RecordType::kMemset:
    case RecordType::kMemmove:
      return true;
    case RecordType::kExtended:
      return rec.subtype != ExtendedType::kTrimPages;
    default:
      return false;
  }
}

absl::Status ApplyRecord(const wal::Mtr& mtr, const wal::Record& rec, std::span<uint8_t> page) {
  const size_t ps = page.size();
  switch (rec.type) {
    case RecordType::kInitPage:
      InitPage(page, rec.page);
      return absl::OkStatus();
    case RecordType::kWrite: {
      const auto data = mtr.Data(rec);
      if (rec.offset + data.size() > ps) {
        return WithContext(absl::DataLossError("runs past the page end"), mtr, rec);
      }
      std::memcpy(page.data() + rec.offset, data.data(), data.size());
      return absl::OkStatus();
    }
    case RecordType::kMemset: {
      const auto pattern = mtr.Data(rec);
      if (rec.offset + rec.length > ps || pattern.empty()) {
        return WithContext(absl::DataLossError("runs past the page end"), mtr, rec);
      }
      if (pattern.size() == 1) {
        std::memset(page.data() + rec.offset, pattern[0], rec.length);
      } else {
        for (size_t i = 0; i < rec.length; ++i) {
          page[rec.offset + i] = pattern[i % pattern.size()];
        }
      }
      return absl::OkStatus();
    }
    case RecordType::kMemmove:
      if (rec.offset + rec.length > ps || rec.source + rec.length > ps) {
        return WithContext(absl::DataLossError("runs past the page end"), mtr, rec);
      }
      std::memmove(page.data() + rec.offset, page.data() + rec.source, rec.length);
      return absl::OkStatus();
    case RecordType::kExtended:
      return WithContext(ApplyExtended(mtr, rec, page), mtr, rec);
    case RecordType::kFreePage:
    case RecordType::kOption:
      return absl::OkStatus();
    default:
      return WithContext(absl::InvalidArgumentError("not a page record"), mtr, rec);
  }
}

void StampPageLsn(std::span<uint8_t> page, Lsn end_lsn) {
  WriteBe64(page.data() + kFilPageLsn, end_lsn.value());
  WriteBe64(page.data() + page.size() - 8, end_lsn.value());
}

Lsn PageLsn(std::span<const uint8_t> page) { return Lsn(ReadBe64(page.data() + kFilPageLsn)); }

}  // namespace pageserver::redo
