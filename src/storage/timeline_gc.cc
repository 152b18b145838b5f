// Full image sets and garbage collection of TimelineImpl (timeline_impl.h), after Neon's image
// layer creation and GC (docs/timeline_format.md has the rules).
//
// A full image set at LSN X holds every page of every tablespace that exists at X (a page that
// was never written, all zeros, is left out: reading it finds nothing and yields zeros, as it
// would have before), a freed page with its freed bit, in files of at most kFullImagePages pages
// each, by key. Reads at or above X never need a layer that ends at or below X, so once X is at
// or below the PITR cutoff, every image layer below X and every delta layer ending at or below X
// can go. The base import is the first full image set.
//
// Both run on the flusher thread after a flush, so the manifest has one writer; a failure is
// logged and leaves the timeline as it was (files a crash leaves unnamed are removed at open).
#include <cstdio>

#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "storage/timeline_impl.h"

namespace pageserver::storage {
namespace {

constexpr uint32_t kFullImagePages = 8192;  // 128 MiB of 16 KiB pages per file

bool AllZero(const std::vector<uint8_t>& page) {
  return std::all_of(page.begin(), page.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

void TimelineImpl::CompactAndCollect() {
  if (const absl::Status s = CompactLevel0(); !s.ok()) {
    log::Warn("compaction failed: {}", std::string(s.message()));
  }
  if (delta_bytes_since_full_image_.load() >= options_.image_creation_delta_bytes) {
    if (const absl::Status s = WriteFullImageSet(); !s.ok()) {
      log::Warn("writing a full image set at LSN {} failed: {}", disk_consistent_lsn_.value(),
                std::string(s.message()));
      return;
    }
  }
  if (const absl::Status s = CollectGarbage(); !s.ok()) {
    log::Warn("garbage collection failed: {}", std::string(s.message()));
  }
}

absl::Status TimelineImpl::WriteFullImageSet() {
  Lsn lsn;
  std::vector<TablespaceAt> spaces;
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    lsn = disk_consistent_lsn_;  // only the flusher moves it
    spaces = catalog_.List(lsn);
  }
  std::sort(spaces.begin(), spaces.end(),
            [](const TablespaceAt& a, const TablespaceAt& b) { return a.space < b.space; });
  std::vector<std::string> names;
  std::vector<std::shared_ptr<ImageLayer>> layers;
  std::unique_ptr<ImageLayerWriter> writer;
  uint32_t in_file = 0;
  auto finish_file = [&]() -> absl::Status {
    if (!writer) return absl::OkStatus();
    RETURN_IF_ERROR(writer->Finish());
    writer.reset();
    ASSIGN_OR_RETURN(std::shared_ptr<ImageLayer> layer, ImageLayer::Open(LayerPath(names.back())));
    layers.push_back(std::move(layer));
    return absl::OkStatus();
  };
  for (const TablespaceAt& space : spaces) {
    for (uint32_t page = 0; page < space.pages; ++page) {
      const PageId id{space.space, PageNo(page)};
      ASSIGN_OR_RETURN(PageVersion version, ReadPage(id, lsn));
      if (!version.freed && AllZero(version.image)) continue;
      if (writer && in_file == kFullImagePages) RETURN_IF_ERROR(finish_file());
      if (!writer) {
        names.push_back(FullImageLayerName(lsn, static_cast<uint32_t>(names.size())));
        ASSIGN_OR_RETURN(writer,
                         ImageLayerWriter::Create(LayerPath(names.back()), lsn, page_size_));
        in_file = 0;
      }
      RETURN_IF_ERROR(writer->Add(id, version.image, version.freed));
      ++in_file;
    }
  }
  RETURN_IF_ERROR(finish_file());
  uint64_t bytes = 0;
  for (const auto& layer : layers) bytes += layer->file_bytes();
  RETURN_IF_ERROR(CommitLayers(std::move(layers), {}, [&](Manifest& m) {
    m.layers.insert(m.layers.end(), names.begin(), names.end());
    m.full_image_lsns.push_back(lsn);
  }));
  log::Info("a full image set at LSN {}: {} files, {:.1f} MiB", lsn.value(), names.size(),
            bytes / 1048576.0);
  delta_bytes_since_full_image_ = 0;
  return absl::OkStatus();
}

Lsn TimelineImpl::PitrCutoff() const {
  const bool by_bytes = options_.pitr_window_bytes != UINT64_MAX;
  const bool by_time = options_.pitr_window != absl::InfiniteDuration();
  if (!by_bytes && !by_time) return Lsn(0);
  std::shared_lock<std::shared_mutex> read(mu_);
  Lsn cutoff = disk_consistent_lsn_;
  if (by_bytes) {
    const uint64_t keep = options_.pitr_window_bytes;
    cutoff = std::min(cutoff, disk_consistent_lsn_ - base_lsn_ > keep
                                  ? Lsn(disk_consistent_lsn_.value() - keep)
                                  : base_lsn_);
  }
  if (by_time) {
    // The newest flush at least the window ago: everything after it is inside the window.
    const int64_t oldest = absl::ToUnixSeconds(absl::Now() - options_.pitr_window);
    Lsn at = base_lsn_;
    for (const auto& [time, lsn] : lsn_times_) {
      if (time > oldest) break;
      at = lsn;
    }
    cutoff = std::min(cutoff, at);
  }
  return cutoff;
}

absl::Status TimelineImpl::CollectGarbage() {
  const Lsn cutoff = PitrCutoff();
  if (cutoff == Lsn(0)) return absl::OkStatus();
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    if (cutoff <= gc_cutoff_) return absl::OkStatus();
  }
  size_t removed = 0;
  Lsn kept;  // the history kept: from the cutoff, or from the lowest branch point below it
  RETURN_IF_ERROR(CommitLayers({}, {}, [&](Manifest& m) {
    kept = KeptFromLocked(cutoff);  // branch points change under commit_mu_, held here
    // The newest full image set at or below that: reads from it on need nothing older.
    Lsn horizon = m.base_lsn;
    for (Lsn lsn : m.full_image_lsns) {
      if (lsn <= kept) horizon = lsn;
    }
    removed = std::erase_if(m.layers, [&](const std::string& name) {
      return IsImageLayerName(name) ? ImageLayerLsn(name) < horizon
                                    : DeltaLayerLsns(name).second <= horizon;
    });
    m.gc_cutoff_lsn = cutoff;
    std::erase_if(m.full_image_lsns, [&](Lsn lsn) { return lsn < horizon; });
    // Arrival times below the cutoff but the last are of no more use.
    size_t first = 0;
    while (first + 1 < m.lsn_times.size() && m.lsn_times[first + 1].second <= cutoff) ++first;
    m.lsn_times.erase(m.lsn_times.begin(), m.lsn_times.begin() + first);
    m.catalog.ForgetBefore(kept);
  }));
  {
    std::unique_lock<std::shared_mutex> write(mu_);
    catalog_.ForgetBefore(kept);  // what the manifest just written holds, and ingest since
  }
  // Aux file versions no read at or above `kept` sees; the bucket's copies go once an index
  // with this cutoff is stored.
  if (remote_client_) remote_client_->AuxCollecting(kept);
  // A branch keeps its deletions: without one, the ancestor's version would show again.
  ASSIGN_OR_RETURN(const std::vector<uint64_t> aux_removed,
                   aux_->Collect(kept, /*keep_deletions=*/ancestor_ != nullptr));
  log::Info(
      "garbage collection: cutoff LSN {} (history kept from LSN {}), {} layer files and {} aux "
      "file versions removed",
      cutoff.value(), kept.value(), removed, aux_removed.size());
  return absl::OkStatus();
}

}  // namespace pageserver::storage
