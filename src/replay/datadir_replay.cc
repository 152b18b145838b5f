#include "replay/datadir_replay.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <unordered_set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "redo/page_applier.h"
#include "replay/datadir.h"
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

// Applies mini-transactions to the tablespaces, page snippet by page snippet.
class MtrApplier {
 public:
  MtrApplier(TablespaceSet& spaces, ReplaySummary& summary, Lsn base_checkpoint_lsn)
      : spaces_(spaces), summary_(summary), base_checkpoint_lsn_(base_checkpoint_lsn) {}

  absl::Status Apply(const wal::Mtr& mtr) {
    touched_.clear();
    for (const wal::Record& rec : mtr.records) {
      ++summary_.records;
      if (rec.IsFileOp()) {
        RETURN_IF_ERROR(ApplyFileOp(mtr, rec));
        continue;
      }
      RETURN_IF_ERROR(ApplyPageRecord(mtr, rec));
    }
    for (const Touched& t : touched_) {
      if (t.skip || !t.changed || t.freed) continue;
      redo::StampPageLsn(t.frame, mtr.end_lsn);
      spaces_.MarkDirty(t.id);
      if (t.id.page.value() == 0) {
        if (auto s = spaces_.RefreshFormat(t.id.space); !s.ok()) {
          return absl::Status(s.code(), absl::StrFormat("at LSN %d: %s", mtr.start_lsn.value(),
                                                        s.message()));
        }
      }
    }
    return spaces_.MaybeEvict();
  }

 private:
  struct Touched {
    PageId id;
    std::span<uint8_t> frame;
    bool skip = false;
    bool changed = false;
    bool freed = false;
  };

  Touched* Find(PageId id) {
    for (Touched& t : touched_) {
      if (t.id == id) return &t;
    }
    return nullptr;
  }

  absl::Status ApplyPageRecord(const wal::Mtr& mtr, const wal::Record& rec) {
    if (rec.type == RecordType::kExtended && rec.subtype == wal::ExtendedType::kTrimPages) {
      std::erase_if(touched_, [&](const Touched& t) { return t.id.space == rec.page.space; });
      return spaces_.Trim(rec.page.space, rec.page.page.value());
    }
    if (rec.type == RecordType::kOption) return absl::OkStatus();
    Touched* t = Find(rec.page);
    if (!t) {
      if (!spaces_.Known(rec.page.space)) {
        return absl::NotFoundError(absl::StrFormat(
            "redo record at LSN %d for %s: tablespace %d is not in the base datadir and no "
            "FILE_CREATE or FILE_MODIFY record named it",
            mtr.start_lsn.value() + rec.first_byte_pos, ToString(rec.page),
            rec.page.space.value()));
      }
      // First record of this page in the mini-transaction: fetch the frame once and apply the
      // recovery skip rule.
      const bool init = rec.type == RecordType::kInitPage || rec.type == RecordType::kFreePage;
      ASSIGN_OR_RETURN(std::span<uint8_t> frame, spaces_.Frame(rec.page, !init));
      touched_.push_back({rec.page, frame});
      t = &touched_.back();
      if (!init && redo::PageLsn(frame) > mtr.start_lsn) {
        t->skip = true;
        ++summary_.snippets_skipped;
      }
    }
    if (t->skip) return absl::OkStatus();
    if (rec.type == RecordType::kFreePage) {
      t->freed = true;
      spaces_.MarkFreed(rec.page);
      return absl::OkStatus();
    }
    if (rec.type == RecordType::kInitPage) {
      t->freed = false;
      spaces_.MarkInitialized(rec.page);
    }
    RETURN_IF_ERROR(redo::ApplyRecord(mtr, rec, t->frame));
    t->changed = true;
    return absl::OkStatus();
  }

