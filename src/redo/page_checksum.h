// The bytes MariaDB writes for a page: the flush-time transformation of buf_flush_init_for_writing
// / buf_page_t::flush (zeroing of unused header bytes, trailer LSN, checksum) for the full_crc32
// and crc32 formats, and the matching validation of pages read from data files. Pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "common/types.h"

namespace pageserver::redo {

// Turns an in-memory page frame into its on-disk image, in place (MariaDB does it in the frame
// too). A never-initialised page (all zero) is left alone.
void PrepareForWrite(std::span<uint8_t> page, PageId id, bool full_crc32);

// True when `page` is all zero or carries a valid checksum of the given format.
bool PageChecksumValid(std::span<const uint8_t> page, bool full_crc32);

uint32_t Crc32PageChecksum(std::span<const uint8_t> page);

}  // namespace pageserver::redo
