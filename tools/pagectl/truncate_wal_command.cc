// pagectl truncate-wal --server HOST:PORT --lsn L
// Drops the server's stored redo after LSN L, for a tail found not to be MariaDB's redo (the
// follower stops with "the server holds redo MariaDB did not write" and names the LSNs). L must
// be a mini-transaction boundary above the server's disk_consistent_lsn; the server refuses
// anything else, naming the boundaries around L.
#include <iostream>

#include "absl/strings/str_format.h"
#include "tools/pagectl/commands.h"
#include "tools/pagectl/server_flags.h"

namespace pageserver::pagectl {

void RegisterTruncateWal(CLI::App& app, int& exit_code) {
  struct Options {
    ServerFlags server;
    uint64_t lsn = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("truncate-wal", "Drop the server's stored redo after an LSN (its tail)");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--lsn", o->lsn, "the LSN to keep the redo up to (a mini-transaction boundary)")
      ->required();
  cmd->callback([o, &exit_code] {
    auto client = ConnectToServer(o->server);
    absl::StatusOr<Lsn> at =
        client.ok() ? (*client)->TruncateWal(Lsn(o->lsn)) : absl::StatusOr<Lsn>(client.status());
    if (!at.ok()) {
      std::cerr << "pagectl truncate-wal: " << at.status().message() << "\n";
      exit_code = 1;
      return;
    }
    std::cout << absl::StrFormat("the server's redo now ends at LSN %d\n", at->value());
  });
}

}  // namespace pageserver::pagectl
