// Restoring a timeline from remote storage alone (issue 10): a page server whose data directory
// is empty and whose bucket holds a timeline serves every page at every LSN the bucket covers.
//
// What is restored, from the newest index (the highest generation below this node's, then the
// highest LSN; remote_layout.h): the local manifest (its layer files are downloaded when the
// timeline opens them, and evicted again under a disk budget: layer_file.h), the aux file versions
// and the newest writer lease grant; and the plan of the WAL after the index's disk_consistent_lsn,
// which the timeline then ingests as it would from a writer (remote_timeline_client.h says how
// chunks are uploaded).
//
// The WAL plan. Chunks apply in (generation, seq) order, each one the log's tail as it was when
// it was uploaded: a chunk starting inside the log so far replaces everything from its start on
// (a truncation, or a newer node that went on from an older point); one starting past the end,
// or before the start, begins the log anew (the chunks in between were deleted). The restore
// uses the plan only if it covers the index's LSN; otherwise it stops at the index.
//
// Crash rule: the local manifest is written last. Until then the directory holds no timeline
// (Timeline::Open removes what a crashed restore left, and a restart restores again).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "remote/remote_storage.h"
#include "storage/remote_index.h"
#include "storage/remote_layout.h"

namespace pageserver::storage {

// Bytes [start, end) of the log, held by `key` from byte `offset` on.
struct WalPiece {
  std::string key;
  Lsn start;
  Lsn end;
  uint64_t offset = 0;
};

// The log the chunks describe, as contiguous pieces (see above).
std::vector<WalPiece> PlanWal(const std::vector<WalChunkName>& chunks);
// The part of `log` from `lsn` on; nullopt when the log does not cover `lsn`.
std::optional<std::vector<WalPiece>> WalFrom(const std::vector<WalPiece>& log, Lsn lsn);

// The newest generation whose object holds layer `name`; NotFound when none does.
absl::StatusOr<Generation> FindLayerGeneration(remote::RemoteStorage& remote,
                                               const std::string& prefix, const std::string& name);
// Downloads layer `name` to `path` (atomically, durably): the object of generation `gen`, or,
// without one, of the newest generation that stored it.
absl::Status DownloadLayerFile(remote::RemoteStorage& remote, const std::string& prefix,
                               const std::string& name, std::optional<Generation> gen,
                               const std::string& path);

struct RestoredTimeline {
  RemoteIndex index;
  std::vector<WalPiece> wal;  // to ingest, from index.manifest.disk_consistent_lsn on
  Lsn wal_end;                // where the plan ends (the index's LSN without WAL)
  uint32_t aux_files = 0;
};

// Writes the newest index's timeline into `dir`, which must hold no manifest; nullopt when the
// bucket holds no index of a generation up to `at_most`. Shows its progress on stderr.
absl::StatusOr<std::optional<RestoredTimeline>> RestoreTimelineFiles(remote::RemoteStorage& remote,
                                                                     const std::string& prefix,
                                                                     const std::string& dir,
                                                                     Generation at_most);

}  // namespace pageserver::storage
