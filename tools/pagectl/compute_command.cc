// pagectl compute: a stock mariadbd whose storage is the page server (src/compute/), on main or
// on a branch (--timeline), or read-only at a point in the past (--at-lsn, --at): then on an
// ephemeral branch made over the HTTP API (--api) and deleted when the compute stops.
// pagectl init: a new, empty database on an empty page server (mariadb-install-db in a
// temporary directory, then imported with its aux files).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "absl/strings/str_format.h"
#include "client/timelines_api_client.h"
#include "compute/compute.h"
#include "tools/pagectl/commands.h"
#include "tools/pagectl/server_flags.h"

namespace pageserver::pagectl {
namespace {

struct InitOptions {
  ServerFlags server;
  std::string scratch;  // where mariadb-install-db writes (default: a new temporary directory)
  bool keep = false;
};

int RunInit(const InitOptions& o) {
  auto client = ConnectToServer(o.server);
  if (!client.ok()) {
    std::cerr << "pagectl init: " << client.status().message() << "\n";
    return 1;
  }
  auto status = (*client)->GetStatus();
  if (!status.ok()) {
    std::cerr << "pagectl init: " << status.status().message() << "\n";
    return 1;
  }
  if (status->last_record_lsn.value() != 0 || status->tablespaces != 0) {
    std::cerr << absl::StrFormat(
        "pagectl init: the page server at %s already holds a database (LSN %d); init needs "
        "an empty one\n",
        o.server.server, status->last_record_lsn.value());
    return 1;
  }
  std::string dir = o.scratch;
  if (dir.empty()) {
    std::string templ = (std::filesystem::temp_directory_path() / "pagectl-init-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) {
      std::cerr << "pagectl init: mkdtemp failed\n";
      return 1;
    }
    dir = templ;
  }
  const std::string datadir = dir + "/data";
  const std::string log = dir + "/install.log";
  std::cout << "creating a new database with mariadb-install-db in " << datadir << std::endl;
  const std::string command = absl::StrFormat(
      "mariadb-install-db --no-defaults --datadir=%s %s --auth-root-authentication-method=socket "
      "--skip-test-db > %s 2>&1",
      datadir, geteuid() == 0 ? "--user=root" : "", log);
  if (std::system(command.c_str()) != 0) {
    std::cerr << "pagectl init: mariadb-install-db failed; see " << log << "\n";
    return 1;
  }
  const int rc = RunImport(o.server, datadir, /*with_aux_files=*/true);
  if (rc == 0 && !o.keep && o.scratch.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  if (rc == 0) std::cout << "initialised: a new database is on the page server\n";
  return rc;
}

struct PastPoint {
  std::string api;  // the server's HTTP address
  uint64_t lsn = 0;
  std::string at;
  bool given() const { return lsn != 0 || !at.empty(); }
};

// A read-only compute at `past` of o.timeline, on an ephemeral branch deleted when it stops.
int RunAtPastPoint(compute::ComputeOptions o, const PastPoint& past) {
  if (past.api.empty()) {
    std::cerr << "pagectl compute: --at-lsn and --at run on an ephemeral branch made over the "
                 "server's HTTP API: give its address with --api HOST:PORT\n";
    return 1;
  }
  absl::StatusOr<std::unique_ptr<client::TimelinesApiClient>> api =
      client::TimelinesApiClient::Create(past.api, o.token, o.tls);
  if (!api.ok()) {
    std::cerr << "pagectl compute: " << api.status().message() << "\n";
    return 1;
  }
  const std::string from = o.timeline.empty() ? "main" : o.timeline;
  client::NewBranch branch{
      .name = absl::StrFormat("ephemeral-%d-%x", getpid(),
                              absl::ToUnixMicros(absl::Now()) & 0xffffff),
      .from = from,
      .lsn = Lsn(past.lsn),
      .at = past.at};
  absl::StatusOr<client::TimelineDescription> made = (*api)->CreateBranch(branch);
  if (!made.ok()) {
    std::cerr << "pagectl compute: " << made.status().message() << "\n";
    return 1;
  }
  std::cout << absl::StrFormat(
                   "read-only at LSN %d of timeline %s, on the ephemeral branch %s (deleted when "
                   "the compute stops)",
                   made->ancestor_lsn.value(), from, made->name)
            << std::endl;
  o.timeline = made->name;
  o.read_only = true;
  int rc = compute::RunCompute(o);
  if (absl::Status deleted = (*api)->Delete(made->name, /*cascade=*/false); !deleted.ok()) {
    std::cerr << "pagectl compute: the ephemeral branch " << made->name
              << " stays: " << deleted.message() << "\n";
    rc = 1;
  } else {
    std::cout << "deleted the ephemeral branch " << made->name << std::endl;
  }
  return rc;
}

}  // namespace

void RegisterCompute(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<compute::ComputeOptions>();
  auto log_mib = std::make_shared<uint64_t>(256);
  auto patience = std::make_shared<double>(120);
  auto server_wait = std::make_shared<double>(60);
  CLI::App* cmd = app.add_subcommand(
      "compute",
      "Run a stock mariadbd whose storage is the page server (foreground; SIGTERM stops it)");
  auto past = std::make_shared<PastPoint>();
  cmd->add_option("--server", o->server, "the page server's gRPC address HOST:PORT")->required();
  cmd->add_option("--timeline", o->timeline,
                  "the timeline to run on, writable (default: main); with --at-lsn or --at, the "
                  "one whose past is read");
  auto* at_lsn = cmd->add_option(
      "--at-lsn", past->lsn,
      "read-only at this LSN, on an ephemeral branch deleted when the compute stops (needs --api)");
  cmd->add_option("--at", past->at,
                  "instead of --at-lsn: read-only at a time, \"YYYY-MM-DD HH:MM:SS\" in UTC (the "
                  "last LSN the server had received then)")
      ->excludes(at_lsn);
  AddTokenFlag(cmd, o->token,
               "a compute token of the timeline (with --at-lsn or --at: an admin token, which "
               "also makes the ephemeral branch)");
  AddTlsFlags(cmd, o->tls);
  cmd->add_option("--api", past->api,
                  "the page server's HTTP address HOST:PORT, where --at-lsn and --at make their "
                  "branch");
  cmd->add_option("--workdir", o->workdir,
                  "local working directory (holds nothing that must survive); the datadir is "
                  "mounted at WORKDIR/data")
      ->required();
  cmd->add_option("--socket", o->socket, "mariadbd's socket")->required();
  cmd->add_option("--port", o->port, "mariadbd's TCP port (default: no networking)");
  cmd->add_option("--mariadbd", o->mariadbd, "the mariadbd binary (default: from PATH)");
  cmd->add_option("--log-file-mib", *log_mib, "innodb_log_file_size in MiB (default 256)");
  cmd->add_flag("--verify-writes", o->verify_writes,
                "compare every page mariadbd writes with the server's page at its FIL_PAGE_LSN "
                "(exit status 1 when any differs)");
  cmd->add_option("--io-nice", o->io_nice,
                  "added to the compute's own nice value (not mariadbd's), so that the threads "
                  "every log fsync waits on run first on a busy machine; needs CAP_SYS_NICE "
                  "below 0 (default -10, 0: unchanged)");
  cmd->add_option("--server-patience-seconds", *patience,
                  "how long shipping redo waits for an unreachable page server (default 120)");
  cmd->add_option("--server-wait-seconds", *server_wait,
                  "how long starting waits for the page server to answer (default 60)");
  cmd->add_option("mariadbd_options", o->mariadbd_options,
                  "options for mariadbd, after --");
  cmd->callback([o, past, log_mib, patience, server_wait, &exit_code] {
    o->log_file_bytes = *log_mib << 20;
    o->server_patience = absl::Seconds(*patience);
    o->server_wait = absl::Seconds(*server_wait);
    exit_code = past->given() ? RunAtPastPoint(*o, *past) : compute::RunCompute(*o);
  });

  auto init = std::make_shared<InitOptions>();
  CLI::App* icmd =
      app.add_subcommand("init", "Create a new, empty database on an empty page server");
  AddServerFlags(icmd, init->server);
  icmd->add_option("--scratch-dir", init->scratch,
                   "where mariadb-install-db writes (default: a temporary directory, removed)");
  icmd->add_flag("--keep", init->keep, "keep the scratch directory");
  icmd->callback([init, &exit_code] { exit_code = RunInit(*init); });
}

}  // namespace pageserver::pagectl
