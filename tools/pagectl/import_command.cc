// pagectl import --server HOST:PORT --datadir DIR: makes a datadir the base of the server's
// empty timeline. The datadir must be consistent at its checkpoint: a clean shutdown, or a
// backup after mariadb-backup --prepare. Its base LSN is the checkpoint LSN of DIR/ib_logfile0;
// the catalog lists every InnoDB file (space id, path, FSP_SPACE_FLAGS of page 0, size in
// pages); then every page follows in ascending (space, page) order, ~64 pages a message. Then
// the datadir's aux files (datadir_aux_files.h: .frm, db.opt, the Aria system tables, ...) are
// stored whole at the base LSN, so that a compute can start from the server alone. They are
// listed (and their sizes checked) before anything is sent.
//
// Rule: a datadir is consistent at its checkpoint only if no page change follows the
// checkpoint in its log: after a clean shutdown or a prepare the log holds nothing after the
// checkpoint LSN but the checkpoint's own FILE_MODIFY / FILE_CHECKPOINT records. Anything else
// means pages in the files may be older than the log says, and the import is refused.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "redo/tablespace_format.h"
#include "replay/datadir.h"
#include "replay/progress.h"
#include "tools/pagectl/commands.h"
#include "tools/pagectl/datadir_aux_files.h"
#include "tools/pagectl/datadir_pages.h"
#include "tools/pagectl/server_flags.h"
#include "wal/log_file.h"

namespace pageserver::pagectl {
namespace {

constexpr size_t kPagesPerMessage = 64;

struct Options {
  ServerFlags server;
  std::string datadir;
  bool no_aux_files = false;  // pages only (a datadir whose other files a compute will not use)
};

struct ImportFile {
  client::Tablespace tablespace;
  std::string full_path;
  bool full_crc32 = true;
};

// The LSN `datadir`'s pages are at: the end of its log, if nothing but checkpoint records
// (FILE_CHECKPOINT, FILE_MODIFY) follow its checkpoint. The end, not the checkpoint: a
// `mariadb-backup --prepare`d backup's log is a new file whose checkpoint mini-transaction
// exists only there — its end is the LSN the backup copied redo to, a mini-transaction boundary
// of the source's log, where following it continues. After a clean shutdown the two differ only
// by that checkpoint mini-transaction, which changes no page.
absl::StatusOr<Lsn> CleanCheckpointLsn(const std::string& datadir) {
  auto log = wal::LogFile::Open(datadir + "/ib_logfile0");
  if (!log.ok()) return log.status();
  const Lsn checkpoint = log->checkpoint().checkpoint_lsn;
  std::optional<Lsn> first_change;
  auto end = wal::ScanLog(*log, checkpoint, std::nullopt, [&](const wal::Mtr& mtr) {
    for (const wal::Record& r : mtr.records) {
      if (r.type != wal::RecordType::kFileCheckpoint && r.type != wal::RecordType::kFileModify) {
        if (!first_change) first_change = mtr.start_lsn;
      }
    }
    return absl::OkStatus();
  });
  if (!end.ok()) return end.status();
  if (first_change) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s was not shut down cleanly: log has %d bytes of redo after its checkpoint at LSN %d "
        "(the first page change at LSN %d); run mariadb-backup --prepare or a clean shutdown "
        "first",
        datadir, end->end_lsn - checkpoint, checkpoint.value(), first_change->value()));
  }
  return end->end_lsn;
}

// The catalog entry of every InnoDB file, in ascending space id order.
absl::StatusOr<std::vector<ImportFile>> Catalog(const std::string& datadir) {
  auto files = replay::ListInnodbFiles(datadir);
  if (!files.ok()) return files.status();
  std::vector<ImportFile> catalog;
  std::map<uint32_t, std::string> by_space;
  for (const replay::InnodbFile& f : *files) {
    ImportFile file;
    file.full_path = datadir + "/" + f.relative_path;
    PageReader reader(file.full_path);
    if (!reader.is_open()) {
      return absl::NotFoundError(absl::StrFormat("cannot open %s", file.full_path));
    }
    if (reader.size_bytes() % kPageSize != 0) {
      return absl::DataLossError(
          absl::StrFormat("%s: %d bytes is not a whole number of %d-byte "
                          "pages",
                          file.full_path, reader.size_bytes(), kPageSize));
    }
    const std::vector<uint8_t>& page0 = reader.Page(0);
    if (reader.read_failed()) {
      return absl::DataLossError(absl::StrFormat("%s: cannot read page 0", file.full_path));
    }
    auto format = redo::ReadTablespaceFormat(page0, f.space_id);
    if (!format.ok()) {
      return absl::FailedPreconditionError(
          absl::StrFormat("%s: %s", file.full_path, format.status().message()));
    }
    file.full_crc32 = format->full_crc32;
    file.tablespace = {f.space_id, f.relative_path, ReadBe32(page0.data() + redo::kFspSpaceFlags),
                       static_cast<uint32_t>(reader.pages())};
    if (auto [it, fresh] = by_space.emplace(f.space_id.value(), f.relative_path); !fresh) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s and %s both hold tablespace %d", it->second, f.relative_path, f.space_id.value()));
    }
    catalog.push_back(std::move(file));
  }
  std::sort(catalog.begin(), catalog.end(), [](const ImportFile& a, const ImportFile& b) {
    return a.tablespace.space < b.tablespace.space;
  });
  return catalog;
}

}  // namespace

