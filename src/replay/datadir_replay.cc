#include "replay/datadir_replay.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <filesystem>
#include <thread>
#include <unordered_set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "replay/continuity_check.h"
#include "replay/datadir.h"
#include "replay/mtr_applier.h"
#include "replay/pipelined_scan.h"
#include "replay/progress.h"
#include "replay/tablespace_set.h"
#include "wal/log_file.h"

namespace pageserver::replay {
namespace fs = std::filesystem;
namespace {

using wal::RecordType;

absl::Status CopyBaseFiles(const std::string& base_dir, const std::string& out_dir,
                           const std::vector<InnodbFile>& files) {
  std::error_code ec;
  for (const InnodbFile& f : files) {
    const fs::path to = fs::path(out_dir) / f.relative_path;
    fs::create_directories(to.parent_path(), ec);
    if (!fs::copy_file(fs::path(base_dir) / f.relative_path, to,
                       fs::copy_options::overwrite_existing, ec)) {
      return absl::InternalError(
          absl::StrFormat("copying %s to %s: %s", f.relative_path, to.string(), ec.message()));
    }
  }
  return absl::OkStatus();
}

// Runs on the decoder thread: asks the kernel to start reading each base page the first time a
// record needs its old content, so the applier rarely waits for the disk.
class Prefetcher {
 public:
  Prefetcher(const std::string& dir, const std::vector<InnodbFile>& files) {
    for (const InnodbFile& f : files) {
      const int fd = open((fs::path(dir) / f.relative_path).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) fds_.emplace(f.space_id.value(), fd);
    }
  }
  ~Prefetcher() {
    for (auto& [space, fd] : fds_) close(fd);
  }
  void Announce(const wal::Mtr& mtr) {
    for (const wal::Record& rec : mtr.records) {
      if (rec.IsFileOp() || !seen_.insert(rec.page).second) continue;
      if (rec.type == RecordType::kInitPage || rec.type == RecordType::kFreePage) continue;
      auto it = fds_.find(rec.page.space.value());
      if (it == fds_.end()) continue;
      posix_fadvise(it->second, static_cast<off_t>(uint64_t{rec.page.page.value()} * 16384), 16384,
                    POSIX_FADV_WILLNEED);
    }
  }

