#include "tools/pagectl/datadir_pages.h"

#include <algorithm>
#include <sstream>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"

namespace pageserver::pagectl {
namespace {

constexpr uint32_t kDoublewriteMagic = 536853855;
constexpr uint32_t kExtentPages = 64;

}  // namespace

PageReader::PageReader(const std::string& path)
    : in_(path, std::ios::binary | std::ios::ate),
      open_(static_cast<bool>(in_)),
      size_(open_ ? static_cast<uint64_t>(in_.tellg()) : 0) {}

const std::vector<uint8_t>& PageReader::Page(uint64_t p) {
  std::fill(page_.begin(), page_.end(), 0);
  if (p * kPageSize < size_) {
    const std::streamsize want =
        static_cast<std::streamsize>(std::min<uint64_t>(kPageSize, size_ - p * kPageSize));
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(p * kPageSize));
    in_.read(reinterpret_cast<char*>(page_.data()), want);
    if (in_.gcount() != want) read_failed_ = true;
  }
  return page_;
}

std::set<uint32_t> DoublewritePages(PageReader& ibdata) {
  std::set<uint32_t> pages;
  if (ibdata.pages() < 6) return pages;
  const uint8_t* dw = ibdata.Page(5).data() + kPageSize - 200;
  if (ReadBe32(dw + 10) != kDoublewriteMagic) return pages;
  for (uint32_t block : {ReadBe32(dw + 14), ReadBe32(dw + 18)}) {
    for (uint32_t i = 0; i < kExtentPages; ++i) pages.insert(block + i);
  }
  return pages;
}

absl::StatusOr<PageSet> ReadSkipPages(const std::string& path) {
  PageSet pages;
  if (path.empty()) return pages;
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrFormat("cannot read %s", path));
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream fields(line);
    uint32_t space, page;
    std::string rest;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!(fields >> space >> page) || (fields >> rest)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s line %d: \"%s\" is not \"space page\"", path, number, line));
    }
    pages.insert({space, page});
  }
  return pages;
}

bool IsZeroPage(std::span<const uint8_t> page) {
  return std::all_of(page.begin(), page.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace pageserver::pagectl
