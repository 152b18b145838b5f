// ReconstructPage: a page at an LSN from the newest stored image at or below it and the record
// snippets after that image (the GetPage@LSN core). Rules, as MariaDB's recovery applies them:
//   - snippets are applied in LSN order; one whose page already carries a newer FIL_PAGE_LSN is
//     skipped unless it starts with INIT_PAGE or FREE_PAGE;
//   - after a snippet that changed bytes, FIL_PAGE_LSN = the snippet's end LSN;
//   - FREE_PAGE leaves the page free until a later INIT_PAGE. MariaDB never writes a free page,
//     so its file keeps an older image; the frame keeps the last image before the free (stamped
//     like any other), which is what the server hands out, flagged free.
// The result is the in-memory frame; turning it into the file image (checksum) is the caller's,
// who knows the tablespace's format. Pure function.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "common/types.h"

namespace pageserver::storage {

struct ReconstructResult {
  bool freed = false;    // the page is free at the requested LSN
  uint64_t applied = 0;  // snippets applied
  uint64_t skipped = 0;  // snippets skipped by the FIL_PAGE_LSN rule
};

// `frame` holds the starting image (all zero when the history starts with a fresh snippet) and
// receives the result. `snippets` are encoded PageSnippets in ascending LSN order.
absl::Status ReconstructPage(PageId id, std::span<uint8_t> frame,
                             std::span<const std::vector<uint8_t>> snippets,
                             ReconstructResult* result);

}  // namespace pageserver::storage
