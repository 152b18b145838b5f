// The timeline manifest (DIR/timeline.json): which layer files make up the timeline, up to which
// LSN they hold every change (disk_consistent_lsn), and the catalog as of that LSN. Format:
// docs/timeline_format.md.
//
// Crash rule: the manifest is the commit point of a flush. It is written to a temporary file,
// fsynced, renamed over the old one and the directory fsynced, so a reader sees the old manifest
// or the new one, never a mix. Layer files it names were made durable before it was written.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "storage/catalog.h"

namespace pageserver::storage {

struct Manifest {
  Lsn base_lsn;
  uint32_t page_size = 16384;
  Lsn disk_consistent_lsn;
  std::vector<std::string> layers;  // file names under DIR/layers
  Catalog catalog;
};

// nullopt when `dir` has no manifest (an empty timeline); DataLoss when it is unreadable.
absl::StatusOr<std::optional<Manifest>> ReadManifest(const std::string& dir);
absl::Status WriteManifest(const std::string& dir, const Manifest& manifest);
// A manifest from its text; DataLoss naming `where` when malformed.
absl::StatusOr<Manifest> ParseManifestJson(const std::string& text, const std::string& where);
// The manifest's text, as WriteManifest stores it (and the remote index holds it).
std::string ManifestJson(const Manifest& manifest);

// Layer file names: image_<LSN>.layer and delta_<start>_<end>.layer, LSNs as 20 decimal digits so
// that names sort like LSNs.
std::string ImageLayerName(Lsn lsn);
std::string DeltaLayerName(Lsn start, Lsn end);
bool IsImageLayerName(const std::string& name);
// Whether `name` is a layer file name of either kind (and nothing else: no path).
bool IsLayerFileName(const std::string& name);

}  // namespace pageserver::storage
