// Applies decoded redo records to one page frame: the physical records (INIT_PAGE, WRITE,
// MEMSET, MEMMOVE) and the EXTENDED records for index and undo pages. FREE_PAGE and TRIM_PAGES
// change no bytes: they end a page's (or a tablespace's) life, which the caller tracks.
//
// Pure functions, no I/O, no state: safe from any thread. Errors are DataLoss naming the LSN of
// the mini-transaction, the page and the record; the frame may be partly modified then.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "common/types.h"
#include "wal/record.h"

namespace pageserver::redo {

// Applies one page record of `mtr` to `page` (the frame of rec.page).
absl::Status ApplyRecord(const wal::Mtr& mtr, const wal::Record& rec, std::span<uint8_t> page);

// True for records that change page bytes (everything but FREE_PAGE, TRIM_PAGES, OPTION and file
// records); after one of them the page's FIL_PAGE_LSN becomes the mini-transaction's end LSN.
bool ChangesPageBytes(const wal::Record& rec);

// Sets FIL_PAGE_LSN (and, as recovery does, the trailer's LSN field) to `end_lsn`.
void StampPageLsn(std::span<uint8_t> page, Lsn end_lsn);
Lsn PageLsn(std::span<const uint8_t> page);

}  // namespace pageserver::redo
