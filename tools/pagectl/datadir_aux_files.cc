#include "tools/pagectl/datadir_aux_files.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "common/aux_file_limits.h"
#include "compute/datadir_file_class.h"
#include "wal/record.h"

namespace pageserver::pagectl {
namespace fs = std::filesystem;

absl::StatusOr<std::vector<DatadirAuxFile>> ListDatadirAuxFiles(
    const std::string& datadir, const std::set<std::string>& innodb_paths) {
  std::set<std::string> innodb;
  for (const std::string& p : innodb_paths) innodb.insert(wal::NormalizeRelativePath(p));
  std::vector<DatadirAuxFile> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(datadir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string relative = fs::relative(it->path(), datadir, ec).generic_string();
    if (ec) break;
    // An import takes the durable files only: a clean datadir's temporary files are leftovers.
    if (innodb.count(relative) || compute::ClassifyDatadirPath(relative) != compute::FileClass::kAux) {
      continue;
    }
    DatadirAuxFile f{relative, it->path().string(), it->file_size(ec)};
    if (ec) break;
    if (f.size > kMaxAuxFileBytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: %d bytes, more than the %d the page server keeps of one file (a compute's "
          "non-InnoDB files are kept whole)",
          f.full_path, f.size, kMaxAuxFileBytes));
    }
    out.push_back(std::move(f));
  }
  if (ec) return absl::InternalError(absl::StrFormat("listing %s: %s", datadir, ec.message()));
  std::sort(out.begin(), out.end(), [](const DatadirAuxFile& a, const DatadirAuxFile& b) {
    return a.relative_path < b.relative_path;
  });
  return out;
}

}  // namespace pageserver::pagectl
