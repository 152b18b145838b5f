// pagectl compare --expected DIR --actual DIR [--skip-pages FILE]: compares every InnoDB file of
// two datadirs page by page. Pages missing from a file compare as zero (InnoDB extends files
// without logging). The doublewrite buffer of ibdata1 is never compared: MariaDB writes it
// without redo. Exit 0 when equal, 1 when a page or file differs, 2 on error.
#include <iostream>
#include <set>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "redo/page_format.h"
#include "replay/datadir.h"
#include "tools/pagectl/commands.h"
#include "tools/pagectl/datadir_pages.h"

namespace pageserver::pagectl {
namespace {

struct Options {
  std::string expected;
  std::string actual;
  std::string skip_pages;
  int max_report = 20;
};

int Run(const Options& o) {
  auto skip = ReadSkipPages(o.skip_pages);
  if (!skip.ok()) {
    std::cerr << "pagectl compare: " << skip.status().message() << "\n";
    return 2;
  }
  auto expected = replay::ListInnodbFiles(o.expected);
  auto actual = replay::ListInnodbFiles(o.actual);
  if (!expected.ok() || !actual.ok()) {
    std::cerr << "pagectl compare: "
              << (expected.ok() ? actual.status() : expected.status()).message() << "\n";
    return 2;
  }
  std::map<std::string, SpaceId> files;
  for (const auto& f : *actual) files[f.relative_path] = f.space_id;
  for (const auto& f : *expected) files[f.relative_path] = f.space_id;
  std::set<std::string> in_expected, in_actual;
  for (const auto& f : *expected) in_expected.insert(f.relative_path);
  for (const auto& f : *actual) in_actual.insert(f.relative_path);

  uint64_t compared = 0, skipped = 0, differing = 0, file_problems = 0;
  int reported = 0;
  for (const auto& [path, space] : files) {
    if (!in_expected.count(path) || !in_actual.count(path)) {
      ++file_problems;
      std::cout << absl::StrFormat("%s: only in %s\n", path,
                                   in_expected.count(path) ? "expected" : "actual");
      continue;
    }
    PageReader a(o.expected + "/" + path);
    PageReader b(o.actual + "/" + path);
    const std::set<uint32_t> doublewrite =
        path == "ibdata1" ? DoublewritePages(a) : std::set<uint32_t>{};
    const uint64_t pages = std::max(a.pages(), b.pages());
    for (uint64_t p = 0; p < pages; ++p) {
      if (doublewrite.count(static_cast<uint32_t>(p)) ||
          skip->count({space.value(), static_cast<uint32_t>(p)})) {
        ++skipped;
        continue;
      }
      const uint8_t* pa = a.Page(p).data();
      const uint8_t* pb = b.Page(p).data();
      ++compared;
      if (std::memcmp(pa, pb, kPageSize) == 0) continue;
      ++differing;
      if (reported++ < o.max_report) {
        size_t first = 0;
        while (pa[first] == pb[first]) ++first;
        size_t last = kPageSize - 1;
        while (pa[last] == pb[last]) --last;
        std::cout << absl::StrFormat(
            "%s page %d (space %d): bytes %d..%d differ; FIL_PAGE_LSN expected %d actual %d, "
            "type expected %d actual %d\n",
            path, p, space.value(), first, last, ReadBe64(pa + redo::kFilPageLsn),
            ReadBe64(pb + redo::kFilPageLsn), ReadBe16(pa + redo::kFilPageType),
            ReadBe16(pb + redo::kFilPageType));
      }
    }
  }
  std::cout << absl::StrFormat(
      "compared %d files, %d pages: %d differ, %d skipped (free or doublewrite), %d file "
      "mismatches\n",
      files.size(), compared, differing, skipped, file_problems);
  return differing == 0 && file_problems == 0 ? 0 : 1;
}

}  // namespace

void RegisterCompare(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("compare", "Compare the InnoDB pages of two datadirs");
  cmd->add_option("--expected", o->expected, "datadir written by MariaDB")->required();
  cmd->add_option("--actual", o->actual, "datadir written by replay")->required();
  cmd->add_option("--skip-pages", o->skip_pages, "\"space page\" lines of pages not to compare");
  cmd->add_option("--max-report", o->max_report, "differing pages to describe");
  cmd->callback([o, &exit_code] { exit_code = Run(*o); });
}

}  // namespace pageserver::pagectl
