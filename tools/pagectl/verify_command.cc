// pagectl verify --server HOST:PORT --datadir DIR --lsn L [--skip-pages FILE]
//                [--http-server HOST:PORT]
// Checks the server against MariaDB: DIR is a datadir MariaDB produced at LSN L (its crash
// recovery or mariadb-backup --prepare); every page of every InnoDB file in it is fetched from
// the server at L, in batches, and compared byte for byte. With --http-server the pages come
// through the HTTP JSON API instead (sizes and the catalog still over gRPC).
//
// Every page of every file is compared, except the doublewrite buffer of ibdata1 (written
// without redo, as in pagectl compare) and pages listed in --skip-pages. A page of the file
// beyond the server's size of its tablespace (FSP_SIZE at L) is a difference unless it is all
// zero: InnoDB extends a file before the mini-transaction that raises FSP_SIZE, so a crash
// before that redo is durable leaves the file longer than the tablespace, in zeros (counted
// apart; pagectl compare reads missing pages as zero for the same reason).
//
// A page the server reports free at L must carry a valid checksum and equal the file, except
// that MariaDB never writes a freed page, so its file may hold an older image: then the file's
// page must equal the server's page read at the file page's FIL_PAGE_LSN (at the server's base
// LSN when that is older), or be all zero (MariaDB never flushed it before the free, or punched
// or scrubbed it; counted apart).
// Exit 0 when at least one page was compared and none differs, 1 otherwise, 2 on error.
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "client/http_page_client.h"
#include "common/byte_order.h"
#include "common/status_macros.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "redo/tablespace_format.h"
#include "replay/datadir.h"
#include "replay/progress.h"
#include "tools/pagectl/commands.h"
#include "tools/pagectl/datadir_aux_files.h"
#include "tools/pagectl/datadir_pages.h"
#include "tools/pagectl/server_flags.h"

namespace pageserver::pagectl {
namespace {

struct Options {
  ServerFlags server;
  std::string datadir;
  uint64_t lsn = 0;
  std::string skip_pages;
  std::string http_server;
  size_t batch = 256;
  int max_report = 10;
  bool aux = false;  // also the aux files
};

struct Counts {
  uint64_t compared = 0;  // every page read from the server and compared, freed ones included
  uint64_t differ = 0;
  uint64_t freed = 0;        // of those compared, free at L on the server
  uint64_t freed_equal = 0;  // ... and equal to the file
  uint64_t freed_older = 0;  // ... the file holding an image the server had at its FIL_PAGE_LSN
  uint64_t freed_zero = 0;   // ... the file holding zeros (never flushed before the free)
  // ... the file holding an image older than the server's GC cutoff: not comparable, since the
  // server no longer keeps that history (MariaDB never reads a freed page).
  uint64_t freed_before_gc = 0;
  uint64_t skipped = 0;
  uint64_t zero_beyond_size = 0;  // all-zero pages of a file beyond the server's tablespace size
};

class Verifier {
 public:
  Verifier(const Options& o, Lsn base_lsn, client::PageServerClient& client,
           client::HttpPageClient* http)
      : o_(o), lsn_(o.lsn), base_lsn_(base_lsn), client_(client), http_(http) {}
  void set_gc_cutoff(Lsn lsn) { gc_cutoff_lsn_ = lsn; }

  const Counts& counts() const { return counts_; }

