#include "storage/timeline_manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <charconv>
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

std::string Level1DeltaLayerName(Lsn start, Lsn end, uint64_t key_start) {
  return absl::StrFormat("delta_%020d_%020d_%016x.layer", start.value(), end.value(), key_start);
}

std::string FullImageLayerName(Lsn lsn, uint32_t part) {
  return absl::StrFormat("image_%020d_full%04d.layer", lsn.value(), part);
}

bool IsImageLayerName(const std::string& name) { return name.starts_with("image_"); }

bool IsLayerFileName(const std::string& name) {
  static const std::regex kName(
      "(image_[0-9]{20}(_full[0-9]{4})?|delta_[0-9]{20}_[0-9]{20}(_[0-9a-f]{16})?)\\.layer");
  return std::regex_match(name, kName);
}

namespace {
Lsn LsnAt(const std::string& name, size_t at) {
  uint64_t v = 0;
  std::from_chars(name.data() + at, name.data() + at + 20, v);
  return Lsn(v);
}
}  // namespace

Lsn ImageLayerLsn(const std::string& name) { return LsnAt(name, 6); }

std::pair<Lsn, Lsn> DeltaLayerLsns(const std::string& name) {
  return {LsnAt(name, 6), LsnAt(name, 27)};
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
    // Absent in manifests written before garbage collection existed.
    m.gc_cutoff_lsn = Lsn(j.value("gc_cutoff_lsn", uint64_t{0}));
    if (j.contains("full_image_lsns")) {
      for (uint64_t lsn : j.at("full_image_lsns").get<std::vector<uint64_t>>()) {
        m.full_image_lsns.push_back(Lsn(lsn));
      }
    } else {
      m.full_image_lsns.push_back(m.base_lsn);
    }
    m.identity.id = j.value("timeline_id", std::string());
    m.identity.ancestor_id = j.value("ancestor_timeline_id", std::string());
    m.identity.ancestor_lsn = Lsn(j.value("ancestor_lsn", uint64_t{0}));
    if (m.identity.ancestor_id.empty() != (m.identity.ancestor_lsn == Lsn(0))) {
      return absl::DataLossError(
          absl::StrFormat("%s: an ancestor needs both its id and the branch LSN", where));
    }
    if (j.contains("lsn_times")) {
      for (const auto& [time, lsn] :
           j.at("lsn_times").get<std::vector<std::pair<int64_t, uint64_t>>>()) {
        m.lsn_times.emplace_back(time, Lsn(lsn));
      }
    }
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
  j["gc_cutoff_lsn"] = m.gc_cutoff_lsn.value();
  if (!m.identity.id.empty()) j["timeline_id"] = m.identity.id;
  if (!m.identity.ancestor_id.empty()) {
    j["ancestor_timeline_id"] = m.identity.ancestor_id;
    j["ancestor_lsn"] = m.identity.ancestor_lsn.value();
  }
  std::vector<uint64_t> full;
  for (Lsn lsn : m.full_image_lsns) full.push_back(lsn.value());
  j["full_image_lsns"] = full;
  std::vector<std::pair<int64_t, uint64_t>> times;
  for (const auto& [time, lsn] : m.lsn_times) times.emplace_back(time, lsn.value());
  j["lsn_times"] = times;
  return j.dump(1) + "\n";
}

absl::Status WriteManifest(const std::string& dir, const Manifest& m) {
  return WriteFileAtomically(dir + "/" + kManifestName, ManifestJson(m));
}

}  // namespace pageserver::storage
