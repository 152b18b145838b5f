// A remote index: what a timeline's state in remote storage is at one disk_consistent_lsn (the
// object <prefix>/index/<gen>-<lsn>.json, remote_layout.h). It is the local manifest (its layers,
// catalog and LSNs, timeline_manifest.h) plus, for each layer, the generation whose object holds
// it, so that a node reuses the layers earlier generations uploaded instead of copying them.
// Uploaded only after every layer it names (remote_timeline_client.h).
#pragma once

#include <map>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "storage/remote_layout.h"
#include "storage/timeline_manifest.h"

namespace pageserver::storage {

struct RemoteIndex {
  Manifest manifest;
  Generation generation = 0;  // of the node that uploaded it
  // Every layer of manifest.layers -> the generation of its object.
  std::map<std::string, Generation> layer_generations;
};

// The index's text: the manifest's JSON with the fields "generation" and "layer_generations".
std::string RemoteIndexJson(const RemoteIndex& index);
// DataLoss naming `where` when malformed or when a layer has no generation.
absl::StatusOr<RemoteIndex> ParseRemoteIndex(std::span<const uint8_t> bytes,
                                             const std::string& where);
// Downloads and parses the index `name`.
absl::StatusOr<RemoteIndex> DownloadRemoteIndex(remote::RemoteStorage& remote,
                                                const std::string& prefix, const IndexName& name);

}  // namespace pageserver::storage
