// MtrDecoder turns a byte stream of redo log, starting at a known mini-transaction boundary, into
// mini-transactions. Bytes may arrive in chunks split anywhere (inside a record, inside the CRC);
// the decoder keeps what it has not consumed yet.
//
// Rule (as MariaDB's recovery scan, log0recv.cc recv_sys_t::parse): a mini-transaction is
// accepted only if it starts exactly where the previous one ended, its length fields lead to a
// terminator byte equal to the sequence bit of the terminator's LSN, and the CRC-32C of its
// record bytes matches. Anything else is the end of the valid log: we never resynchronise by
// searching forward, because the bytes after the end can be stale copies of older, well-formed
// mini-transactions.
//
// Outcomes of Next():
//   - true:  one mini-transaction decoded into *out;
//   - false: the bytes so far are a valid prefix; feed more (a file reader that has no more bytes
//            treats this as the end of log, "premature end");
//   - OutOfRange: the bytes at the current LSN are not a valid mini-transaction: end of log.
//            The message names the LSN and the reason. The decoder stays at that LSN.
//   - DataLoss: the mini-transaction's framing and CRC are valid but a record inside is
//            malformed: corruption, never end of log. The message names the LSN and the record.
//
// Not thread-safe; one decoder per stream.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "wal/log_geometry.h"
#include "wal/record.h"

namespace pageserver::wal {

inline constexpr size_t kMtrSizeMax = 1 << 20;  // MariaDB's MTR_SIZE_MAX

struct MtrDecoderOptions {
  // The page size the log was written for; bounds page offsets.
  uint32_t page_size = 16384;
  // When set, terminator bytes must equal the sequence bit of their LSN in this file geometry.
  // When unset (bytes relayed from a file whose geometry the receiver does not know), either
  // terminator value is accepted and the CRC alone decides.
  std::optional<LogGeometry> geometry;
};

class MtrDecoder {
 public:
  MtrDecoder(Lsn start_lsn, MtrDecoderOptions options);

  // Appends bytes that follow everything fed so far.
  void Feed(std::span<const uint8_t> bytes);
  // Zero-copy feeding: PrepareFeed(n) returns room for n bytes; CommitFeed(n) makes them part of
  // the stream once written.
  uint8_t* PrepareFeed(size_t n);
  void CommitFeed(size_t n);
  absl::StatusOr<bool> Next(Mtr* out);

  // LSN of the next mini-transaction to decode (the end of the last one returned).
  Lsn next_lsn() const { return lsn_; }
  // Bytes fed but not yet consumed.
  size_t buffered() const { return filled_ - consumed_; }

 private:
  absl::StatusOr<bool> Frame(size_t* terminator_pos);

  Lsn lsn_;
  MtrDecoderOptions options_;
  std::vector<uint8_t> buffer_;
  size_t filled_ = 0;       // bytes of buffer_ that hold stream data
  size_t consumed_ = 0;     // bytes of buffer_ before lsn_
  size_t scan_offset_ = 0;  // record boundary reached so far inside the current mtr
};

// Decodes the records of one mini-transaction body (for tests and fuzzing of the record layer).
absl::Status ParseMtrBody(std::span<const uint8_t> body, Lsn start_lsn, uint32_t page_size,
                          Mtr* out);

}  // namespace pageserver::wal
