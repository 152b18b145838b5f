// The ib_logfile0 a compute's mariadbd starts on: a log in MariaDB 10.8+'s format whose latest
// checkpoint is the page server's last LSN, so that InnoDB finds nothing to recover.
//
// Its shape is that of a clean shutdown (spec 1.3): the header (first_lsn = L), checkpoint block
// 0 with checkpoint_lsn = end_lsn = L, and at L one FILE_CHECKPOINT(L) mini-transaction, then a
// 0x00 byte (the end of the log). The rest of the file is a hole. The FILE_CHECKPOINT
// mini-transaction is redo like any other: the compute ships it to the page server before
// mariadbd starts, so that the server's redo and the log stay one sequence of bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/types.h"

namespace pageserver::compute {

// The 16 bytes of FILE_CHECKPOINT(checkpoint) written at `checkpoint` on the log's first pass.
std::vector<uint8_t> FileCheckpointMtr(Lsn checkpoint);

// Creates (replacing) `path`: a `file_size`-byte log as above. `file_size` - 12288 is the
// capacity; it must hold at least one block past the FILE_CHECKPOINT mini-transaction.
absl::Status WriteStartingLog(const std::string& path, uint64_t file_size, Lsn checkpoint);

}  // namespace pageserver::compute
