// Where a timeline's objects stand in remote storage, and the generations that keep two page
// servers from writing over each other's history (Neon's generations; docs/remote_storage.md).
//
// A page server that opens a timeline with remote storage first claims a generation: the next
// number after the newest claimed, stored as generations/<gen> with PutIfAbsent, so that two
// nodes racing for it get two different numbers. Every object it writes afterwards carries its
// generation, so no two nodes ever write the same key, and a reader can always tell the newest
// node's objects from a stale node's:
//
//   <prefix>/generations/<gen>                          the claim (who, when): never changed
//   <prefix>/layers/<layer file name>-<gen>             a layer file, uploaded by generation gen
//   <prefix>/index/<gen>-<disk_consistent_lsn>-<seq>.json   a remote index (remote_index.h); seq
//                                                       orders a node's indexes of one LSN
//   <prefix>/wal/<gen>-<seq>-<start>-<end>.wal          the WAL log's bytes [start, end) as they
//                                                       were when uploaded (seq orders a node's
//                                                       uploads; start == end marks a truncation)
//   <prefix>/aux/<seq>-<gen>.aux                        aux file version <seq> (aux_file_store.h)
//   <prefix>/writer/<lease generation>-<gen>.json       a writer lease grant (writer_lease.h)
//
// <gen> is 8 hex digits, LSNs and sequence numbers 20 decimal digits, so that keys sort as the
// numbers they name. The current state is read from the newest generation that has an index
// (and within it, the newest LSN). A node whose generation is no longer the newest claimed is
// stale: it stops writing indexes and deleting objects ("fenced"), so it can never make the
// bucket forget what a newer node stored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "remote/remote_storage.h"

namespace pageserver::storage {

using Generation = uint32_t;  // >= 1 once claimed

std::string GenerationKey(const std::string& prefix, Generation gen);
std::string LayerKey(const std::string& prefix, const std::string& layer, Generation gen);
std::string IndexKey(const std::string& prefix, Generation gen, Lsn disk_consistent_lsn,
                     uint32_t seq);
std::string WalChunkKey(const std::string& prefix, Generation gen, uint64_t seq, Lsn start,
                        Lsn end);
std::string AuxKey(const std::string& prefix, uint64_t seq, Generation gen);
std::string LeaseKey(const std::string& prefix, uint64_t lease_generation, Generation gen);

struct IndexName {
  Generation gen = 0;
  Lsn lsn;
  uint32_t seq = 0;
};
struct WalChunkName {
  Generation gen = 0;
  uint64_t seq = 0;
  Lsn start;
  Lsn end;
  std::string key;
  uint64_t size = 0;  // of the object, from the listing
};
struct AuxName {
  uint64_t seq = 0;
  Generation gen = 0;
  std::string key;
  uint64_t size = 0;
};
struct LeaseName {
  uint64_t lease_generation = 0;
  Generation gen = 0;
  std::string key;
};

// The name's fields, or nullopt when `key` (a full key under `prefix`) is not such an object.
std::optional<IndexName> ParseIndexKey(const std::string& prefix, const std::string& key);
std::optional<WalChunkName> ParseWalChunkKey(const std::string& prefix, const std::string& key);
std::optional<AuxName> ParseAuxKey(const std::string& prefix, const std::string& key);
std::optional<LeaseName> ParseLeaseKey(const std::string& prefix, const std::string& key);
// "<layer file name>" and gen of a layer key.
std::optional<std::pair<std::string, Generation>> ParseLayerKey(const std::string& prefix,
                                                                const std::string& key);

// Claims the next generation (see above); `holder` says who, for operators.
absl::StatusOr<Generation> ClaimGeneration(remote::RemoteStorage& remote, const std::string& prefix,
                                           const std::string& holder);
// The newest generation claimed; 0 when none was.
absl::StatusOr<Generation> NewestGeneration(remote::RemoteStorage& remote,
                                            const std::string& prefix);
// The newest index (highest generation, then LSN, then seq) of a generation at or below `at_most`;
// nullopt when there is none.
absl::StatusOr<std::optional<IndexName>> NewestIndex(remote::RemoteStorage& remote,
                                                     const std::string& prefix, Generation at_most);
// Every WAL chunk, in the order they apply: generation, then seq.
absl::StatusOr<std::vector<WalChunkName>> ListWalChunks(remote::RemoteStorage& remote,
                                                        const std::string& prefix);

}  // namespace pageserver::storage
