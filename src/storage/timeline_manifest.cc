#include "storage/timeline_manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/str_format.h"
#include "common/file_io.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace pageserver::storage {
namespace {

constexpr int kFormatVersion = 1;
constexpr char kManifestName[] = "timeline.json";

}  // namespace

std::string ImageLayerName(Lsn lsn) { return absl::StrFormat("image_%020d.layer", lsn.value()); }

std::string DeltaLayerName(Lsn start, Lsn end) {
  return absl::StrFormat("delta_%020d_%020d.layer", start.value(), end.value());
}

bool IsImageLayerName(const std::string& name) { return name.starts_with("image_"); }

bool IsLayerFileName(const std::string& name) {
  static const std::regex kName("(image_[0-9]{20}|delta_[0-9]{20}_[0-9]{20})\\.layer");
  return std::regex_match(name, kName);
}

absl::StatusOr<std::optional<Manifest>> ReadManifest(const std::string& dir) {
  const std::string path = dir + "/" + kManifestName;
  std::ifstream in(path);
  if (!in) {
    if (!std::filesystem::exists(path)) return std::optional<Manifest>();
    return ErrnoError("open", path);
  }
  std::stringstream text;
  text << in.rdbuf();
  ASSIGN_OR_RETURN(Manifest m, ParseManifestJson(text.str(), path));
  return std::optional<Manifest>(std::move(m));
}

absl::StatusOr<Manifest> ParseManifestJson(const std::string& text, const std::string& where) {
  Manifest m;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (j.at("format_version").get<int>() != kFormatVersion) {
      return absl::DataLossError(absl::StrFormat("%s: format version %d, expected %d", where,
                                                 j.at("format_version").get<int>(),
                                                 kFormatVersion));
    }
    m.base_lsn = Lsn(j.at("base_lsn").get<uint64_t>());
    m.page_size = j.at("page_size").get<uint32_t>();
    m.disk_consistent_lsn = Lsn(j.at("disk_consistent_lsn").get<uint64_t>());
    m.layers = j.at("layers").get<std::vector<std::string>>();
    for (const std::string& name : m.layers) {
      if (!IsLayerFileName(name)) {
        return absl::DataLossError(
            absl::StrFormat("%s names \"%s\", which is not a layer file name", where, name));
      }
    }
    ASSIGN_OR_RETURN(m.catalog, Catalog::FromJson(j.at("catalog")));
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrFormat("%s is malformed: %s", where, e.what()));
  }
  return m;
}

std::string ManifestJson(const Manifest& m) {
  nlohmann::json j;
  j["format_version"] = kFormatVersion;
  j["base_lsn"] = m.base_lsn.value();
  j["page_size"] = m.page_size;
  j["disk_consistent_lsn"] = m.disk_consistent_lsn.value();
  j["layers"] = m.layers;
  j["catalog"] = m.catalog.ToJson(m.disk_consistent_lsn);
  return j.dump(1) + "\n";
}

absl::Status WriteManifest(const std::string& dir, const Manifest& m) {
  return WriteFileAtomically(dir + "/" + kManifestName, ManifestJson(m));
}

}  // namespace pageserver::storage
