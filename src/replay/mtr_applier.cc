#include "replay/mtr_applier.h"

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "redo/page_applier.h"
#include "replay/datadir.h"

namespace pageserver::replay {

using wal::RecordType;

absl::Status MtrApplier::Apply(const wal::Mtr& mtr) {
  touched_.clear();
  for (const wal::Record& rec : mtr.records) {
    if (partitions_ > 1 && PartitionOf(rec.page.space, partitions_) != partition_) continue;
    ++summary_.records;
    absl::Status s = rec.IsFileOp() ? ApplyFileOp(mtr, rec) : ApplyPageRecord(mtr, rec);
    if (!s.ok()) {
      // Name the record, unless the message already does (the appliers' messages do).
      if (absl::StrContains(s.message(), "LSN")) return s;
      return absl::Status(
          s.code(), absl::StrFormat("%s record at LSN %d for %s: %s", wal::RecordTypeName(rec.type),
                                    mtr.start_lsn.value() + rec.first_byte_pos, ToString(rec.page),
                                    s.message()));
    }
  }
  for (const Touched& t : touched_) {
    if (t.skip || !t.changed || t.freed) continue;
    redo::StampPageLsn(t.frame, mtr.end_lsn);
    spaces_.MarkDirty(t.id);
    if (t.id.page.value() == 0) {
      if (auto s = spaces_.RefreshFormat(t.id.space); !s.ok()) {
        return absl::Status(s.code(),
                            absl::StrFormat("at LSN %d: %s", mtr.start_lsn.value(), s.message()));
      }
    }
  }
  return spaces_.MaybeEvict();
}

MtrApplier::Touched* MtrApplier::Find(PageId id) {
  for (Touched& t : touched_) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

absl::Status MtrApplier::ApplyPageRecord(const wal::Mtr& mtr, const wal::Record& rec) {
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
          mtr.start_lsn.value() + rec.first_byte_pos, ToString(rec.page), rec.page.space.value()));
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

absl::Status MtrApplier::ApplyFileOp(const wal::Mtr& mtr, const wal::Record& rec) {
  const SpaceId space = rec.page.space;
  // Frames of a space that is deleted or created are released below: forget them first.
  if (rec.type == RecordType::kFileCreate || rec.type == RecordType::kFileDelete) {
    std::erase_if(touched_, [&](const Touched& t) { return t.id.space == space; });
  }
  if (rec.type != RecordType::kFileCheckpoint) {
    ++summary_.file_ops[std::string(wal::RecordTypeName(rec.type))];
  }
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
    default:
      return absl::OkStatus();
  }
}

}  // namespace pageserver::replay
