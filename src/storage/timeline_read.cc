// The read path of TimelineImpl (timeline_impl.h): GetPage@LSN and the catalog and aux reads.
#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/status_macros.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "redo/tablespace_format.h"
#include "storage/page_reconstruct.h"
#include "storage/timeline_impl.h"

namespace pageserver::storage {

absl::StatusOr<std::vector<uint8_t>> TimelineImpl::GetAuxFile(const std::string& path, Lsn lsn,
                                                              absl::Time deadline,
                                                              AuxFileVersion* version) {
  if (TimelineImpl* a = AncestorBelow(lsn)) return a->GetAuxFile(path, lsn, deadline, version);
  ASSIGN_OR_RETURN(const Lsn at, WaitFor(lsn, deadline));
  return AuxAt(path, at, version);
}

absl::StatusOr<std::vector<AuxFileVersion>> TimelineImpl::ListAuxFiles(Lsn lsn,
                                                                       absl::Time deadline) {
  if (TimelineImpl* a = AncestorBelow(lsn)) return a->ListAuxFiles(lsn, deadline);
  ASSIGN_OR_RETURN(const Lsn at, WaitFor(lsn, deadline));
  return AuxListAt(at);
}

absl::StatusOr<Lsn> TimelineImpl::WaitFor(Lsn lsn, absl::Time deadline) {
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    if (!has_base_) {
      return absl::FailedPreconditionError("the timeline has no base yet: import first");
    }
    if (lsn == Lsn(0)) return Lsn(last_record_lsn_.load());
    if (lsn < base_lsn_) {
      return absl::OutOfRangeError(absl::StrFormat("LSN %d is below the timeline's base LSN %d",
                                                   lsn.value(), base_lsn_.value()));
    }
    if (lsn < gc_cutoff_) {
      return absl::OutOfRangeError(absl::StrFormat(
          "LSN %d is below the GC cutoff, LSN %d: the history before it was garbage-collected "
          "(outside the PITR window)",
          lsn.value(), gc_cutoff_.value()));
    }
  }
  if (last_record_lsn_.load() >= lsn.value()) return lsn;  // the common case: no waiting
  absl::MutexLock lock(&wait_mu_);
  auto reached = [&]() { return last_record_lsn_.load() >= lsn.value(); };
  if (!wait_mu_.AwaitWithDeadline(absl::Condition(&reached), deadline)) {
    return absl::DeadlineExceededError(
        absl::StrFormat("LSN %d not reached in time: the timeline has stored up to LSN %d",
                        lsn.value(), last_record_lsn_.load()));
  }
  return lsn;
}

absl::StatusOr<TablespaceAt> TimelineImpl::FindSpace(SpaceId space, Lsn lsn) const {
  std::shared_lock<std::shared_mutex> read(mu_);
  std::optional<TablespaceAt> t = catalog_.Find(space, lsn);
  if (!t) {
    return absl::NotFoundError(
        absl::StrFormat("tablespace %d does not exist at LSN %d", space.value(), lsn.value()));
  }
  return *t;
}

