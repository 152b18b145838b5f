// pagectl getpage --server HOST:PORT --space S --page P [--lsn L] [--out FILE] [--http]
// Fetches one page (at LSN L, default the latest) through the client library, over gRPC or,
// with --http, the HTTP JSON API at --server. Writes the page to FILE, or prints what it is.
#include <fstream>
#include <iostream>

#include "absl/strings/str_format.h"
#include "client/http_page_client.h"
#include "common/byte_order.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "tools/pagectl/commands.h"
#include "tools/pagectl/datadir_pages.h"
#include "tools/pagectl/server_flags.h"

namespace pageserver::pagectl {
namespace {

struct Options {
  ServerFlags server;
  uint32_t space = 0;
  uint32_t page = 0;
  uint64_t lsn = 0;
  std::string out;
  bool http = false;
};

std::string ChecksumVerdict(std::span<const uint8_t> page) {
  if (page.empty()) return "no image";
  if (IsZeroPage(page)) return "all zero";
  if (redo::PageChecksumValid(page, /*full_crc32=*/true)) return "valid (full_crc32)";
  if (redo::PageChecksumValid(page, /*full_crc32=*/false)) return "valid (crc32)";
  return "INVALID";
}

absl::StatusOr<client::Page> Fetch(const Options& o) {
  const PageId id{SpaceId(o.space), PageNo(o.page)};
  if (o.http) {
    auto http =
        client::HttpPageClient::Create(o.server.server, absl::Seconds(o.server.deadline_seconds),
                                       client::kDefaultPageSize, o.server.token, o.server.tls);
    if (!http.ok()) return http.status();
    return (*http)->GetPage(id, Lsn(o.lsn));
  }
  auto client = ConnectToServer(o.server);
  if (!client.ok()) return client.status();
  return (*client)->GetPage(id, Lsn(o.lsn));
}

int Run(const Options& o) {
  auto page = Fetch(o);
  if (!page.ok()) {
    std::cerr << "pagectl getpage: " << page.status().message() << "\n";
    return 1;
  }
  if (!o.out.empty()) {
    std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(page->data.data()),
              static_cast<std::streamsize>(page->data.size()));
    out.close();
    if (!out) {
      std::cerr << "pagectl getpage: cannot write " << o.out << "\n";
      return 1;
    }
    std::cerr << absl::StrFormat("pagectl getpage: wrote %d bytes to %s\n", page->data.size(),
                                 o.out);
    return 0;
  }
  const std::vector<uint8_t>& d = page->data;
  std::cout << absl::StrFormat("space %d page %d at LSN %d: %d bytes, %d records applied%s\n",
                               page->id.space.value(), page->id.page.value(), page->lsn.value(),
                               d.size(), page->records_applied, page->freed ? ", FREE" : "");
  if (d.size() >= redo::kFilPageType + 2) {
    std::cout << absl::StrFormat("FIL_PAGE_LSN %d, page type %d, checksum %s\n",
                                 ReadBe64(d.data() + redo::kFilPageLsn),
                                 ReadBe16(d.data() + redo::kFilPageType), ChecksumVerdict(d));
  }
  return 0;
}

}  // namespace

void RegisterGetpage(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("getpage", "Fetch one page from the server");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--space", o->space, "tablespace id")->required();
  cmd->add_option("--page", o->page, "page number")->required();
  cmd->add_option("--lsn", o->lsn, "read at this LSN (default: the latest)");
  cmd->add_option("--out", o->out, "write the page here instead of describing it");
  cmd->add_flag("--http", o->http, "use the HTTP JSON API at --server instead of gRPC");
  cmd->callback([o, &exit_code] { exit_code = Run(*o); });
}

}  // namespace pageserver::pagectl
