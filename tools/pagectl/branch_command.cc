// pagectl branch create|list|delete --server HOST:PORT: the page server's timelines over its HTTP
// management API (src/service/http_api.h, /api/v1/timelines), where HOST:PORT is the server's
// HTTP address (--http-addr).
//
//   pagectl branch create --server H:P --name NAME [--from TIMELINE] [--lsn L | --at TIME]
//   pagectl branch list   --server H:P
//   pagectl branch delete --server H:P --name NAME [--cascade]
//
// TIME is "YYYY-MM-DD HH:MM:SS" in UTC, or RFC 3339; without --lsn and --at, the branch starts at
// the ancestor's last LSN.
#include <iostream>
#include <memory>

#include "absl/strings/str_format.h"
#include "client/timelines_api_client.h"
#include "tools/pagectl/commands.h"
#include "tools/pagectl/server_flags.h"

namespace pageserver::pagectl {
namespace {

std::string Describe(const client::TimelineDescription& t) {
  return absl::StrFormat(
      "%-20s %s  %s  last LSN %d  %.1f MiB of layers", t.name, t.timeline_id,
      t.ancestor.empty()
          ? std::string("(root)")
          : absl::StrFormat("branch of %s at LSN %d", t.ancestor, t.ancestor_lsn.value()),
      t.last_record_lsn.value(), t.layer_bytes / 1048576.0);
}

}  // namespace

void RegisterBranch(CLI::App& app, int& exit_code) {
  struct Options {
    std::string server;
    std::string name;
    std::string from = "main";
    uint64_t lsn = 0;
    std::string at;
    bool cascade = false;
    std::string token;
    auth::TlsFiles tls;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("branch", "Create, list and delete the server's timelines");
  cmd->require_subcommand(1);
  // Runs `call` on a client of o->server; prints its error and sets the exit code on failure.
  auto run = [o, &exit_code](auto&& call) {
    absl::Status status;
    absl::StatusOr<std::unique_ptr<client::TimelinesApiClient>> api =
        client::TimelinesApiClient::Create(o->server, o->token, o->tls);
    status = api.ok() ? call(**api) : api.status();
    if (!status.ok()) {
      std::cerr << "pagectl branch: " << status.message() << "\n";
      exit_code = 1;
    }
  };

  CLI::App* create = cmd->add_subcommand("create", "Branch a timeline at an LSN or a time");
  create->add_option("--server", o->server, "the page server's HTTP address, HOST:PORT")
      ->required();
  create->add_option("--name", o->name, "the new timeline's name")->required();
  AddTokenFlag(create, o->token, "an admin token");
  AddTlsFlags(create, o->tls);
  create->add_option("--from", o->from, "the timeline to branch from (default: main)");
  auto* lsn = create->add_option("--lsn", o->lsn, "the branch LSN (default: the last one)");
  create->add_option("--at", o->at, "instead of --lsn: a time, \"YYYY-MM-DD HH:MM:SS\" (UTC)")
      ->excludes(lsn);
  create->callback([o, run] {
    run([o](client::TimelinesApiClient& api) {
      absl::StatusOr<client::TimelineDescription> made =
          api.CreateBranch({.name = o->name, .from = o->from, .lsn = Lsn(o->lsn), .at = o->at});
      if (made.ok()) std::cout << Describe(*made) << "\n";
      return made.status();
    });
  });

  CLI::App* list = cmd->add_subcommand("list", "List the timelines, ancestors first");
  list->add_option("--server", o->server, "the page server's HTTP address, HOST:PORT")
      ->required();
  AddTokenFlag(list, o->token, "an admin token");
  AddTlsFlags(list, o->tls);
  list->callback([run] {
    run([](client::TimelinesApiClient& api) {
      absl::StatusOr<std::vector<client::TimelineDescription>> listed = api.List();
      if (!listed.ok()) return listed.status();
      for (const client::TimelineDescription& t : *listed) std::cout << Describe(t) << "\n";
      return absl::OkStatus();
    });
  });

  CLI::App* remove = cmd->add_subcommand("delete", "Delete a timeline and its files");
  remove->add_option("--server", o->server, "the page server's HTTP address, HOST:PORT")
      ->required();
  remove->add_option("--name", o->name, "the timeline to delete")->required();
  remove->add_flag("--cascade", o->cascade, "delete its branches too");
  AddTokenFlag(remove, o->token, "an admin token");
  AddTlsFlags(remove, o->tls);
  remove->callback([o, run] {
    run([o](client::TimelinesApiClient& api) {
      absl::Status deleted = api.Delete(o->name, o->cascade);
      if (deleted.ok()) std::cout << "deleted timeline " << o->name << "\n";
      return deleted;
    });
  });
}

}  // namespace pageserver::pagectl
