// The ib_logfile0 a compute's mariadbd starts on: a log in MariaDB 10.8+'s format whose latest
// checkpoint is the page server's last LSN, so that InnoDB finds nothing to recover.
//
// Its shape is that of a checkpoint MariaDB writes (spec 1.3): the header (first_lsn = L),
// checkpoint block 0 with checkpoint_lsn = end_lsn = L, and at L one mini-transaction of
// FILE_MODIFY records, one per .ibd tablespace, and FILE_CHECKPOINT(L), then a 0x00 byte (the end
// of the log). The rest of the file is a hole. The FILE_MODIFY records make InnoDB's startup load
// every tablespace, as its crash recovery loads those the redo since its checkpoint names, so
// that rolling back an interrupted CREATE or ALTER finds the files it must drop or rename
// (without them, a table whose CREATE was cut short could never be created again: "Tablespace
// already exists"). The mini-transaction is redo like any other: the compute ships it to the page
// server before mariadbd starts, so that the server's redo and the log stay one sequence of bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/types.h"

namespace pageserver::compute {

struct TablespaceFile {
  SpaceId space;
  std::string path;  // relative to the datadir: "db/t.ibd"
};

// The checkpoint mini-transaction written at `checkpoint` on the log's first pass: FILE_MODIFY
// for each of `files`, then FILE_CHECKPOINT(checkpoint). InvalidArgument when the records reach
// MariaDB's 1 MiB limit of a mini-transaction.
absl::StatusOr<std::vector<uint8_t>> CheckpointMtr(Lsn checkpoint,
                                                   std::span<const TablespaceFile> files);
// FILE_CHECKPOINT alone (16 bytes).
std::vector<uint8_t> FileCheckpointMtr(Lsn checkpoint);

// Creates (replacing) `path`: a `file_size`-byte log as above, `mtr` at `checkpoint`.
// `file_size` - 12288 is the capacity; it must hold two blocks past the mini-transaction.
absl::Status WriteStartingLog(const std::string& path, uint64_t file_size, Lsn checkpoint,
                              std::span<const uint8_t> mtr);

}  // namespace pageserver::compute
