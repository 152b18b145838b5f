#include "redo/page_checksum.h"

#include <algorithm>
#include <cstring>

#include "common/byte_order.h"
#include "common/crc32c.h"
#include "redo/page_format.h"

namespace pageserver::redo {
namespace {

bool AllZero(std::span<const uint8_t> page) {
  return std::all_of(page.begin(), page.end(), [](uint8_t b) { return b == 0; });
}

// Pages whose bytes 0..3 / 26..33 carry data and are not zeroed at flush: page 0 of every
// tablespace (FSP header) and the TRX_SYS page of the system tablespace.
bool KeepsHeaderBytes(PageId id) {
  return id.page.value() == 0 || (id.space == kSystemSpaceId && id.page.value() == 5);
}

// The legacy FIL_PAGE_TYPE check buf_flush_init_for_writing applies to crc32 16 KiB pages.
void FixPageType(std::span<uint8_t> page, PageId id) {
  const uint32_t page_no = id.page.value();
  uint16_t type = ReadBe16(page.data() + kFilPageType);
  uint16_t expected = 0;
  if (page_no % 16384 == 0) {
    expected = page_no == 0 ? 8 : 9;  // FSP_HDR or XDES
  } else if (page_no % 16384 == 1) {
    expected = 5;  // IBUF_BITMAP
  } else if (id.space == kSystemSpaceId && page_no == 5) {
    expected = 7;  // TRX_SYS
  }
  if (expected) {
    if (type != expected) WriteBe16(page.data() + kFilPageType, expected);
    return;
  }
  switch (type) {
    case kFilPageTypeIndex:
    case kFilPageTypeInstant:
    case kFilPageTypeRtree:
    case 2:
    case 3:
    case 4:
    case 0:
    case 6:
    case 7:
    case 10:
    case 11:
    case 12:
      return;
    default:
      WriteBe16(page.data() + kFilPageType, 13);  // FIL_PAGE_TYPE_UNKNOWN
  }
}

}  // namespace

uint32_t Crc32PageChecksum(std::span<const uint8_t> page) {
  const size_t ps = page.size();
  return Crc32c(0, page.data() + kFilPageOffset, kFilPageFileFlushLsn - kFilPageOffset) ^
         Crc32c(0, page.data() + kFilPageData, ps - kFilPageData - kFilPageEndLsnOldChecksum);
}

void PrepareForWrite(std::span<uint8_t> page, PageId id, bool full_crc32) {
  if (AllZero(page)) return;
  uint8_t* p = page.data();
  const size_t ps = page.size();
  if (full_crc32) {
    if (!KeepsHeaderBytes(id)) std::memset(p, 0, 4);
    std::memcpy(p + ps - 8, p + kFilPageLsn + 4, 4);
    WriteBe32(p + ps - 4, Crc32c(0, p, ps - 4));
    return;
  }
  std::memcpy(p + ps - 8, p + kFilPageLsn, 8);
  if (ps == 16384) FixPageType(page, id);
  if (!KeepsHeaderBytes(id)) std::memset(p + kFilPageFileFlushLsn, 0, 8);
  const uint32_t checksum = Crc32PageChecksum(page);
  WriteBe32(p, checksum);
  WriteBe32(p + ps - 8, checksum);
}

bool PageChecksumValid(std::span<const uint8_t> page, bool full_crc32) {
  if (AllZero(page)) return true;
  const uint8_t* p = page.data();
  const size_t ps = page.size();
  if (full_crc32) return Crc32c(0, p, ps - 4) == ReadBe32(p + ps - 4);
  const uint32_t checksum = Crc32PageChecksum(page);
  return ReadBe32(p) == checksum && ReadBe32(p + ps - 8) == checksum &&
         std::memcmp(p + ps - 4, p + kFilPageLsn + 4, 4) == 0;
}

}  // namespace pageserver::redo
