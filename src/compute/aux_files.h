// AuxFiles: a compute's non-InnoDB files on the page server (.frm, .par, db.opt, the Aria system
// tables and Aria's log, ddl_recovery.log, ...). Each upload is the whole file, stamped with the
// LSN the server has acknowledged at that moment (RedoShipper::StampAuxChange), so that versions
// follow the redo they go with as a crash at that moment would leave them: a DDL's redo is
// durable before MariaDB changes its files. A deletion is a version too. At start every file the
// server holds is fetched.
//
// When mariadbd's files are uploaded (ComputeFs): on fsync, on the last close after a change, on
// rename (the new name, then the old one deleted) and on unlink. The upload is synchronous: an
// fsync returns only once the server has the file.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/page_server_client.h"
#include "common/types.h"
#include "compute/redo_shipper.h"

namespace pageserver::compute {

struct FetchedAuxFiles {
  uint64_t files = 0;
  uint64_t bytes = 0;
};

class AuxFiles {
 public:
  AuxFiles(client::PageServerClient& client, RedoShipper& shipper, absl::Duration patience);

  // Writes every aux file the server holds at `lsn` below `root` (directories as needed).
  absl::StatusOr<FetchedAuxFiles> FetchAll(const std::string& root, Lsn lsn);
  // Uploads the content of open descriptor `fd` as `relative_path`.
  absl::Status Upload(const std::string& relative_path, int fd);
  absl::Status Delete(const std::string& relative_path);

  uint64_t uploads() const { return uploads_.load(); }

 private:
  client::PageServerClient& client_;
  RedoShipper& shipper_;
  const absl::Duration patience_;  // for an unreachable server (compute/server_patience.h)
  std::atomic<uint64_t> uploads_{0};
};

}  // namespace pageserver::compute
