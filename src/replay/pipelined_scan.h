// ScanLogPipelined: wal::ScanLog on a background thread whose mini-transactions are delivered, in
// LSN order, to every one of several consumers, each on its own thread (consumer 0 on the
// calling thread). Decoding (framing, CRC, record parsing) thus overlaps with applying, and
// appliers that own disjoint sets of pages can work side by side. `on_decoded` runs on the
// decoder thread before any consumer sees the mini-transaction: it may announce the pages about
// to be needed, or refuse the mini-transaction (stopping the scan with its error).
//
// Threads: the callbacks must not share unsynchronised state. A consumer's error stops the
// decoder; every consumer still receives every mini-transaction already decoded (so that any
// rendezvous between consumers completes; a failed consumer should skip its work) and the first
// error is returned.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "wal/log_file.h"

namespace pageserver::replay {

using MtrConsumer = std::function<absl::Status(const wal::Mtr&)>;

absl::StatusOr<wal::ScanEnd> ScanLogPipelined(
    const wal::LogFile& log, Lsn from_lsn, std::optional<Lsn> to_lsn,
    const std::function<absl::Status(const wal::Mtr&)>& on_decoded,
    const std::vector<MtrConsumer>& consumers);

}  // namespace pageserver::replay
