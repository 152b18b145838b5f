#include "compute/page_io.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/status_macros.h"
#include "compute/server_patience.h"

namespace pageserver::compute {
namespace {

constexpr size_t kFilPageLsn = 16;   // FIL_PAGE_LSN: the end LSN of the page's last change
constexpr uint64_t kReportedMismatches = 20;

bool AllZero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

PageIo::PageIo(client::PageServerClient& client, RedoShipper& shipper, uint32_t page_size,
               bool verify, absl::Duration patience)
    : client_(client), shipper_(shipper), page_size_(page_size), verify_(verify),
      patience_(patience) {}

Lsn PageIo::ReadLsn(PageId id) const {
  // Never the durable LSN itself: its tail may be stale bytes a later write replaces
  // (redo_shipper.h). The confirmed LSN is enough for a page this compute never wrote (its last
  // change is older); a page it wrote is read at that write's FIL_PAGE_LSN or later.
  Lsn lsn = shipper_.confirmed_lsn();
  std::lock_guard<std::mutex> lock(written_mu_);
  if (auto it = written_.find(id); it != written_.end()) lsn = std::max(lsn, it->second);
  return lsn;
}

absl::Status PageIo::Read(SpaceId space, const std::string& path, uint64_t offset,
                          std::span<uint8_t> out) {
  if (out.empty()) return absl::OkStatus();
  const uint64_t first = offset / page_size_;
  const uint64_t last = (offset + out.size() - 1) / page_size_;
  std::vector<client::PageRequest> requests;
  for (uint64_t p = first; p <= last; ++p) {
    const PageId id{space, PageNo(static_cast<uint32_t>(p))};
    requests.push_back({id, ReadLsn(id)});
  }
  ASSIGN_OR_RETURN(std::vector<client::PageOrError> pages,
                   WithPatience(patience_, [&] { return client_.GetPages(requests); }, [] {}));
  for (size_t i = 0; i < pages.size(); ++i) {
    const uint64_t page_start = (first + i) * page_size_;
    const uint64_t from = std::max(offset, page_start);
    const uint64_t to = std::min<uint64_t>(offset + out.size(), page_start + page_size_);
    uint8_t* dest = out.data() + (from - offset);
    if (!pages[i].ok()) {
      if (absl::IsOutOfRange(pages[i].status())) {  // past the end at this LSN: never written
        std::memset(dest, 0, to - from);
        continue;
      }
      return absl::Status(pages[i].status().code(),
                          absl::StrFormat("reading %s (space %d) page %d at LSN %d: %s", path,
                                          space.value(), first + i, requests[i].lsn.value(),
                                          pages[i].status().message()));
    }
    std::memcpy(dest, pages[i]->data.data() + (from - page_start), to - from);
  }
  pages_read_.fetch_add(pages.size());
  return absl::OkStatus();
}

absl::Status PageIo::Write(SpaceId space, const std::string& path, uint64_t offset,
                           std::span<const uint8_t> data) {
  if (offset % page_size_ != 0 || data.size() % page_size_ != 0) {
    if (AllZero(data)) return absl::OkStatus();  // an extension written as zeros
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: a write of %d bytes at offset %d is not whole %d-byte pages; InnoDB writes pages",
        path, data.size(), offset, page_size_));
  }
  for (size_t at = 0; at < data.size(); at += page_size_) {
    std::span<const uint8_t> page = data.subspan(at, page_size_);
    const Lsn lsn(ReadBe64(page.data() + kFilPageLsn));
    const PageNo page_no(static_cast<uint32_t>((offset + at) / page_size_));
    if (absl::Status s = shipper_.EnsureDurable(lsn); !s.ok()) {
      return absl::Status(s.code(), absl::StrFormat("%s (space %d) page %d: %s", path,
                                                    space.value(), page_no.value(), s.message()));
    }
    {
      std::lock_guard<std::mutex> lock(written_mu_);
      Lsn& seen = written_[PageId{space, page_no}];
      seen = std::max(seen, lsn);
    }
    pages_written_.fetch_add(1);
    if (verify_ && !AllZero(page)) RETURN_IF_ERROR(Verify(PageId{space, page_no}, lsn, page, path));
  }
  return absl::OkStatus();
}

absl::Status PageIo::Verify(PageId id, Lsn lsn, std::span<const uint8_t> page,
                            const std::string& path) {
  absl::StatusOr<client::Page> server =
      WithPatience(patience_, [&] { return client_.GetPage(id, lsn); }, [] {});
  pages_verified_.fetch_add(1);
  std::string problem;
  if (!server.ok()) {
    problem = std::string(server.status().message());
  } else if (server->data.size() != page.size() ||
             std::memcmp(server->data.data(), page.data(), page.size()) != 0) {
    const size_t at = static_cast<size_t>(
        std::mismatch(page.begin(), page.end(), server->data.begin()).first - page.begin());
    problem = absl::StrFormat("differs from the server's page from byte %d", at);
  }
  if (problem.empty()) return absl::OkStatus();
  if (mismatches_.fetch_add(1) < kReportedMismatches) {
    std::fprintf(stderr, "compute verify: %s (space %u) page %u at FIL_PAGE_LSN %llu: %s\n",
                 path.c_str(), id.space.value(), id.page.value(),
                 static_cast<unsigned long long>(lsn.value()), problem.c_str());
  }
  return absl::OkStatus();
}

PageIoStats PageIo::stats() const {
  return PageIoStats{pages_read_.load(), pages_written_.load(), pages_verified_.load(),
                     mismatches_.load()};
}

}  // namespace pageserver::compute
