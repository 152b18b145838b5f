// ScanLogPipelined: wal::ScanLog on a background thread, so that decoding (framing, CRC, record
// parsing) overlaps with applying on the caller's thread, and the decoder can announce the pages
// it is about to need (`on_decoded`, e.g. to start reading them) while the applier is still
// behind. Mini-transactions reach `on_mtr` in LSN order, on the calling thread.
//
// Threads: `on_decoded` runs on the decoder thread, `on_mtr` on the caller's; they must not share
// unsynchronised state. An error from `on_mtr` stops the decoder and is returned.
#pragma once

#include <functional>
#include <optional>

#include "absl/status/statusor.h"
#include "wal/log_file.h"

namespace pageserver::replay {

absl::StatusOr<wal::ScanEnd> ScanLogPipelined(
    const wal::LogFile& log, Lsn from_lsn, std::optional<Lsn> to_lsn,
    const std::function<void(const wal::Mtr&)>& on_decoded,
    const std::function<absl::Status(const wal::Mtr&)>& on_mtr);

}  // namespace pageserver::replay
