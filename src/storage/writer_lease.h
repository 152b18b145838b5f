// WriterLease: which writer may append redo to a timeline — one writer per database. A compute
// (or any writer) takes the lease with Timeline::AcquireWriter and gets a new generation; from
// then on every append of another generation is refused, so an older writer that still runs
// (a compute thought dead, a second one started by mistake) can never interleave its redo with
// the new writer's. As Neon's generation numbers and a safekeeper's term.
//
// Crash-consistency rule: a grant is durable (DIR/writer.json, replaced atomically) before the
// new generation is returned, so a restarted server never forgets it, and generations only grow.
// Before any grant the timeline has no lease and accepts writers without one (generation 0:
// pagectl push and follow, the JSON API); after the first grant it accepts only the holder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/types.h"

namespace pageserver::storage {

// The generation of a writer without a lease.
inline constexpr uint64_t kNoWriterLease = 0;

struct WriterLease {
  uint64_t generation = kNoWriterLease;
  std::string holder;  // who took it, as the writer named itself (for error messages)
  Lsn granted_at;      // the timeline's last_record_lsn when it was granted
};

// DIR/writer.json; nullopt when no lease was ever granted. DataLoss when malformed.
absl::StatusOr<std::optional<WriterLease>> ReadWriterLease(const std::string& dir);
// The lease's text, as WriteWriterLease stores it (and remote storage holds it).
std::string WriterLeaseJson(const WriterLease& lease);
// DataLoss naming `where` when malformed.
absl::StatusOr<WriterLease> ParseWriterLease(const std::string& text, const std::string& where);
absl::Status WriteWriterLease(const std::string& dir, const WriterLease& lease);

}  // namespace pageserver::storage
