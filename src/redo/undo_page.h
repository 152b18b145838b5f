// Appliers for undo log pages (trx0undo.cc's page init and mtr_t::undo_append, re-derived).
// Pure functions on a page frame.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"

namespace pageserver::redo {

void InitUndoPage(std::span<uint8_t> page);
absl::Status AppendUndoRecord(std::span<uint8_t> page, std::span<const uint8_t> undo_record);

}  // namespace pageserver::redo
