// AuxFileStore: the files a compute's mariadbd needs besides InnoDB's data files and log (.frm,
// .par, db.opt, the Aria system tables and Aria's log, ddl_recovery.log, ...), kept whole and
// versioned by LSN: a version is the file's content as the compute synced it at that LSN, or a
// deletion. A read at LSN L sees, for each path, the newest version at or below L (for equal
// LSNs, the one stored last).
//
// On disk, under DIR (a timeline's aux/): one immutable file per version, <seq, 20 digits>.aux,
// where seq orders the versions as they were stored:
//   u32 path length | path bytes | u64 LSN | u8 deleted | the content (absent when deleted)
// big-endian. Each is written under a temporary name, fsynced, renamed, and the directory
// fsynced before Put returns (docs/aux_files_format.md). Open reads every header back; a
// temporary file is what a crash left before its rename, and is removed.
//
// Memory: one small index entry per version (path, LSN, size, file); contents stay on disk.
// Thread-safety: all methods may be called from any thread (mu_ guards the index).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/aux_file_limits.h"
#include "common/types.h"

namespace pageserver::storage {

struct AuxFileVersion {
  std::string path;  // relative to the datadir, e.g. "mysql/db.frm"
  Lsn lsn;
  uint64_t size = 0;
  bool deleted = false;
};

class AuxFileStore {
 public:
  static absl::StatusOr<std::unique_ptr<AuxFileStore>> Open(const std::string& dir);

  // Stores a version of `path` at `lsn` (its content, or a deletion); durable when OK.
  // InvalidArgument for a path that is not a clean relative path or content over
  // kMaxAuxFileBytes; FailedPrecondition for an LSN below the path's newest version.
  // `seq`, when given, receives the version's sequence number (its file: FileName(seq)).
  absl::Status Put(const std::string& path, Lsn lsn, std::span<const uint8_t> content,
                   bool deleted, uint64_t* seq = nullptr);
  // The content of `path` at `lsn`; NotFound when it has no version at or below `lsn`, or the
  // newest one is a deletion.
  absl::StatusOr<std::vector<uint8_t>> Get(const std::string& path, Lsn lsn,
                                           AuxFileVersion* version = nullptr) const;
  // Every path that exists at `lsn` (deleted ones left out, unless `with_deletions`: then a path
  // whose newest version is a deletion is listed with it), in path order, with its version.
  std::vector<AuxFileVersion> List(Lsn lsn, bool with_deletions = false) const;
  // The newest version of `path` at or below `lsn` (a deletion included), if any.
  std::optional<AuxFileVersion> VersionAt(const std::string& path, Lsn lsn) const;

  // Garbage collection at the PITR cutoff: removes every version no read at or above `cutoff`
  // sees: of each path, the versions at or below it but the last, and that one too when it is a
  // deletion (unless `keep_deletions`: a branch's deletion hides its ancestor's version); never
  // the newest version stored (its seq must not be taken again). Reads below `cutoff` are
  // refused from then on (OutOfRange, naming it). Returns the versions removed.
  absl::StatusOr<std::vector<uint64_t>> Collect(Lsn cutoff, bool keep_deletions = false);
  // Moves every version above `lsn` down to `lsn`, keeping their order (seq): for redo dropped
  // after the versions were stamped with its end (Timeline::TruncateWal). Each version's file is
  // rewritten in place, durably; returns the seqs rewritten. Idempotent: after a crash in the
  // middle, calling it again finishes the job.
  absl::StatusOr<std::vector<uint64_t>> LowerAbove(Lsn lsn);
  // Whether version `seq` is held (stored and not collected).
  bool Holds(uint64_t seq) const;

  // The sequence numbers of every version stored, ascending.
  std::vector<uint64_t> Sequences() const;
  // The file of version `seq`, under the store's directory.
  std::string FilePath(uint64_t seq) const;
  static std::string FileName(uint64_t seq);
  // The version a file's bytes describe (its header), or DataLoss naming `where`.
  static absl::StatusOr<AuxFileVersion> DecodeVersion(std::span<const uint8_t> file,
                                                      const std::string& where);

  // Why `path` cannot name an aux file, or OK.
  static absl::Status CheckPath(const std::string& path);

 private:
  struct Entry {
    AuxFileVersion version;
    uint64_t seq = 0;  // the file <seq>.aux
  };
  explicit AuxFileStore(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Load();
  const Entry* Find(const std::string& path, Lsn lsn) const;  // mu_ held
  // Refuses a read below the cutoff (mu_ held).
  absl::Status CheckNotCollected(const std::string& path, Lsn lsn) const;

  const std::string dir_;
  mutable std::mutex mu_;  // guards versions_, seqs_, next_seq_ and cutoff_
  // Versions of each path in the order they apply: ascending LSN, then seq.
  std::map<std::string, std::vector<Entry>> versions_;
  std::set<uint64_t> seqs_;  // of every version in versions_
  uint64_t next_seq_ = 1;
  Lsn cutoff_;  // of the last Collect: reads below it are refused
  // Serialises Put, so that seq order is the order versions become durable.
  std::mutex put_mu_;
};

}  // namespace pageserver::storage
