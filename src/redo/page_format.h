// Byte offsets and constants of InnoDB's uncompressed page format (fil0fil.h, fsp0fsp.h,
// page0page.h, rem0rec.h, trx0undo.h), as far as redo apply and page stamping need them.
#pragma once

#include <cstdint>

namespace pageserver::redo {

// File page header and trailer.
inline constexpr uint32_t kFilPageSpaceOrChecksum = 0;
inline constexpr uint32_t kFilPageOffset = 4;
inline constexpr uint32_t kFilPagePrev = 8;
inline constexpr uint32_t kFilPageNext = 12;
inline constexpr uint32_t kFilPageLsn = 16;
inline constexpr uint32_t kFilPageType = 24;
inline constexpr uint32_t kFilPageFileFlushLsn = 26;
inline constexpr uint32_t kFilPageSpaceId = 34;
inline constexpr uint32_t kFilPageData = 38;
inline constexpr uint32_t kFilPageEndLsnOldChecksum = 8;  // trailer size, from the page end

// Page types.
inline constexpr uint16_t kFilPageTypeIndex = 17855;
inline constexpr uint16_t kFilPageTypeRtree = 17854;
inline constexpr uint16_t kFilPageTypeInstant = 18;
inline constexpr uint16_t kFilPageTypeUndoLog = 2;

// FSP header on page 0.
inline constexpr uint32_t kFspSpaceId = 38;
inline constexpr uint32_t kFspSize = 46;
inline constexpr uint32_t kFspSpaceFlags = 54;

// Index page header (PAGE_HEADER = 38).
inline constexpr uint32_t kPageNDirSlots = 38;
inline constexpr uint32_t kPageHeapTop = 40;
inline constexpr uint32_t kPageNHeap = 42;
inline constexpr uint32_t kPageFree = 44;
inline constexpr uint32_t kPageGarbage = 46;
inline constexpr uint32_t kPageLastInsert = 48;
inline constexpr uint32_t kPageDirectionByte = 51;  // low 3 bits of PAGE_INSTANT
inline constexpr uint32_t kPageNDirection = 52;
inline constexpr uint32_t kPageNRecs = 54;
inline constexpr uint32_t kPageLevel = 64;
inline constexpr uint32_t kPageData = 94;
inline constexpr uint32_t kPageDirOffsetFromEnd = 10;  // slot 0 at page_size - 10 (8 + 2)

inline constexpr uint8_t kPageLeft = 1;
inline constexpr uint8_t kPageRight = 2;
inline constexpr uint8_t kPageNoDirection = 5;

inline constexpr uint32_t kRedundantInfimum = 101;
inline constexpr uint32_t kRedundantSupremum = 116;
inline constexpr uint32_t kRedundantSupremumEnd = 125;
inline constexpr uint32_t kCompactInfimum = 99;
inline constexpr uint32_t kCompactSupremum = 112;
inline constexpr uint32_t kCompactSupremumEnd = 120;
inline constexpr uint32_t kRedundantExtraBytes = 6;  // REC_N_OLD_EXTRA_BYTES
inline constexpr uint32_t kCompactExtraBytes = 5;    // REC_N_NEW_EXTRA_BYTES

inline constexpr uint32_t kDirSlotMaxOwned = 8;
inline constexpr uint32_t kDirSlotMinOwned = 4;

// Undo log page header (TRX_UNDO_PAGE_HDR = 38) and segment header.
inline constexpr uint32_t kUndoPageType = 38;
inline constexpr uint32_t kUndoPageStart = 40;
inline constexpr uint32_t kUndoPageFree = 42;
inline constexpr uint32_t kUndoPageNode = 44;
inline constexpr uint32_t kUndoSegHdr = 56;
inline constexpr uint32_t kUndoSegHdrEnd = 86;

// FSP_SPACE_FLAGS.
inline constexpr uint32_t kFlagsFullCrc32Marker = 0x10;

}  // namespace pageserver::redo
