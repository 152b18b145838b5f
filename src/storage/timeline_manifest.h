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
#include "storage/timeline_identity.h"

namespace pageserver::storage {

struct Manifest {
  Lsn base_lsn;
  uint32_t page_size = 16384;
  Lsn disk_consistent_lsn;
  std::vector<std::string> layers;  // file names under DIR/layers
  Catalog catalog;
  // Garbage collection (timeline_gc.cc): reads below gc_cutoff_lsn are refused (0: none yet).
  Lsn gc_cutoff_lsn;
  // The LSNs at which the layers hold a full image of every page (the base, and each full image
  // set compaction wrote), ascending.
  std::vector<Lsn> full_image_lsns;
  // When redo arrived: (unix seconds, the last_record_lsn of a flush), ascending, for a PITR
  // window given as a duration.
  std::vector<std::pair<int64_t, Lsn>> lsn_times;
  // The timeline's id, and for a branch its ancestor's and the branch LSN (base_lsn, then):
  // absent in manifests written before branches existed (a root timeline without an id).
  TimelineIdentity identity;
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
// A level-1 delta layer of keys from `key_start` (KeyRange, delta_layer.h) on:
// delta_<start>_<end>_<key_start, 16 hex digits>.layer.
std::string Level1DeltaLayerName(Lsn start, Lsn end, uint64_t key_start);
// Part `part` of the full image set at `lsn`: image_<LSN>_full<part, 4 digits>.layer.
std::string FullImageLayerName(Lsn lsn, uint32_t part);
// The LSN of an image layer's name.
Lsn ImageLayerLsn(const std::string& name);
// The LSN range of a delta layer's name.
std::pair<Lsn, Lsn> DeltaLayerLsns(const std::string& name);
bool IsImageLayerName(const std::string& name);
// Whether `name` is a layer file name of either kind (and nothing else: no path).
bool IsLayerFileName(const std::string& name);

}  // namespace pageserver::storage