  // Compares every page of one file. Errors are those that stop the verification.
  absl::Status VerifyFile(const replay::InnodbFile& file, const PageSet& skip) {
    const std::string path = o_.datadir + "/" + file.relative_path;
    PageReader reader(path);
    if (!reader.is_open()) return absl::NotFoundError(absl::StrFormat("cannot open %s", path));
    uint32_t server_pages = 0;
    auto size = client_.GetTablespaceSize(file.space_id, lsn_);
    if (size.ok()) {
      server_pages = *size;
    } else if (absl::IsNotFound(size.status())) {
      std::cout << absl::StrFormat("%s (space %d): the server does not know it at LSN %d: %s\n",
                                   file.relative_path, file.space_id.value(), lsn_.value(),
                                   size.status().message());
    } else {
      return Context(size.status(), "GetTablespaceSize", file);
    }
    format_ = redo::ReadTablespaceFormat(reader.Page(0), file.space_id);
    const std::set<uint32_t> doublewrite =
        file.relative_path == "ibdata1" ? DoublewritePages(reader) : std::set<uint32_t>{};
    const uint64_t pages = std::max<uint64_t>(reader.pages(), server_pages);
    std::vector<client::PageRequest> batch;
    for (uint64_t p = 0; p < pages; ++p) {
      const uint32_t page_no = static_cast<uint32_t>(p);
      if (doublewrite.count(page_no) || skip.count({file.space_id.value(), page_no})) {
        ++counts_.skipped;
        continue;
      }
      if (p >= server_pages) {
        const std::vector<uint8_t>& bytes = reader.Page(p);
        if (server_pages > 0 && IsZeroPage(bytes)) {
          ++counts_.zero_beyond_size;
          continue;
        }
        Differ(file, page_no,
               absl::StrFormat("the file has it, beyond the server's size of %d pages; file page "
                               "%s",
                               server_pages,
                               IsZeroPage(bytes)
                                   ? std::string("all zero")
                                   : absl::StrFormat("FIL_PAGE_LSN %d",
                                                     ReadBe64(bytes.data() + redo::kFilPageLsn))));
        continue;
      }
      batch.push_back({{file.space_id, PageNo(page_no)}, lsn_});
      if (batch.size() >= o_.batch) {
        if (auto s = CompareBatch(file, reader, batch); !s.ok()) return s;
        batch.clear();
      }
      if (progress_.Due()) {
        progress_.Show(absl::StrFormat("verify: %s page %d/%d, %d pages compared, %d differ",
                                       file.relative_path, p, pages, counts_.compared,
                                       counts_.differ));
      }
    }
    if (!batch.empty()) {
      if (auto s = CompareBatch(file, reader, batch); !s.ok()) return s;
    }
    if (reader.read_failed()) return absl::DataLossError(absl::StrFormat("%s: read error", path));
    return absl::OkStatus();
  }

  // Tablespaces the server has at L that DIR lacks.
  uint64_t ReportExtraTablespaces(const std::vector<replay::InnodbFile>& files) {
    auto list = client_.ListTablespaces(lsn_);
    if (!list.ok()) {
      std::cout << "verify: cannot list the server's tablespaces: " << list.status().message()
                << "\n";
      return 0;
    }
    std::set<uint32_t> in_dir;
    for (const auto& f : files) in_dir.insert(f.space_id.value());
    uint64_t extra = 0;
    for (const client::Tablespace& t : list->tablespaces) {
      if (in_dir.count(t.space.value())) continue;
      ++extra;
      std::cout << absl::StrFormat(
          "space %d (%s, %d pages): the server has it at LSN %d, the datadir does not\n",
          t.space.value(), t.path, t.pages, lsn_.value());
    }
    return extra;
  }

  void Done() { progress_.Done(); }

 private:
  absl::Status CompareBatch(const replay::InnodbFile& file, PageReader& reader,
                            const std::vector<client::PageRequest>& batch) {
    std::vector<client::PageOrError> answers;
    if (http_ != nullptr) {
      for (const client::PageRequest& r : batch) answers.push_back(Fetch(r));
    } else {
      auto got = client_.GetPages(batch);
      if (!got.ok()) return Context(got.status(), "GetPages", file);
      answers = std::move(*got);
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      const uint32_t page_no = batch[i].id.page.value();
      if (!answers[i].ok()) {
        Differ(file, page_no,
               absl::StrFormat("the server answered: %s", answers[i].status().message()));
        continue;
      }
      const client::Page& page = *answers[i];
      const std::vector<uint8_t>& expected = reader.Page(page_no);
      ++counts_.compared;
      if (page.freed) {
        CompareFreed(file, batch[i].id, page.data, expected);
      } else if (!SamePage(page.data, expected)) {
        Differ(file, page_no, Mismatch(page.data, expected));
      }
    }
    return absl::OkStatus();
  }

