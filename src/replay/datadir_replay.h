// Offline replay: rebuilds a datadir's InnoDB files at a later LSN from a base datadir and a redo
// log, as MariaDB's crash recovery would, but writing to a separate output tree.
//
// Rule: replay starts at the checkpoint LSN of the base datadir's own ib_logfile0 (every page
// change before it is in the base files), and applies whole mini-transactions in LSN order up to
// the last one that ends at or before `to_lsn` (default: the end of the valid log). A page
// snippet is skipped when the page already carries a newer FIL_PAGE_LSN, unless it starts with
// INIT_PAGE or FREE_PAGE (MariaDB's recovery rule). The log must contain the FILE_CHECKPOINT
// record of the base's checkpoint, which proves it continues the base's log.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/types.h"

namespace pageserver::replay {

struct ReplayOptions {
  std::string base_dir;
  std::string log_path;
  std::string out_dir;  // must not exist, or be empty
  // Apply to the base datadir's own files instead of a copy, as mariadb-backup --prepare does.
  // The base's ib_logfile0 is left alone.
  bool in_place = false;
  std::optional<Lsn> to_lsn;
  size_t max_cached_pages = 65536;  // 1 GiB of 16 KiB frames
  // Threads applying records side by side, each owning a share of the tablespaces.
  size_t appliers = 2;
};

struct ReplaySummary {
  Lsn start_lsn;
  Lsn end_lsn;
  std::string end_reason;
  uint64_t mtrs = 0;
  uint64_t records = 0;
  uint64_t snippets_skipped = 0;
  uint64_t log_bytes = 0;
  uint64_t pages_written = 0;
  std::map<std::string, uint64_t> file_ops;  // FILE_CREATE etc. -> count
  std::vector<PageId> freed_pages;
  double seconds = 0;
};

absl::StatusOr<ReplaySummary> ReplayDatadir(const ReplayOptions& options);

}  // namespace pageserver::replay
