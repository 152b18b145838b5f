// PageSnippet: the records one mini-transaction made to one page, as the storage layer keeps
// them (the value stored under (page, end LSN) in in-memory and delta layers). A snippet is
// self-contained: it carries the mini-transaction's start and end LSN (the skip rule and
// FIL_PAGE_LSN need both) and each record's decoded fields and payload, so reconstructing a page
// never needs the rest of the mini-transaction. Format: docs/page_snippet_format.md.
//
// Pure functions; a decoded snippet is an ordinary wal::Mtr holding only that page's records.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "wal/record.h"

namespace pageserver::storage {

// Encodes the records of `mtr` that concern `page`, in log order. FILE_* records never belong
// to a page; TRIM_PAGES is a tablespace event and is not part of any snippet.
std::vector<uint8_t> EncodeSnippet(const wal::Mtr& mtr, PageId page);
// The same into `out` (cleared first), so that a caller can reuse one buffer.
void EncodeSnippetTo(const wal::Mtr& mtr, PageId page, std::vector<uint8_t>* out);
// The same for a caller that knows which records (indexes into mtr.records, ascending) are the
// page's; it must list exactly those.
void EncodeSnippetRecords(const wal::Mtr& mtr, PageId page, std::span<const uint32_t> records,
                          std::vector<uint8_t>* out);

// Decodes a snippet for `page`. Bytes that do not describe records inside a page of
// `page_size` bytes are DataLoss, naming the page and the snippet's LSN.
absl::StatusOr<wal::Mtr> DecodeSnippet(std::span<const uint8_t> bytes, PageId page,
                                       uint32_t page_size = 16384);

// Whether the snippet is exempt from the FIL_PAGE_LSN skip rule: it starts with INIT_PAGE or
// FREE_PAGE (MariaDB's recovery does not even read the page then). Only INIT_PAGE makes the
// earlier history irrelevant: a freed page is still served as its last image before the free.
bool SnippetStartsFresh(const wal::Mtr& snippet);

}  // namespace pageserver::storage