int RunImport(const ServerFlags& server, const std::string& datadir, bool with_aux_files) {
  const Options o{server, datadir, !with_aux_files};
  auto fail = [](const absl::Status& s) {
    std::cerr << "pagectl import: " << s.message() << "\n";
    return 1;
  };
  auto lsn = CleanCheckpointLsn(o.datadir);
  if (!lsn.ok()) return fail(lsn.status());
  auto files = Catalog(o.datadir);
  if (!files.ok()) return fail(files.status());
  uint64_t total_pages = 0;
  client::ImportCatalog catalog{*lsn, kPageSize, {}};
  std::set<std::string> innodb_paths;
  for (const ImportFile& f : *files) {
    catalog.tablespaces.push_back(f.tablespace);
    total_pages += f.tablespace.pages;
    innodb_paths.insert(f.tablespace.path);
  }
  auto aux_files = o.no_aux_files ? std::vector<DatadirAuxFile>()
                                  : ListDatadirAuxFiles(o.datadir, innodb_paths);
  if (!aux_files.ok()) {
    return fail(absl::Status(
        aux_files.status().code(),
        absl::StrCat(aux_files.status().message(), "; nothing was imported (--no-aux-files "
                                                   "imports the InnoDB pages only)")));
  }
  auto client = ConnectToServer(o.server);
  if (!client.ok()) return fail(client.status());
  auto writer = (*client)->Import(catalog);
  if (!writer.ok()) return fail(writer.status());

  replay::Progress progress;
  uint64_t sent = 0, bad_checksums = 0;
  std::vector<uint8_t> buffer(kPagesPerMessage * kPageSize);
  std::vector<client::ImportPage> pages;
  for (const ImportFile& f : *files) {
    PageReader reader(f.full_path);
    const uint32_t n = f.tablespace.pages;
    for (uint32_t first = 0; first < n; first += kPagesPerMessage) {
      pages.clear();
      for (uint32_t p = first; p < std::min<uint64_t>(n, first + kPagesPerMessage); ++p) {
        uint8_t* slot = buffer.data() + (p - first) * kPageSize;
        const std::vector<uint8_t>& page = reader.Page(p);
        std::copy(page.begin(), page.end(), slot);
        std::span<const uint8_t> bytes(slot, kPageSize);
        if (!redo::PageChecksumValid(bytes, f.full_crc32) && bad_checksums++ < 5) {
          std::cerr << absl::StrFormat("pagectl import: warning: %s page %d fails its checksum\n",
                                       f.tablespace.path, p);
        }
        pages.push_back({{f.tablespace.space, PageNo(p)}, bytes});
      }
      if (reader.read_failed()) {
        return fail(absl::DataLossError(
            absl::StrFormat("%s: read error at pages %d..", f.full_path, first)));
      }
      if (auto s = (*writer)->Write(pages); !s.ok()) return fail(s);
      sent += pages.size();
      if (progress.Due()) {
        progress.Show(absl::StrFormat(
            "import: %s page %d/%d, %d/%d pages, %.1f MB/s", f.tablespace.path,
            first + pages.size(), n, sent, total_pages,
            static_cast<double>(sent * kPageSize) / 1e6 / std::max(progress.Seconds(), 1e-9)));
      }
    }
  }
  auto result = (*writer)->Finish();
  progress.Done();
  if (!result.ok()) return fail(result.status());
  uint64_t aux_bytes = 0;
  for (const DatadirAuxFile& f : *aux_files) {
    std::ifstream in(f.full_path, std::ios::binary);
    std::vector<uint8_t> content(f.size);
    in.read(reinterpret_cast<char*>(content.data()), static_cast<std::streamsize>(content.size()));
    if (!in) return fail(absl::DataLossError(absl::StrFormat("%s: read error", f.full_path)));
    if (absl::Status s = (*client)->PutAuxFile(f.relative_path, result->lsn, content); !s.ok()) {
      return fail(absl::Status(s.code(), absl::StrFormat("storing %s: %s (the pages are "
                                                         "imported; the aux files only in part)",
                                                         f.relative_path, s.message())));
    }
    aux_bytes += content.size();
  }
  if (bad_checksums > 0) {
    std::cerr << absl::StrFormat("pagectl import: warning: %d pages fail their checksum\n",
                                 bad_checksums);
  }
  std::cout << absl::StrFormat(
      "imported %d pages (%d bytes) of %d tablespaces and %d aux files (%d bytes) at LSN %d in "
      "%.3f s\n",
      result->pages, result->pages * kPageSize, files->size(), aux_files->size(), aux_bytes,
      result->lsn.value(), progress.Seconds());
  return 0;
}

void RegisterImport(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("import", "Make a cleanly shut down datadir the base of the server");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--datadir", o->datadir, "datadir after a clean shutdown or a prepared backup")
      ->required();
  cmd->add_flag("--no-aux-files", o->no_aux_files,
                "import the InnoDB pages only, not the datadir's other files (.frm, Aria, ...)");
  cmd->callback(
      [o, &exit_code] { exit_code = RunImport(o->server, o->datadir, !o->no_aux_files); });
}

}  // namespace pageserver::pagectl
