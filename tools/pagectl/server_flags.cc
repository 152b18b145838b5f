#include "tools/pagectl/server_flags.h"

namespace pageserver::pagectl {

void AddServerFlags(CLI::App* cmd, ServerFlags& flags) {
  cmd->add_option("--server", flags.server, "page server gRPC address, HOST:PORT")->required();
  cmd->add_option("--deadline", flags.deadline_seconds,
                  "seconds each call may take, its retries included");
  cmd->add_option("--channels", flags.channels, "gRPC connections to the server");
  cmd->add_option("--retries", flags.retries, "retries of a call that finds the server away");
  cmd->add_option("--timeline", flags.timeline, "the timeline (branch) to act on (default: main)");
  AddTokenFlag(cmd, flags.token);
  AddTlsFlags(cmd, flags.tls);
}

void AddTlsFlags(CLI::App* cmd, auth::TlsFiles& tls) {
  cmd->add_option("--tls-ca", tls.ca_path,
                  "for a server with TLS on: the CA certificate (PEM) that signed the server's "
                  "(default: $PAGESERVER_TLS_CA)")
      ->envname("PAGESERVER_TLS_CA");
  cmd->add_option("--tls-cert", tls.cert_path,
                  "for a server that requires client certificates: this client's (PEM; default: "
                  "$PAGESERVER_TLS_CERT)")
      ->envname("PAGESERVER_TLS_CERT");
  cmd->add_option("--tls-key", tls.key_path,
                  "the private key of --tls-cert (PEM; default: $PAGESERVER_TLS_KEY)")
      ->envname("PAGESERVER_TLS_KEY");
}

void AddTokenFlag(CLI::App* cmd, std::string& token, const char* what) {
  cmd->add_option("--token", token,
                  std::string(what) + " for a server with auth on (pagectl token mints one; "
                                      "default: $PAGESERVER_TOKEN)")
      ->envname("PAGESERVER_TOKEN");
}

absl::StatusOr<std::unique_ptr<client::PageServerClient>> ConnectToServer(
    const ServerFlags& flags) {
  client::Options options;
  options.address = flags.server;
  options.deadline = absl::Seconds(flags.deadline_seconds);
  options.channels = flags.channels;
  options.max_retries = flags.retries;
  options.timeline = flags.timeline;
  options.token = flags.token;
  options.tls = flags.tls;
  return client::PageServerClient::Create(options);
}

}  // namespace pageserver::pagectl
