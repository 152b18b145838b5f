// pagectl replay --base DATADIR --log LOG --out DIR [--to-lsn L] [--freed-pages FILE]
#include <fstream>
#include <iostream>

#include "absl/strings/str_format.h"
#include "replay/datadir_replay.h"
#include "tools/pagectl/commands.h"

namespace pageserver::pagectl {
namespace {

struct Options {
  replay::ReplayOptions replay;
  uint64_t to_lsn = 0;
  std::string freed_pages;
};

int Run(Options& o) {
  if (o.replay.out_dir.empty() && !o.replay.in_place) {
    std::cerr << "pagectl replay: give --out DIR or --in-place\n";
    return 1;
  }
  if (o.to_lsn) o.replay.to_lsn = Lsn(o.to_lsn);
  auto summary = replay::ReplayDatadir(o.replay);
  if (!summary.ok()) {
    std::cerr << "pagectl replay: " << summary.status().message() << "\n";
    return 1;
  }
  if (!o.freed_pages.empty()) {
    std::ofstream out(o.freed_pages);
    for (const PageId& id : summary->freed_pages) {
      out << id.space.value() << " " << id.page.value() << "\n";
    }
    if (!out) {
      std::cerr << "pagectl replay: cannot write " << o.freed_pages << "\n";
      return 1;
    }
  }
  const auto& s = *summary;
  std::cout << absl::StrFormat(
                   "replayed LSN %d .. %d: %d bytes of log, %d mini-transactions, %d records\n",
                   s.start_lsn.value(), s.end_lsn.value(), s.log_bytes, s.mtrs, s.records)
            << absl::StrFormat("stopped: %s\n", s.end_reason)
            << absl::StrFormat(
                   "pages written %d, page snippets skipped (page newer) %d, pages free %d\n",
                   s.pages_written, s.snippets_skipped, s.freed_pages.size());
  for (const auto& [op, n] : s.file_ops) {
    if (op != "FILE_CHECKPOINT" && op != "FILE_MODIFY")
      std::cout << absl::StrFormat("%s: %d\n", op, n);
  }
  std::cout << absl::StrFormat(
      "time %.3f s, %.1f MB/s\n", s.seconds,
      s.seconds > 0 ? static_cast<double>(s.log_bytes) / 1e6 / s.seconds : 0);
  return 0;
}

}  // namespace

void RegisterReplay(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("replay", "Rebuild a datadir's InnoDB files from a base and a redo log");
  cmd->add_option("--base", o->replay.base_dir, "base datadir (clean shutdown or prepared backup)")
      ->required();
  cmd->add_option("--log", o->replay.log_path, "ib_logfile0 that continues the base's log")
      ->required();
  auto* out = cmd->add_option("--out", o->replay.out_dir, "output directory (new or empty)");
  auto* in_place =
      cmd->add_flag("--in-place", o->replay.in_place,
                    "apply to the base datadir's files themselves (like mariadb-backup --prepare)");
  out->excludes(in_place);
  in_place->excludes(out);
  cmd->add_option("--to-lsn", o->to_lsn, "apply mini-transactions ending at or before this LSN");
  cmd->add_option("--freed-pages", o->freed_pages,
                  "write the free pages (\"space page\" lines) here");
  cmd->add_option("--cache-pages", o->replay.max_cached_pages, "page frames kept in memory");
  cmd->callback([o, &exit_code] { exit_code = Run(*o); });
}

}  // namespace pageserver::pagectl
