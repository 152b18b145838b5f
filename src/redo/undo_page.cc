#include "redo/undo_page.h"

#include "absl/strings/str_cat.h"
#include "redo/page_format.h"
#include "redo/page_view.h"

namespace pageserver::redo {

void InitUndoPage(std::span<uint8_t> page) {
  PageView v(page);
  v.Set16(kFilPageType, kFilPageTypeUndoLog);
  v.Set16(kUndoPageType, 0);
  v.Set16(kUndoPageStart, kUndoSegHdr);
  v.Set16(kUndoPageFree, kUndoSegHdr);
  // The page list node: no previous, no next page.
  v.Fill(kUndoPageNode, 0xFF, 4);
  v.Set16(kUndoPageNode + 4, 0);
  v.Fill(kUndoPageNode + 6, 0xFF, 4);
  v.Set16(kUndoPageNode + 10, 0);
  // The segment header (56..85) is kept: it is written by separate records.
  v.Fill(kUndoSegHdrEnd, 0, v.size() - kFilPageEndLsnOldChecksum - kUndoSegHdrEnd);
}

absl::Status AppendUndoRecord(std::span<uint8_t> page, std::span<const uint8_t> undo_record) {
  PageView v(page);
  const uint32_t free = v.U16(kUndoPageFree);
  const uint64_t n = undo_record.size();
  if (free < kUndoSegHdr || free + n + 6 >= v.size() - kFilPageEndLsnOldChecksum) {
    return absl::DataLossError(
        absl::StrCat("UNDO_APPEND of ", n, " bytes does not fit: TRX_UNDO_PAGE_FREE is ", free));
  }
  const uint16_t new_free = static_cast<uint16_t>(free + n + 4);
  v.Set16(kUndoPageFree, new_free);
  v.Set16(free, new_free);
  v.Copy(free + 2, undo_record.data(), static_cast<int64_t>(n));
  v.Set16(free + 2 + n, static_cast<uint16_t>(free));
  return absl::OkStatus();
}

}  // namespace pageserver::redo
