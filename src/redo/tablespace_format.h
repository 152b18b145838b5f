// What a tablespace's FSP_SPACE_FLAGS (page 0, offset 54) and page 0 say about how its pages are
// written: the checksum format (full_crc32 or crc32) and the page size, and whether the
// tablespace uses a feature this version cannot rebuild (page_compressed, ROW_FORMAT=COMPRESSED,
// encryption, a page size other than 16 KiB). Pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/statusor.h"
#include "common/types.h"

namespace pageserver::redo {

inline constexpr uint32_t kSupportedPageSize = 16384;

struct TablespaceFormat {
  bool full_crc32 = true;
  uint32_t page_size = kSupportedPageSize;
};

// Decodes FSP_SPACE_FLAGS. Unsupported features are FailedPrecondition, naming the tablespace.
absl::StatusOr<TablespaceFormat> ParseSpaceFlags(uint32_t flags, SpaceId space);

// Reads the flags from page 0 and checks for encryption metadata (crypt data with an encrypting
// scheme). `page0` must be a whole page.
absl::StatusOr<TablespaceFormat> ReadTablespaceFormat(std::span<const uint8_t> page0,
                                                      SpaceId space);

}  // namespace pageserver::redo