  // A page free at L on the server. See the rule at the top of this file.
  void CompareFreed(const replay::InnodbFile& file, PageId id, std::span<const uint8_t> served,
                    std::span<const uint8_t> expected) {
    ++counts_.freed;
    const uint32_t page_no = id.page.value();
    if (!format_.ok()) {
      Differ(file, page_no,
             absl::StrFormat("freed at LSN %d; its checksum cannot be checked: %s", lsn_.value(),
                             format_.status().message()));
      return;
    }
    if (served.size() != kPageSize || !redo::PageChecksumValid(served, format_->full_crc32)) {
      Differ(file, page_no,
             absl::StrFormat("freed at LSN %d; the server's page (%d bytes) is not a valid page",
                             lsn_.value(), served.size()));
      return;
    }
    if (SamePage(served, expected)) {
      ++counts_.freed_equal;
      return;
    }
    const Lsn file_lsn(ReadBe64(expected.data() + redo::kFilPageLsn));
    if (file_lsn > lsn_) {
      Differ(file, page_no,
             absl::StrFormat("freed at LSN %d, but the file's FIL_PAGE_LSN is %d", lsn_.value(),
                             file_lsn.value()));
      return;
    }
    if (IsZeroPage(expected)) {
      // MariaDB never flushed the page between its first initialisation and the free (a base
      // from mariadb-backup --prepare can hold it: prepare applies the redo), or it punched or
      // scrubbed the freed range (innodb_immediate_scrub_data_uncompressed): the file keeps or
      // gets zeros, the state before the page was ever written.
      ++counts_.freed_zero;
      return;
    }
    if (file_lsn < gc_cutoff_lsn_) {
      ++counts_.freed_before_gc;
      return;
    }
    const Lsn at = std::max(file_lsn, base_lsn_);
    client::PageOrError older = Fetch({id, at});
    if (absl::IsOutOfRange(older.status()) &&
        absl::StrContains(older.status().message(), "GC cutoff")) {
      ++counts_.freed_before_gc;  // the cutoff moved on since the verification started
      return;
    }
    if (!older.ok()) {
      Differ(file, page_no,
             absl::StrFormat("freed at LSN %d; the file holds an older image (FIL_PAGE_LSN %d); "
                             "reading it at LSN %d: %s",
                             lsn_.value(), file_lsn.value(), at.value(), older.status().message()));
      return;
    }
    if (SamePage(older->data, expected)) {
      ++counts_.freed_older;
      return;
    }
    Differ(
        file, page_no,
        absl::StrFormat("freed at LSN %d: %s; at LSN %d: %s", lsn_.value(),
                        Mismatch(served, expected), at.value(), Mismatch(older->data, expected)));
  }

  client::PageOrError Fetch(const client::PageRequest& r) {
    if (http_ != nullptr) return http_->GetPage(r.id, r.lsn);
    return client_.GetPage(r.id, r.lsn);
  }

  static bool SamePage(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
  }

  static std::string Mismatch(std::span<const uint8_t> served, std::span<const uint8_t> expected) {
    if (served.size() != expected.size()) {
      return absl::StrFormat("the server's page has %d bytes", served.size());
    }
    size_t first = 0;
    while (first < served.size() && served[first] == expected[first]) ++first;
    return absl::StrFormat(
        "server FIL_PAGE_LSN %d, file FIL_PAGE_LSN %d, first difference at byte %d",
        ReadBe64(served.data() + redo::kFilPageLsn), ReadBe64(expected.data() + redo::kFilPageLsn),
        first);
  }

  void Differ(const replay::InnodbFile& file, uint32_t page_no, const std::string& what) {
    if (counts_.differ++ < static_cast<uint64_t>(o_.max_report)) {
      progress_.Done();
      std::cout << absl::StrFormat("differs: space %d page %d (%s): %s\n", file.space_id.value(),
                                   page_no, file.relative_path, what);
    }
  }

  absl::Status Context(const absl::Status& s, const char* call, const replay::InnodbFile& file) {
    return absl::Status(
        s.code(), absl::StrFormat("%s for space %d (%s) at LSN %d: %s", call, file.space_id.value(),
                                  file.relative_path, lsn_.value(), s.message()));
  }

