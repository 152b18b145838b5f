// MariadbdProcess: the stock mariadbd a compute runs, as a child process. It dies with the
// compute (PR_SET_PDEATHSIG: a kill -9 of the compute leaves no mariadbd writing into a dead
// mount), and is shut down cleanly with SIGTERM.
//
// Thread-safety: none; the compute's main thread owns it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pageserver::compute {

class MariadbdProcess {
 public:
  // Starts `argv` (argv[0] is looked up in PATH); its stdout and stderr go to `output_path`.
  // `nice`: the child's nice value (the caller's own may have been changed for its threads).
  static absl::StatusOr<MariadbdProcess> Start(const std::vector<std::string>& argv,
                                               const std::string& output_path, int nice);

  // Waits until SQL is accepted on `socket` by this mariadbd (a connection as root succeeds and
  // the server's @@datadir is `datadir`), mariadbd exits (FailedPrecondition, with the end of
  // `error_log`), or `timeout` passes. Another server answering on the socket is an error.
  absl::Status WaitReady(const std::string& socket, const std::string& datadir,
                         const std::string& error_log, absl::Duration timeout);

  // Whether it has exited (reaps it); `status` is its wait status then.
  bool Exited(int* status);
  // SIGTERM (a clean shutdown) and waits for the exit; returns the wait status.
  int Stop();

  pid_t pid() const { return pid_; }

 private:
  explicit MariadbdProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

// The last `lines` lines of a text file (for error messages).
std::string TailOfFile(const std::string& path, int lines);

}  // namespace pageserver::compute
