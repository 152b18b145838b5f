// A compute: a stock mariadbd whose storage is the page server (docs/compute.md).
//
// Start: take the database's writer lease (fencing any earlier compute), build the shadow
// directory (tablespace placeholders from the server's catalog, the aux files, a log whose
// checkpoint is the server's LSN), ship that log's FILE_CHECKPOINT mini-transaction, mount the
// filesystem at WORKDIR/data, start mariadbd on it, and print a line with "ready" once SQL is
// accepted. Stop (SIGTERM or SIGINT): shut mariadbd down cleanly, unmount. The workdir holds
// nothing that must survive.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "auth/tls.h"

namespace pageserver::compute {

struct ComputeOptions {
  std::string server;   // HOST:PORT of the page server's gRPC port
  std::string timeline;  // the timeline it runs on; empty: main
  std::string token;     // a compute token of that timeline, when the server has auth on
  auth::TlsFiles tls;    // when the server has TLS on (client::Options::tls)
  // mariadbd with --innodb-read-only: for a point in the past (its timeline is then an ephemeral
  // branch). Its starting log holds FILE_CHECKPOINT alone, since read-only InnoDB refuses a log
  // with anything to recover.
  bool read_only = false;
  std::string workdir;  // created if absent; emptied of an earlier compute's files
  std::string socket;   // mariadbd's socket
  int port = 0;         // mariadbd's TCP port; 0: no networking
  std::vector<std::string> mariadbd_options;  // appended to the compute's own
  std::string mariadbd = "mariadbd";
  uint64_t log_file_bytes = uint64_t{256} << 20;
  bool verify_writes = false;  // compare every page mariadbd writes with the server's
  // Added to the compute's nice value (its threads only; mariadbd keeps the caller's). Every log
  // fsync waits on the compute's threads (FUSE, then shipping): on a busy machine their wake-ups
  // queue behind mariadbd's and the client's threads unless they come first. 0: unchanged.
  int io_nice = -10;
  absl::Duration server_wait = absl::Seconds(60);      // for the server when starting
  absl::Duration server_patience = absl::Seconds(120);  // for the server while running
  absl::Duration start_timeout = absl::Seconds(300);   // for mariadbd to accept SQL
};

// Runs until stopped; the process exit code (0 after a clean stop). Progress and errors on
// stdout / stderr.
int RunCompute(const ComputeOptions& options);

}  // namespace pageserver::compute
