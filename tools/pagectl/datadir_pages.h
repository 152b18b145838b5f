// Page-level access to a datadir's InnoDB files, shared by the subcommands that walk them page
// by page (compare, import, verify): a page reader for one file, the pages of ibdata1 that hold
// the doublewrite buffer (written without redo, so never compared), and the "space page" lists
// of pages to skip.
#pragma once

#include <cstdint>
#include <fstream>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace pageserver::pagectl {

inline constexpr size_t kPageSize = 16384;

// Reads one page at a time, so that files of any size are walked in constant memory. Pages past
// the end of the file read as zero. Not thread-safe.
class PageReader {
 public:
  explicit PageReader(const std::string& path);
  bool is_open() const { return open_; }
  uint64_t size_bytes() const { return size_; }
  uint64_t pages() const { return (size_ + kPageSize - 1) / kPageSize; }
  // The page; valid until the next call. A read that fails inside the file sets read_failed().
  const std::vector<uint8_t>& Page(uint64_t p);
  bool read_failed() const { return read_failed_; }

 private:
  std::ifstream in_;
  bool open_;
  uint64_t size_;
  bool read_failed_ = false;
  std::vector<uint8_t> page_ = std::vector<uint8_t>(kPageSize);
};

// Pages of ibdata1 that hold the doublewrite buffer, from the TRX_SYS page.
std::set<uint32_t> DoublewritePages(PageReader& ibdata);

using PageSet = std::set<std::pair<uint32_t, uint32_t>>;  // (space id, page number)

// Reads "space page" lines. An empty `path` is an empty set; a file that cannot be read or a
// line that is not two numbers is an error naming the file and the line.
absl::StatusOr<PageSet> ReadSkipPages(const std::string& path);

bool IsZeroPage(std::span<const uint8_t> page);

}  // namespace pageserver::pagectl
