// pagectl: inspect redo logs, replay them onto datadirs, compare page images; import a datadir
// into a page server, push redo to it, fetch and verify its pages.
#include <signal.h>

#include "tools/pagectl/commands.h"

int main(int argc, char** argv) {
  // A server that closes a connection mid-request (a TLS server refusing a client certificate,
  // a server stopping) must give an error, not kill pagectl: OpenSSL writes to the socket
  // without MSG_NOSIGNAL.
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{"pagectl: tools for MariaDB InnoDB redo logs and pages"};
  app.require_subcommand(1);
  int exit_code = 0;
  pageserver::pagectl::RegisterLogdump(app, exit_code);
  pageserver::pagectl::RegisterReplay(app, exit_code);
  pageserver::pagectl::RegisterCompare(app, exit_code);
  pageserver::pagectl::RegisterImport(app, exit_code);
  pageserver::pagectl::RegisterPush(app, exit_code);
  pageserver::pagectl::RegisterGetpage(app, exit_code);
  pageserver::pagectl::RegisterVerify(app, exit_code);
  pageserver::pagectl::RegisterFollow(app, exit_code);
  pageserver::pagectl::RegisterTruncateWal(app, exit_code);
  pageserver::pagectl::RegisterBranch(app, exit_code);
  pageserver::pagectl::RegisterDiffTimelines(app, exit_code);
  pageserver::pagectl::RegisterToken(app, exit_code);
  pageserver::pagectl::RegisterCompute(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
