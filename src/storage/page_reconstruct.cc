#include "storage/page_reconstruct.h"

#include "common/status_macros.h"
#include "redo/page_applier.h"
#include "storage/page_snippet.h"

namespace pageserver::storage {

absl::Status ReconstructPage(PageId id, std::span<uint8_t> frame,
                             std::span<const std::vector<uint8_t>> snippets,
                             ReconstructResult* result) {
  *result = {};
  for (const std::vector<uint8_t>& bytes : snippets) {
    ASSIGN_OR_RETURN(wal::Mtr snippet,
                     DecodeSnippet(bytes, id, static_cast<uint32_t>(frame.size())));
    if (!SnippetStartsFresh(snippet) && redo::PageLsn(frame) > snippet.start_lsn) {
      ++result->skipped;
      continue;
    }
    bool changed = false;
    bool freed = result->freed;
    for (const wal::Record& rec : snippet.records) {
      if (rec.type == wal::RecordType::kFreePage) {
        freed = true;
        continue;
      }
      if (rec.type == wal::RecordType::kInitPage) freed = false;
      RETURN_IF_ERROR(redo::ApplyRecord(snippet, rec, frame));
      changed = changed || redo::ChangesPageBytes(rec);
    }
    // Stamped even when the snippet ends with FREE_PAGE: a freed page is served as the last
    // image before the free, with the LSN of the last mini-transaction that changed it.
    if (changed) redo::StampPageLsn(frame, snippet.end_lsn);
    result->freed = freed;
    ++result->applied;
  }
  return absl::OkStatus();
}

}  // namespace pageserver::storage
