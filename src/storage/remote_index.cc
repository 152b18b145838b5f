#include "storage/remote_index.h"

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace pageserver::storage {

std::string RemoteIndexJson(const RemoteIndex& index) {
  nlohmann::json j = nlohmann::json::parse(ManifestJson(index.manifest));
  j["generation"] = index.generation;
  j["layer_generations"] = index.layer_generations;
  return j.dump(1) + "\n";
}

absl::StatusOr<RemoteIndex> ParseRemoteIndex(std::span<const uint8_t> bytes,
                                             const std::string& where) {
  const std::string text(bytes.begin(), bytes.end());
  RemoteIndex index;
  ASSIGN_OR_RETURN(index.manifest, ParseManifestJson(text, where));
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    index.generation = j.at("generation").get<Generation>();
    index.layer_generations = j.at("layer_generations").get<std::map<std::string, Generation>>();
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrFormat("%s is malformed: %s", where, e.what()));
  }
  for (const std::string& layer : index.manifest.layers) {
    if (!index.layer_generations.contains(layer)) {
      return absl::DataLossError(
          absl::StrFormat("%s names layer %s but not the generation that holds it", where, layer));
    }
  }
  return index;
}

absl::StatusOr<RemoteIndex> DownloadRemoteIndex(remote::RemoteStorage& remote,
                                                const std::string& prefix, const IndexName& name) {
  const std::string key = IndexKey(prefix, name.gen, name.lsn, name.seq);
  ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, remote.Get(key));
  return ParseRemoteIndex(bytes, remote.Describe() + "/" + key);
}

}  // namespace pageserver::storage