  absl::Status ApplyFileOp(const wal::Mtr& mtr, const wal::Record& rec) {
    ++summary_.file_ops[std::string(wal::RecordTypeName(rec.type))];
    const SpaceId space = rec.page.space;
    switch (rec.type) {
      case RecordType::kFileCreate:
        return spaces_.Create(space, NormalizeRelativePath(mtr.Path(rec)));
      case RecordType::kFileRename:
        if (!spaces_.Known(space)) return absl::OkStatus();
        return spaces_.Rename(space, NormalizeRelativePath(mtr.NewPath(rec)));
      case RecordType::kFileDelete:
        if (!spaces_.Known(space)) return absl::OkStatus();
        return spaces_.Delete(space);
      case RecordType::kFileModify:
        if (spaces_.Known(space)) return absl::OkStatus();
        return spaces_.Create(space, NormalizeRelativePath(mtr.Path(rec)));
      case RecordType::kFileCheckpoint:
        if (mtr.CheckpointLsn(rec) == base_checkpoint_lsn_) found_base_checkpoint_ = true;
        return absl::OkStatus();
      default:
        return absl::OkStatus();
    }
  }

 public:
  bool found_base_checkpoint() const { return found_base_checkpoint_; }

 private:
  TablespaceSet& spaces_;
  ReplaySummary& summary_;
  std::vector<Touched> touched_;
  Lsn base_checkpoint_lsn_;
  bool found_base_checkpoint_ = false;
};

// MariaDB's rule for a log that continues a checkpoint: scanning from the checkpoint's end LSN,
// a FILE_CHECKPOINT record naming the checkpoint LSN comes before any page change. Checked
// before such a page change is applied, so a log of another lineage alters nothing.
absl::Status CheckContinuesBase(const wal::Mtr& mtr, const MtrApplier& applier,
                                const wal::Checkpoint& base, const ReplayOptions& options) {
  if (mtr.start_lsn < base.end_lsn) return absl::OkStatus();
  if (applier.found_base_checkpoint()) return absl::OkStatus();
  for (const wal::Record& rec : mtr.records) {
    if (rec.type == RecordType::kFileCheckpoint && mtr.CheckpointLsn(rec) == base.checkpoint_lsn) {
      return absl::OkStatus();
    }
    if (!rec.IsFileOp()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s does not continue the base datadir's log: no FILE_CHECKPOINT(%d) record between "
          "LSN %d and the page change at LSN %d",
          options.log_path, base.checkpoint_lsn.value(), base.end_lsn.value(),
          mtr.start_lsn.value() + rec.first_byte_pos));
    }
  }
  return absl::OkStatus();
}

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

  TablespaceSet spaces(out_dir, options.max_cached_pages);
  for (const InnodbFile& f : files) {
    if (f.space_id == kSystemSpaceId && f.relative_path != "ibdata1") continue;  // page 0 unset
    RETURN_IF_ERROR(spaces.Open(f.space_id, f.relative_path));
  }

  MtrApplier applier(spaces, summary, base_checkpoint.checkpoint_lsn);
  Prefetcher prefetcher(out_dir, files);
  summary.start_lsn = base_checkpoint.checkpoint_lsn;
  ASSIGN_OR_RETURN(
      wal::ScanEnd end,
      ScanLogPipelined(log, base_checkpoint.checkpoint_lsn, options.to_lsn,
                   [&](const wal::Mtr& mtr) { prefetcher.Announce(mtr); },
                   [&](const wal::Mtr& mtr) -> absl::Status {
                     ++summary.mtrs;
                     RETURN_IF_ERROR(CheckContinuesBase(mtr, applier, base_checkpoint, options));
                     RETURN_IF_ERROR(applier.Apply(mtr));
                     if (progress.Due()) {
                       const double mb = static_cast<double>(mtr.end_lsn - summary.start_lsn) / 1e6;
                       progress.Show(absl::StrFormat(
                           "replay: LSN %d, %.1f MB of log, %d mini-transactions, %.1f MB/s",
                           mtr.end_lsn.value(), mb, summary.mtrs, mb / progress.Seconds()));
                     }
                     return absl::OkStatus();
                   }));
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
  ASSIGN_OR_RETURN(summary.freed_pages, spaces.Finish());
  summary.pages_written = spaces.pages_written();
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