 private:
  std::unordered_map<uint32_t, int> fds_;
  absl::flat_hash_set<PageId, std::hash<PageId>> seen_;
};

// File operations move files by name, and two appliers' files may share names over time
// (TRUNCATE renames a table's file away, then creates a new tablespace under the old name), so
// appliers meet before every such mini-transaction: each has finished everything before it.
bool MovesFiles(const wal::Mtr& mtr) {
  for (const wal::Record& rec : mtr.records) {
    if (rec.IsFileOp() && rec.type != RecordType::kFileCheckpoint) return true;
  }
  return false;
}

// One applier thread's share of the replay: its own tablespaces, cache and counters.
struct Partition {
  Partition(const std::string& out_dir, size_t max_cached_pages, size_t index, size_t count)
      : spaces(out_dir, max_cached_pages), applier(spaces, summary, index, count) {}
  TablespaceSet spaces;
  ReplaySummary summary;
  MtrApplier applier;
  bool failed = false;
};

absl::StatusOr<ReplaySummary> Replay(const ReplayOptions& options) {
  ReplaySummary summary;
  Progress progress;
  ASSIGN_OR_RETURN(wal::LogFile base_log,
                   wal::LogFile::Open((fs::path(options.base_dir) / "ib_logfile0").string()));
  const wal::Checkpoint base_checkpoint = base_log.checkpoint();
  ASSIGN_OR_RETURN(wal::LogFile log, wal::LogFile::Open(options.log_path));
  ASSIGN_OR_RETURN(std::vector<InnodbFile> files, ListInnodbFiles(options.base_dir));
  const std::string& out_dir = options.in_place ? options.base_dir : options.out_dir;
  if (!options.in_place) RETURN_IF_ERROR(CopyBaseFiles(options.base_dir, out_dir, files));

  // Two appliers, each owning the tablespaces PartitionOf gives it, each on its own core.
  const size_t partitions = std::max<size_t>(options.appliers, 1);
  std::vector<std::unique_ptr<Partition>> parts;
  for (size_t k = 0; k < partitions; ++k) {
    parts.push_back(
        std::make_unique<Partition>(out_dir, options.max_cached_pages / partitions, k, partitions));
  }
  for (const InnodbFile& f : files) {
    if (f.space_id == kSystemSpaceId && f.relative_path != "ibdata1") continue;  // page 0 unset
    RETURN_IF_ERROR(
        parts[PartitionOf(f.space_id, partitions)]->spaces.Open(f.space_id, f.relative_path));
  }

  Prefetcher prefetcher(out_dir, files);
  ContinuityCheck continuity(base_checkpoint, options.log_path);
  std::barrier rendezvous(static_cast<std::ptrdiff_t>(partitions));
  // Once one applier fails, the others stop applying too (they still meet at file operations),
  // so that nothing past the failure reaches the files.
  std::atomic<bool> stop{false};
  summary.start_lsn = base_checkpoint.checkpoint_lsn;
  std::vector<MtrConsumer> consumers;
  for (size_t k = 0; k < partitions; ++k) {
    consumers.push_back([&, k](const wal::Mtr& mtr) -> absl::Status {
      Partition& p = *parts[k];
      if (partitions > 1 && MovesFiles(mtr)) rendezvous.arrive_and_wait();
      if (p.failed || stop.load(std::memory_order_relaxed)) return absl::OkStatus();
      if (absl::Status s = p.applier.Apply(mtr); !s.ok()) {
        p.failed = true;
        stop.store(true, std::memory_order_relaxed);
        return s;
      }
      if (k == 0) {
        ++summary.mtrs;
        if (progress.Due()) {
          const double mb = static_cast<double>(mtr.end_lsn - summary.start_lsn) / 1e6;
          progress.Show(
              absl::StrFormat("replay: LSN %d, %.1f MB of log, %d mini-transactions, %.1f MB/s",
                              mtr.end_lsn.value(), mb, summary.mtrs, mb / progress.Seconds()));
        }
      }
      return absl::OkStatus();
    });
  }
  ASSIGN_OR_RETURN(wal::ScanEnd end, ScanLogPipelined(
                                         log, base_checkpoint.checkpoint_lsn, options.to_lsn,
                                         [&](const wal::Mtr& mtr) {
                                           RETURN_IF_ERROR(continuity.Check(mtr));
                                           prefetcher.Announce(mtr);
                                           return absl::OkStatus();
                                         },
                                         consumers));
  progress.Done();
  summary.end_lsn = end.end_lsn;
  summary.end_reason = end.reason;
  summary.log_bytes = end.end_lsn - summary.start_lsn;
  if (summary.mtrs == 0 && !end.reached_limit) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s does not continue the base datadir's log: no valid mini-transaction at its checkpoint "
        "LSN %d (%s)",
        options.log_path, summary.start_lsn.value(), end.reason));
  }
  if (!end.reached_limit && end.end_lsn < log.checkpoint().end_lsn) {
    return absl::DataLossError(absl::StrFormat(
        "%s: the valid log ends at LSN %d, before the log's own checkpoint (end LSN %d): the log "
        "is damaged there (%s)",
        options.log_path, end.end_lsn.value(), log.checkpoint().end_lsn.value(), end.reason));
  }
  // Each partition writes its dirty pages back on its own thread.
  std::vector<absl::StatusOr<std::vector<PageId>>> finished(partitions);
  {
    std::vector<std::thread> writers;
    for (size_t k = 1; k < partitions; ++k) {
      writers.emplace_back([&, k] { finished[k] = parts[k]->spaces.Finish(); });
    }
    finished[0] = parts[0]->spaces.Finish();
    for (auto& w : writers) w.join();
  }
  for (size_t k = 0; k < partitions; ++k) {
    const auto& p = parts[k];
    RETURN_IF_ERROR(finished[k].status());
    summary.freed_pages.insert(summary.freed_pages.end(), finished[k]->begin(), finished[k]->end());
    summary.pages_written += p->spaces.pages_written();
    summary.records += p->summary.records;
    summary.snippets_skipped += p->summary.snippets_skipped;
    for (const auto& [op, n] : p->summary.file_ops) summary.file_ops[op] += n;
  }
  std::sort(summary.freed_pages.begin(), summary.freed_pages.end());
  summary.seconds = progress.Seconds();
  return summary;
}

}  // namespace

absl::StatusOr<ReplaySummary> ReplayDatadir(const ReplayOptions& options) {
  if (options.in_place) return Replay(options);
  std::error_code ec;
  if (fs::exists(options.out_dir, ec) && !fs::is_empty(options.out_dir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("output directory %s exists and is not empty", options.out_dir));
  }
  auto summary = Replay(options);
  // A failed replay leaves no half-rebuilt tree behind that could be mistaken for a result.
  if (!summary.ok()) fs::remove_all(options.out_dir, ec);
  return summary;
}

}  // namespace pageserver::replay
