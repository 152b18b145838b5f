// The flags every subcommand that talks to a page server shares (--server, --deadline,
// --channels, --retries, --timeline, --token, --tls-*), and the client they make.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "auth/tls.h"
#include "client/page_server_client.h"

namespace pageserver::pagectl {

struct ServerFlags {
  std::string server;
  double deadline_seconds = 30;
  int channels = 2;
  int retries = 5;
  std::string timeline;  // empty: main
  std::string token;     // --token or PAGESERVER_TOKEN; empty: none
  auth::TlsFiles tls;    // --tls-ca/--tls-cert/--tls-key or PAGESERVER_TLS_*; empty: plaintext
};

// --token, from PAGESERVER_TOKEN when not given, on `cmd`.
void AddTokenFlag(CLI::App* cmd, std::string& token, const char* what = "a token");
// --tls-ca, --tls-cert, --tls-key (from PAGESERVER_TLS_CA, _CERT, _KEY when not given) on `cmd`.
void AddTlsFlags(CLI::App* cmd, auth::TlsFiles& tls);

void AddServerFlags(CLI::App* cmd, ServerFlags& flags);
absl::StatusOr<std::unique_ptr<client::PageServerClient>> ConnectToServer(const ServerFlags& flags);

}  // namespace pageserver::pagectl
