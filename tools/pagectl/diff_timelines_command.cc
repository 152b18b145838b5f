// pagectl diff-timelines --server HOST:PORT --timeline A --against B --lsn L
// Every page of every tablespace timeline A holds at L, read at L from A and from B and compared
// byte for byte (their free state too), with the catalogs themselves. For a branch and its
// ancestor at the branch LSN, nothing may differ: a branch copies nothing, and reads there what
// its ancestor had. Exit 0 when at least one page was compared and none differs, 1 otherwise,
// 2 on error.
#include <iostream>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "replay/progress.h"
#include "tools/pagectl/commands.h"
#include "tools/pagectl/server_flags.h"

namespace pageserver::pagectl {
namespace {

struct Options {
  ServerFlags server;  // its timeline is A
  std::string against;
  uint64_t lsn = 0;
  int max_report = 10;
};

struct Counts {
  uint64_t compared = 0;
  uint64_t differ = 0;
};

absl::StatusOr<Counts> Diff(const Options& o) {
  ServerFlags against_flags = o.server;
  against_flags.timeline = o.against;
  ASSIGN_OR_RETURN(std::unique_ptr<client::PageServerClient> a, ConnectToServer(o.server));
  ASSIGN_OR_RETURN(std::unique_ptr<client::PageServerClient> b, ConnectToServer(against_flags));
  const Lsn lsn(o.lsn);
  ASSIGN_OR_RETURN(client::TablespaceList spaces_a, a->ListTablespaces(lsn));
  ASSIGN_OR_RETURN(client::TablespaceList spaces_b, b->ListTablespaces(lsn));
  Counts counts;
  auto report = [&](const std::string& what) {
    if (++counts.differ <= static_cast<uint64_t>(o.max_report)) std::cout << what << "\n";
  };
  if (spaces_a.tablespaces.size() != spaces_b.tablespaces.size()) {
    report(absl::StrFormat("the catalogs differ: %d tablespaces against %d",
                           spaces_a.tablespaces.size(), spaces_b.tablespaces.size()));
  }
  uint64_t total = 0;
  for (const client::Tablespace& t : spaces_a.tablespaces) total += t.pages;
  replay::Progress progress;
  constexpr uint32_t kBatch = 256;
  for (size_t i = 0; i < spaces_a.tablespaces.size(); ++i) {
    const client::Tablespace& t = spaces_a.tablespaces[i];
    if (i < spaces_b.tablespaces.size()) {
      const client::Tablespace& u = spaces_b.tablespaces[i];
      if (u.space != t.space || u.path != t.path || u.pages != t.pages || u.flags != t.flags) {
        report(absl::StrFormat("tablespace %d (%s, %d pages) is %d (%s, %d pages) on %s",
                               t.space.value(), t.path, t.pages, u.space.value(), u.path, u.pages,
                               o.against));
      }
    }
    for (uint32_t first = 0; first < t.pages; first += kBatch) {
      std::vector<client::PageRequest> batch;
      for (uint32_t p = first; p < std::min(t.pages, first + kBatch); ++p) {
        batch.push_back({PageId{t.space, PageNo(p)}, lsn});
      }
      ASSIGN_OR_RETURN(std::vector<client::PageOrError> from_a, a->GetPages(batch));
      ASSIGN_OR_RETURN(std::vector<client::PageOrError> from_b, b->GetPages(batch));
      for (size_t k = 0; k < batch.size(); ++k) {
        const std::string page = ToString(batch[k].id);
        if (!from_a[k].ok()) return from_a[k].status();
        ++counts.compared;
        if (!from_b[k].ok()) {
          report(absl::StrFormat("%s: %s on %s", page, from_b[k].status().message(), o.against));
        } else if (from_a[k]->data != from_b[k]->data || from_a[k]->freed != from_b[k]->freed) {
          report(absl::StrFormat("%s differs%s", page,
                                 from_a[k]->freed != from_b[k]->freed ? " (free on one only)" : ""));
        }
      }
      if (progress.Due()) {
        progress.Show(absl::StrFormat("diff-timelines: %d of %d pages, %d differ", counts.compared,
                                      total, counts.differ));
      }
    }
  }
  progress.Done();
  return counts;
}

}  // namespace

void RegisterDiffTimelines(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "diff-timelines", "Compare every page of two timelines at one LSN (a branch and its ancestor "
                        "at the branch LSN)");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--against", o->against, "the other timeline")->required();
  cmd->add_option("--lsn", o->lsn, "the LSN both are read at")->required();
  cmd->add_option("--max-report", o->max_report, "differences printed (default 10)");
  cmd->callback([o, &exit_code] {
    absl::StatusOr<Counts> counts = Diff(*o);
    if (!counts.ok()) {
      std::cerr << "pagectl diff-timelines: " << counts.status().message() << "\n";
      exit_code = 2;
      return;
    }
    std::cout << absl::StrFormat("%d pages compared, %d differ (%s against %s at LSN %d)\n",
                                 counts->compared, counts->differ,
                                 o->server.timeline.empty() ? "main" : o->server.timeline,
                                 o->against, o->lsn);
    exit_code = counts->compared > 0 && counts->differ == 0 ? 0 : 1;
  });
}

}  // namespace pageserver::pagectl
