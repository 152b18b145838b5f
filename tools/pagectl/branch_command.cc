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
#include <httplib.h>

#include <iostream>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "tools/pagectl/commands.h"

namespace pageserver::pagectl {
namespace {

using json = nlohmann::json;

// The answer of `method` `path` (with `body` for a POST) as JSON, or the server's error.
absl::StatusOr<json> Call(const std::string& server, const std::string& method,
                          const std::string& path, const json& body = nullptr) {
  const std::string url = server.find("://") == std::string::npos ? "http://" + server : server;
  httplib::Client client(url);
  client.set_connection_timeout(10, 0);
  client.set_read_timeout(60, 0);
  httplib::Result r = method == "GET"      ? client.Get(path)
                      : method == "DELETE" ? client.Delete(path)
                                           : client.Post(path, body.dump(), "application/json");
  if (!r) {
    return absl::UnavailableError(absl::StrFormat("%s %s%s: %s", method, url, path,
                                                  httplib::to_string(r.error())));
  }
  json answer = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (r->status != 200) {
    const std::string error = answer.is_object() && answer.contains("error")
                                  ? answer["error"].get<std::string>()
                                  : r->body.substr(0, 200);
    return absl::UnknownError(absl::StrFormat("HTTP %d: %s", r->status, error));
  }
  return answer;
}

std::string Describe(const json& t) {
  return absl::StrFormat(
      "%-20s %s  %s  last LSN %d  %.1f MiB of layers", t.value("name", ""),
      t.value("timeline_id", ""),
      t["ancestor"].is_null()
          ? std::string("(root)")
          : absl::StrFormat("branch of %s at LSN %d", t["ancestor"].get<std::string>(),
                            t.value("ancestor_lsn", uint64_t{0})),
      t.value("last_record_lsn", uint64_t{0}), t.value("layer_bytes", uint64_t{0}) / 1048576.0);
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
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("branch", "Create, list and delete the server's timelines");
  cmd->require_subcommand(1);
  auto report = [&exit_code](const absl::StatusOr<json>& answer, auto&& print) {
    if (!answer.ok()) {
      std::cerr << "pagectl branch: " << answer.status().message() << "\n";
      exit_code = 1;
      return;
    }
    print(*answer);
  };

  CLI::App* create = cmd->add_subcommand("create", "Branch a timeline at an LSN or a time");
  create->add_option("--server", o->server, "the page server's HTTP address, HOST:PORT")
      ->required();
  create->add_option("--name", o->name, "the new timeline's name")->required();
  create->add_option("--from", o->from, "the timeline to branch from (default: main)");
  auto* lsn = create->add_option("--lsn", o->lsn, "the branch LSN (default: the last one)");
  create->add_option("--at", o->at, "instead of --lsn: a time, \"YYYY-MM-DD HH:MM:SS\" (UTC)")
      ->excludes(lsn);
  create->callback([o, report] {
    json body = {{"name", o->name}, {"from", o->from}};
    if (o->lsn != 0) body["lsn"] = o->lsn;
    if (!o->at.empty()) body["at"] = o->at;
    report(Call(o->server, "POST", "/api/v1/timelines", body),
           [](const json& t) { std::cout << Describe(t) << "\n"; });
  });

  CLI::App* list = cmd->add_subcommand("list", "List the timelines, ancestors first");
  list->add_option("--server", o->server, "the page server's HTTP address, HOST:PORT")
      ->required();
  list->callback([o, report] {
    report(Call(o->server, "GET", "/api/v1/timelines"), [](const json& answer) {
      for (const json& t : answer["timelines"]) std::cout << Describe(t) << "\n";
    });
  });

  CLI::App* remove = cmd->add_subcommand("delete", "Delete a timeline and its files");
  remove->add_option("--server", o->server, "the page server's HTTP address, HOST:PORT")
      ->required();
  remove->add_option("--name", o->name, "the timeline to delete")->required();
  remove->add_flag("--cascade", o->cascade, "delete its branches too");
  remove->callback([o, report] {
    const std::string path = "/api/v1/timelines/" + o->name +
                             (o->cascade ? "?cascade=true" : "?cascade=false");
    report(Call(o->server, "DELETE", path),
           [o](const json&) { std::cout << "deleted timeline " << o->name << "\n"; });
  });
}

}  // namespace pageserver::pagectl
