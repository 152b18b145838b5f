// Test-only: turns an MtrBuilder's records into a decoded wal::Mtr (as the decoder would deliver
// it) and applies them to one page frame with ApplyRecord, so redo tests exercise the same path
// as replay: decoder -> Record -> applier.
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/status_macros.h"
#include "redo/page_applier.h"
#include "wal/mtr_decoder.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::redo::testing {

using wal::testing::Bytes;
using wal::testing::MtrBuilder;

inline constexpr Lsn kMtrLsn(100000);

// A 16 KiB page filled with a recognisable pattern, so that untouched bytes can be checked.
inline std::vector<uint8_t> PatternPage(uint8_t mul = 7, uint8_t add = 3) {
  std::vector<uint8_t> page(16384);
  for (size_t i = 0; i < page.size(); ++i) page[i] = static_cast<uint8_t>(i * mul + add);
  return page;
}

inline absl::StatusOr<wal::Mtr> MakeMtr(const MtrBuilder& b, Lsn start = kMtrLsn,
                                        uint32_t page_size = 16384) {
  wal::Mtr mtr;
  mtr.start_lsn = start;
  mtr.end_lsn = start + (b.body().size() + 5);
  mtr.body = b.body();
  RETURN_IF_ERROR(wal::ParseMtrBody(mtr.body, start, page_size, &mtr));
  return mtr;
}

// Applies every record of `b` to `page` (the records must all be for that page).
inline absl::Status ApplyMtr(const MtrBuilder& b, std::span<uint8_t> page, Lsn start = kMtrLsn) {
  ASSIGN_OR_RETURN(wal::Mtr mtr, MakeMtr(b, start, static_cast<uint32_t>(page.size())));
  for (const wal::Record& rec : mtr.records) RETURN_IF_ERROR(ApplyRecord(mtr, rec, page));
  return absl::OkStatus();
}

}  // namespace pageserver::redo::testing
