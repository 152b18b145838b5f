// pagectl import --server HOST:PORT --datadir DIR: makes a datadir the base of the server's
// empty timeline. The datadir must be consistent at its checkpoint: a clean shutdown, or a
// backup after mariadb-backup --prepare. Its base LSN is the checkpoint LSN of DIR/ib_logfile0;
// the catalog lists every InnoDB file (space id, path, FSP_SPACE_FLAGS of page 0, size in
// pages); then every page follows in ascending (space, page) order, ~64 pages a message.
//
// Rule: a datadir is consistent at its checkpoint only if no page change follows the
// checkpoint in its log: after a clean shutdown or a prepare the log holds nothing after the
// checkpoint LSN but the checkpoint's own FILE_MODIFY / FILE_CHECKPOINT records. Anything else
// means pages in the files may be older than the log says, and the import is refused.
#include <algorithm>
#include <iostream>
#include <map>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "redo/tablespace_format.h"
#include "replay/datadir.h"
#include "replay/progress.h"
#include "tools/pagectl/commands.h"
#include "tools/pagectl/datadir_pages.h"
#include "tools/pagectl/server_flags.h"
#include "wal/log_file.h"

namespace pageserver::pagectl {
namespace {

constexpr size_t kPagesPerMessage = 64;

struct Options {
  ServerFlags server;
  std::string datadir;
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

int RunImport(const ServerFlags& server, const std::string& datadir) {
  const Options o{server, datadir};
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
  for (const ImportFile& f : *files) {
    catalog.tablespaces.push_back(f.tablespace);
    total_pages += f.tablespace.pages;
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
  if (bad_checksums > 0) {
    std::cerr << absl::StrFormat("pagectl import: warning: %d pages fail their checksum\n",
                                 bad_checksums);
  }
  std::cout << absl::StrFormat(
      "imported %d pages (%d bytes) of %d tablespaces at LSN %d in %.3f s\n", result->pages,
      result->pages * kPageSize, files->size(), result->lsn.value(), progress.Seconds());
  return 0;
}

void RegisterImport(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("import", "Make a cleanly shut down datadir the base of the server");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--datadir", o->datadir, "datadir after a clean shutdown or a prepared backup")
      ->required();
  cmd->callback([o, &exit_code] { exit_code = RunImport(o->server, o->datadir); });
}

}  // namespace pageserver::pagectl
