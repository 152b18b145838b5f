// pagectl: inspect redo logs, replay them onto datadirs, compare page images.
#include "tools/pagectl/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"pagectl: tools for MariaDB InnoDB redo logs and pages"};
  app.require_subcommand(1);
  int exit_code = 0;
  pageserver::pagectl::RegisterLogdump(app, exit_code);
  pageserver::pagectl::RegisterReplay(app, exit_code);
  pageserver::pagectl::RegisterCompare(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
