// Appliers for the EXTENDED records that change B-tree and R-tree index pages (page0cur.cc's
// page_apply_* and page_create_low, re-derived from the format): empty-page creation, insert on
// the heap or into a freed record, and delete, for ROW_FORMAT=REDUNDANT ("old-style") and
// COMPACT/DYNAMIC ("comp") pages. Each one reproduces MariaDB's byte-level bookkeeping exactly:
// page header counters, the free list, the record directory's slot split and balance.
//
// Pure functions on a page frame. A payload or page that does not add up returns DataLoss; the
// frame may then be partly modified, so callers that must not alter stored data apply to a copy.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"

namespace pageserver::redo {

void InitIndexPage(std::span<uint8_t> page, bool comp);

// `payload`: the EXTENDED record's bytes after the subtype byte.
absl::Status ApplyInsert(std::span<uint8_t> page, bool comp, bool reuse,
                         std::span<const uint8_t> payload);
absl::Status ApplyDelete(std::span<uint8_t> page, bool comp, std::span<const uint8_t> payload);

}  // namespace pageserver::redo
