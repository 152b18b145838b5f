#include "replay/datadir.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"

namespace pageserver::replay {
namespace fs = std::filesystem;

absl::StatusOr<std::vector<InnodbFile>> ListInnodbFiles(const std::string& datadir) {
  std::error_code ec;
  if (!fs::is_directory(datadir, ec)) {
    return absl::NotFoundError(absl::StrFormat("%s is not a directory", datadir));
  }
  static const std::regex kUndo("undo[0-9]{3}");
  std::vector<InnodbFile> files;
  for (auto it = fs::recursive_directory_iterator(datadir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return absl::InternalError(absl::StrFormat("listing %s: %s", datadir, ec.message()));
    if (!it->is_regular_file(ec) || ec) continue;
    const std::string name = it->path().filename().string();
    const bool top = it->path().parent_path() == fs::path(datadir) ||
                     fs::equivalent(it->path().parent_path(), datadir, ec);
    const bool innodb = (top && (name == "ibdata1" || std::regex_match(name, kUndo))) ||
                        it->path().extension() == ".ibd";
    if (!innodb) continue;
    std::ifstream in(it->path(), std::ios::binary);
    uint8_t header[42];
    if (!in.read(reinterpret_cast<char*>(header), sizeof(header))) {
      return absl::DataLossError(
          absl::StrFormat("%s: too short to hold an InnoDB page 0", it->path().string()));
    }
    // The iterator's paths are `datadir` + "/" + the relative part.
    std::string relative = it->path().string().substr(datadir.size());
    while (!relative.empty() && relative[0] == '/') relative.erase(0, 1);
    files.push_back(
        {NormalizeRelativePath(relative), SpaceId(ReadBe32(header + 38))});  // FSP_SPACE_ID
  }
  // A failed increment ends the loop like the end of the listing does: a partial list must not
  // pass for the whole datadir.
  if (ec) return absl::InternalError(absl::StrFormat("listing %s: %s", datadir, ec.message()));
  std::sort(files.begin(), files.end(), [](const InnodbFile& a, const InnodbFile& b) {
    return a.relative_path < b.relative_path;
  });
  return files;
}

}  // namespace pageserver::replay