  const Options& o_;
  const Lsn lsn_;
  const Lsn base_lsn_;  // the server's: no older page can be read
  Lsn gc_cutoff_lsn_;   // the server's: nor below this one
  client::PageServerClient& client_;
  client::HttpPageClient* http_;
  Counts counts_;
  absl::StatusOr<redo::TablespaceFormat> format_;  // of the file being verified, from its page 0
  replay::Progress progress_;
};

// --aux: every aux file of the datadir (datadir_aux_files.h) must be the server's at `lsn`, byte
// for byte, and the server must have no other. Prints what differs; returns how many do.
absl::StatusOr<uint64_t> VerifyAuxFiles(client::PageServerClient& client,
                                        const std::string& datadir,
                                        const std::vector<replay::InnodbFile>& innodb, Lsn lsn) {
  std::set<std::string> innodb_paths;
  for (const replay::InnodbFile& f : innodb) innodb_paths.insert(f.relative_path);
  ASSIGN_OR_RETURN(std::vector<DatadirAuxFile> files, ListDatadirAuxFiles(datadir, innodb_paths));
  ASSIGN_OR_RETURN(std::vector<client::AuxFile> listed, client.ListAuxFiles(lsn));
  uint64_t differ = 0;
  std::set<std::string> in_dir;
  for (const DatadirAuxFile& f : files) {
    in_dir.insert(f.relative_path);
    std::ifstream in(f.full_path, std::ios::binary);
    std::vector<uint8_t> expected(f.size);
    in.read(reinterpret_cast<char*>(expected.data()), static_cast<std::streamsize>(f.size));
    absl::StatusOr<client::AuxFile> got = client.GetAuxFile(f.relative_path, lsn);
    if (!in || !got.ok() || got->content != expected) {
      ++differ;
      std::cout << absl::StrFormat(
          "aux file %s differs at LSN %d: %s\n", f.relative_path, lsn.value(),
          !in ? "cannot read the datadir's copy"
              : !got.ok() ? std::string(got.status().message())
                          : absl::StrFormat("the server's has %d bytes, the datadir's %d",
                                            got->content.size(), expected.size()));
    }
  }
  for (const client::AuxFile& f : listed) {
    if (in_dir.count(f.path)) continue;
    ++differ;
    std::cout << absl::StrFormat("aux file %s: the server has it at LSN %d, the datadir does not\n",
                                 f.path, lsn.value());
  }
  std::cout << absl::StrFormat("verify: %d aux files compared, %d differ\n", files.size(),
                               differ);
  return differ;
}

int Run(const Options& o) {
  auto fail = [](const absl::Status& s) {
    std::cerr << "pagectl verify: " << s.message() << "\n";
    return 2;
  };
  if (o.lsn == 0) return fail(absl::InvalidArgumentError("--lsn must be the datadir's LSN"));
  if (o.batch == 0) return fail(absl::InvalidArgumentError("--batch must be positive"));
  auto skip = ReadSkipPages(o.skip_pages);
  if (!skip.ok()) return fail(skip.status());
  auto files = replay::ListInnodbFiles(o.datadir);
  if (!files.ok()) return fail(files.status());
  std::sort(files->begin(), files->end(),
            [](const replay::InnodbFile& a, const replay::InnodbFile& b) {
              return a.space_id < b.space_id;
            });
  auto client = ConnectToServer(o.server);
  if (!client.ok()) return fail(client.status());
  std::unique_ptr<client::HttpPageClient> http;
  if (!o.http_server.empty()) {
    auto created =
        client::HttpPageClient::Create(o.http_server, absl::Seconds(o.server.deadline_seconds),
                                       client::kDefaultPageSize, o.server.token, o.server.tls);
    if (!created.ok()) return fail(created.status());
    http = std::move(*created);
  }
  auto status = (*client)->GetStatus();
  if (!status.ok()) return fail(status.status());
  Verifier verifier(o, status->base_lsn, **client, http.get());
  verifier.set_gc_cutoff(status->gc_cutoff_lsn);
  for (const replay::InnodbFile& file : *files) {
    if (auto s = verifier.VerifyFile(file, *skip); !s.ok()) {
      verifier.Done();
      return fail(s);
    }
  }
  verifier.Done();
  const uint64_t extra = verifier.ReportExtraTablespaces(*files);
  const Counts& c = verifier.counts();
  std::cout << absl::StrFormat(
      "verify: %d tablespaces at LSN %d over %s; %d pages skipped (doublewrite or "
      "--skip-pages), %d all-zero pages of files beyond the tablespace's size%s\n",
      files->size(), o.lsn, http ? "HTTP" : "gRPC", c.skipped, c.zero_beyond_size,
      extra ? absl::StrFormat("; %d tablespaces only on the server", extra) : "");
  std::cout << absl::StrFormat(
      "verify: %d pages compared, %d differ; %d freed: %d equal to the file, %d equal to the "
      "file's older image at its FIL_PAGE_LSN, %d zero in the file%s\n",
      c.compared, c.differ, c.freed, c.freed_equal, c.freed_older, c.freed_zero,
      c.freed_before_gc == 0
          ? std::string()
          : absl::StrFormat(", %d older than the GC cutoff (not comparable)", c.freed_before_gc));
  uint64_t aux_differ = 0;
  if (o.aux) {
    absl::StatusOr<uint64_t> d = VerifyAuxFiles(**client, o.datadir, *files, Lsn(o.lsn));
    if (!d.ok()) return fail(d.status());
    aux_differ = *d;
  }
  return c.differ == 0 && c.compared > 0 && extra == 0 && aux_differ == 0 ? 0 : 1;
}

}  // namespace

void RegisterVerify(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Compare every page of a datadir MariaDB produced at an LSN with the server's");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--datadir", o->datadir, "datadir MariaDB produced at --lsn")->required();
  cmd->add_option("--lsn", o->lsn, "the LSN of the datadir")->required();
  cmd->add_option("--skip-pages", o->skip_pages, "\"space page\" lines of pages not to compare");
  cmd->add_option("--http-server", o->http_server,
                  "fetch the pages through the HTTP JSON API at HOST:PORT");
  cmd->add_option("--batch", o->batch, "pages per GetPages call");
  cmd->add_option("--max-report", o->max_report, "differing pages to describe");
  cmd->add_flag("--aux", o->aux,
                "also compare the datadir's aux files (.frm, db.opt, Aria tables, ...) with the "
                "server's at --lsn");
  cmd->callback([o, &exit_code] { exit_code = Run(*o); });
}

}  // namespace pageserver::pagectl