absl::StatusOr<RawPage> TimelineImpl::ReadRaw(PageId id, Lsn lsn, const TablespaceAt& space) {
  // A materialized image at or below `lsn` (timeline_materialize.cc) stands for everything up to
  // its LSN: only newer records, or a newer image, are looked for. Not one of an older
  // incarnation of the tablespace.
  Lsn floor = space.floor;
  std::shared_ptr<const std::vector<uint8_t>> materialized;
  if (std::optional<MaterializedPages::Entry> m = materialized_->Get(id, lsn);
      m.has_value() && m->lsn >= space.floor) {
    floor = m->lsn + 1;
    materialized = std::move(m->image);
  }
  std::vector<DeltaEntry> entries;  // newest first
  bool complete = false;
  std::shared_ptr<const LayerSnapshot> layers;
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    complete = open_->CollectNewestFirst(id, lsn, floor, &entries);
    if (!complete && frozen_) complete = frozen_->CollectNewestFirst(id, lsn, floor, &entries);
    if (!complete) layers = layers_;
  }
  std::optional<std::vector<uint8_t>> base;
  bool image_freed = false;  // the image found is of a page free at its LSN
  if (!complete) {
    // Newest first, over the layers that cover the page; at equal LSN the image goes first (it
    // holds the delta's records). `hi`: records at or below it are still wanted. A level-1
    // delta layer may span an image's LSN: only its records above the image are taken before
    // the image is tried, and the rest only if the image lacks the page.
    auto image = layers->images.rbegin();
    auto delta = layers->deltas.rbegin();
    Lsn hi = lsn;
    while (!complete) {
      while (image != layers->images.rend() && (*image)->lsn() > hi) ++image;
      while (delta != layers->deltas.rend() &&
             ((*delta)->lsn_start() >= hi || !(*delta)->key_range().Contains(id))) {
        ++delta;
      }
      const bool have_image = image != layers->images.rend() && (*image)->lsn() >= floor;
      const bool have_delta = delta != layers->deltas.rend() && (*delta)->lsn_end() >= floor;
      if (!have_image && !have_delta) break;
      if (have_image && (!have_delta || (*image)->lsn() >= std::min(hi, (*delta)->lsn_end()))) {
        ASSIGN_OR_RETURN(base, (*image)->Get(id, &image_freed));
        complete = base.has_value();
        ++image;
        continue;
      }
      const Lsn lo = have_image ? std::max(floor, (*image)->lsn() + 1) : floor;
      ASSIGN_OR_RETURN(complete, (*delta)->CollectNewestFirst(id, hi, lo, &entries));
      if (have_image && lo > (*delta)->lsn_start() + 1) {
        hi = Lsn(lo.value() - 1);  // its records at or below the image's LSN remain
      } else {
        // Done with the layer: read whole, or cut off by the tablespace's floor, below which
        // nothing counts.
        hi = (*delta)->lsn_start();
        ++delta;
      }
    }
  }
  if (!complete && !base && materialized) {
    base = *materialized;  // served as a stored image is: already checksummed
    image_freed = false;
  }
  if (!complete && !base && ancestor_ != nullptr && floor <= identity_.ancestor_lsn) {
    // A branch: what its own layers do not hold is the ancestor's page at the branch LSN, unless
    // the tablespace began (or was trimmed) on the branch.
    ASSIGN_OR_RETURN(std::optional<PageVersion> inherited,
                     ancestor_->ReadForBranch(id, identity_.ancestor_lsn));
    if (inherited) {
      base = std::move(inherited->image);
      image_freed = inherited->freed;
    }
  }
  RawPage page;
  page.frame = base ? std::move(*base) : std::vector<uint8_t>(page_size_, 0);
  if (entries.empty()) {
    page.from_image_only = base.has_value();
    // Never written since the floor: zeros, as in a file InnoDB extended. After a TRIM_PAGES
    // such a page is undefined (free) in MariaDB too.
    page.freed = base.has_value() ? image_freed : space.trimmed;
    return page;
  }
  std::vector<std::vector<uint8_t>> snippets;
  snippets.reserve(entries.size());
  for (auto e = entries.rbegin(); e != entries.rend(); ++e)
    snippets.push_back(std::move(e->snippet));
  ReconstructResult result;
  RETURN_IF_ERROR(ReconstructPage(id, page.frame, snippets, &result));
  page.freed = result.freed;
  page.applied = static_cast<uint32_t>(result.applied);
  page.from_image_only = result.applied == 0 && base.has_value();
  return page;
}

absl::StatusOr<uint32_t> TimelineImpl::FlagsOf(const TablespaceAt& space, Lsn lsn) {
  if (space.flags) return *space.flags;
  // A tablespace created after the base: its flags are in its page 0 (FSP_SPACE_FLAGS).
  ASSIGN_OR_RETURN(RawPage page0, ReadRaw(PageId{space.space, PageNo(0)}, lsn, space));
  const uint32_t flags = ReadBe32(page0.frame.data() + redo::kFspSpaceFlags);
  if (ReadBe32(page0.frame.data() + redo::kFilPageSpaceId) != space.space.value()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("tablespace %d has no initialised page 0 at LSN %d, so its format is "
                        "unknown",
                        space.space.value(), lsn.value()));
  }
  std::unique_lock<std::shared_mutex> write(mu_);
  catalog_.SetFlags(space.space, lsn, flags);
  return flags;
}

