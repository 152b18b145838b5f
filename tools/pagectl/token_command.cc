// pagectl token --private-key PATH --scope admin|compute|read [--timeline NAME] [--ttl SECONDS]
// Mints a token (src/auth/token.h: a JWT signed RS256) for operators and tests, and prints it.
// A compute or read token is for one timeline (main by default); an admin token for all.
#include <iostream>

#include "absl/time/clock.h"
#include "auth/token.h"
#include "common/file_io.h"
#include "tools/pagectl/commands.h"

namespace pageserver::pagectl {

void RegisterToken(CLI::App& app, int& exit_code) {
  struct Options {
    std::string private_key;
    std::string scope;
    std::string timeline;
    int64_t ttl_seconds = 3600;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("token", "Mint a token (a JWT signed RS256) and print it");
  cmd->add_option("--private-key", o->private_key, "the PEM RSA private key that signs it")
      ->required();
  cmd->add_option("--scope", o->scope, "admin, compute or read")->required();
  cmd->add_option("--timeline", o->timeline, "the timeline of a compute or read token (main)");
  cmd->add_option("--ttl", o->ttl_seconds, "seconds it stays valid (default 3600)");
  cmd->callback([o, &exit_code] {
    absl::StatusOr<std::string> token = [&]() -> absl::StatusOr<std::string> {
      absl::StatusOr<auth::Scope> scope = auth::ParseScope(o->scope);
      if (!scope.ok()) return scope.status();
      if (*scope == auth::Scope::kAdmin && !o->timeline.empty()) {
        return absl::InvalidArgumentError("an admin token is for every timeline: no --timeline");
      }
      absl::StatusOr<std::vector<uint8_t>> key = ReadWholeFile(o->private_key);
      if (!key.ok()) return key.status();
      return auth::MintToken(
          std::string_view(reinterpret_cast<const char*>(key->data()), key->size()), *scope,
          o->timeline, absl::Seconds(o->ttl_seconds), absl::Now());
    }();
    if (!token.ok()) {
      std::cerr << "pagectl token: " << token.status().message() << "\n";
      exit_code = 1;
      return;
    }
    std::cout << *token << "\n";
  });
}

}  // namespace pageserver::pagectl
