#include "tools/pagectl/server_flags.h"

namespace pageserver::pagectl {

void AddServerFlags(CLI::App* cmd, ServerFlags& flags) {
  cmd->add_option("--server", flags.server, "page server gRPC address, HOST:PORT")->required();
  cmd->add_option("--deadline", flags.deadline_seconds,
                  "seconds each call may take, its retries included");
  cmd->add_option("--channels", flags.channels, "gRPC connections to the server");
  cmd->add_option("--retries", flags.retries, "retries of a call that finds the server away");
}

absl::StatusOr<std::unique_ptr<client::PageServerClient>> ConnectToServer(
    const ServerFlags& flags) {
  client::Options options;
  options.address = flags.server;
  options.deadline = absl::Seconds(flags.deadline_seconds);
  options.channels = flags.channels;
  options.max_retries = flags.retries;
  return client::PageServerClient::Create(options);
}

}  // namespace pageserver::pagectl
