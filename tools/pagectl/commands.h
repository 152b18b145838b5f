// pagectl's subcommands. Each Register* adds its CLI11 subcommand and the callback that runs it;
// a callback reports errors on stderr and sets the process exit code through `exit_code`.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace pageserver::pagectl {

void RegisterLogdump(CLI::App& app, int& exit_code);
void RegisterReplay(CLI::App& app, int& exit_code);
void RegisterCompare(CLI::App& app, int& exit_code);
void RegisterImport(CLI::App& app, int& exit_code);
void RegisterPush(CLI::App& app, int& exit_code);
void RegisterGetpage(CLI::App& app, int& exit_code);
void RegisterVerify(CLI::App& app, int& exit_code);
void RegisterFollow(CLI::App& app, int& exit_code);
void RegisterTruncateWal(CLI::App& app, int& exit_code);
// branch create|list|delete over the HTTP management API (branch_command.cc)
void RegisterBranch(CLI::App& app, int& exit_code);
// every page of two timelines at one LSN (diff_timelines_command.cc)
void RegisterDiffTimelines(CLI::App& app, int& exit_code);
// mints a token (token_command.cc)
void RegisterToken(CLI::App& app, int& exit_code);
// compute and init (compute_command.cc)
void RegisterCompute(CLI::App& app, int& exit_code);

struct ServerFlags;
// pagectl import's work, for follow --bootstrap: 0 on success, 1 after reporting an error.
// `with_aux_files`: also the datadir's non-InnoDB files (datadir_aux_files.h), at the base LSN.
int RunImport(const ServerFlags& server, const std::string& datadir, bool with_aux_files);

}  // namespace pageserver::pagectl
