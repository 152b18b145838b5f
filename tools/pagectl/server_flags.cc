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
  return client::PageServerClient::Create(options);
}

}  // namespace pageserver::pagectl