absl::StatusOr<PageVersion> TimelineImpl::ReadPage(PageId id, Lsn lsn) {
  ASSIGN_OR_RETURN(TablespaceAt space, FindSpace(id.space, lsn));
  if (id.page.value() >= space.pages) {
    return absl::OutOfRangeError(
        absl::StrFormat("%s is past the end of tablespace %d (%d pages) at LSN %d", ToString(id),
                        id.space.value(), space.pages, lsn.value()));
  }
  ASSIGN_OR_RETURN(RawPage raw, ReadRaw(id, lsn, space));
  PageVersion out;
  out.lsn = lsn;
  out.freed = raw.freed;
  out.records_applied = raw.applied;
  if (raw.applied > 0) {
    // Freed pages too: a page handed out must be valid, and a freed one is its last image before
    // the free, as MariaDB would have flushed it. A never-written (zero) frame stays zero.
    // Page 0 carries its own flags; other pages take them from the catalog (or page 0).
    uint32_t flags = ReadBe32(raw.frame.data() + redo::kFspSpaceFlags);
    if (id.page.value() != 0) {
      ASSIGN_OR_RETURN(flags, FlagsOf(space, lsn));
    }
    ASSIGN_OR_RETURN(redo::TablespaceFormat format, redo::ParseSpaceFlags(flags, id.space));
    redo::PrepareForWrite(raw.frame, id, format.full_crc32);
  }
  out.image = std::move(raw.frame);
  return out;
}

absl::StatusOr<PageVersion> TimelineImpl::GetPage(PageId id, Lsn lsn, absl::Time deadline) {
  if (TimelineImpl* a = AncestorBelow(lsn)) return a->GetPage(id, lsn, deadline);
  ASSIGN_OR_RETURN(const Lsn at, WaitFor(lsn, deadline));
  absl::StatusOr<PageVersion> page = ReadPage(id, at);
  if (!page.ok() && !absl::IsNotFound(page.status()) && !absl::IsOutOfRange(page.status()) &&
      !absl::IsFailedPrecondition(page.status())) {
    return absl::Status(page.status().code(),
                        absl::StrFormat("reading %s at LSN %d: %s", ToString(id), at.value(),
                                        page.status().message()));
  }
  return page;
}

absl::StatusOr<TablespaceInfo> TimelineImpl::GetTablespace(SpaceId space, Lsn lsn,
                                                           absl::Time deadline) {
  if (TimelineImpl* a = AncestorBelow(lsn)) return a->GetTablespace(space, lsn, deadline);
  ASSIGN_OR_RETURN(const Lsn at, WaitFor(lsn, deadline));
  ASSIGN_OR_RETURN(TablespaceAt t, FindSpace(space, at));
  absl::StatusOr<uint32_t> flags = FlagsOf(t, at);
  return TablespaceInfo{t.space, t.path, flags.ok() ? *flags : 0, t.pages};
}

absl::StatusOr<std::vector<TablespaceInfo>> TimelineImpl::ListTablespaces(Lsn lsn,
                                                                          absl::Time deadline) {
  if (TimelineImpl* a = AncestorBelow(lsn)) return a->ListTablespaces(lsn, deadline);
  ASSIGN_OR_RETURN(const Lsn at, WaitFor(lsn, deadline));
  std::vector<TablespaceAt> spaces;
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    spaces = catalog_.ListFiles(at);
  }
  std::vector<TablespaceInfo> out;
  for (const TablespaceAt& t : spaces) {
    absl::StatusOr<uint32_t> flags = FlagsOf(t, at);
    out.push_back({t.space, t.path, flags.ok() ? *flags : 0, t.pages});
  }
  return out;
}

}  // namespace pageserver::storage
