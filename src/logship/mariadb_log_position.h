// Where a running mariadbd says its redo log is: the LSN it has written and flushed to
// ib_logfile0 (`Innodb_lsn_flushed`) and the LSN it has generated (`Innodb_lsn_current`), asked
// over its own socket with SHOW GLOBAL STATUS.
//
// Why the follower needs it: MariaDB pads the last block of every log write with stale contents
// of its log buffer (old mini-transactions with valid CRCs), and a read racing the rewrite of
// that block can be torn. Bytes below the flushed LSN are final: every later rewrite of their
// block repeats them unchanged. So the follower never reads past it (docs/follow.md).
//
// Thread-safety: none; one follower owns one. The connection is made lazily and made again after
// mariadbd went away (a restart); while it cannot be made, Position() is Unavailable.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/types.h"

namespace pageserver::logship {

struct MariadbLogPosition {
  Lsn flushed;  // Innodb_lsn_flushed: the log up to here is in the file, final
  Lsn current;  // Innodb_lsn_current: the log generated so far (>= flushed)
};

// The source of MariadbLogPosition, an interface so that tests can stand in for a mariadbd.
class LogPositionSource {
 public:
  virtual ~LogPositionSource() = default;
  // Unavailable while mariadbd cannot be asked (stopped, restarting); other errors are final.
  virtual absl::StatusOr<MariadbLogPosition> Position() = 0;
};

struct MariadbConnectOptions {
  std::string socket;
  std::string user = "root";
  std::string password;  // empty: none (unix_socket authentication)
  // The datadir the follower reads; the server behind the socket must report the same one
  // (@@datadir), so that a wrong --socket cannot bound the reads of another server's log.
  std::string datadir;
};

// A LogPositionSource over a real mariadbd's socket (libmariadb).
std::unique_ptr<LogPositionSource> ConnectToMariadb(MariadbConnectOptions options);

}  // namespace pageserver::logship
