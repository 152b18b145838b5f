// Compaction of TimelineImpl (timeline_impl.h): level-0 delta layers merged into level-1 ones,
// after Neon's compact_level0.
//
// Every flush writes one level-0 delta layer holding every page changed in its LSN range, so a
// read of one page would otherwise look at one file per flush since the page's newest image, and
// an evicted layer costs a ranged GET each. Once compaction_threshold level-0 layers stand, they
// are merged, by (page, LSN), into level-1 layers of about compaction_target_bytes that together
// cover the level-0 layers' whole LSN range and split the keys between them (KeyRange,
// delta_layer.h): a page's history over that range is then in exactly one file.
//
// Layout invariants the read path relies on (timeline_read.cc): the layers covering one key have
// disjoint LSN ranges; every level-1 layer is older than every level-0 one (compaction takes all
// level-0 layers there are, and flushes only add newer ones). A level-1 layer's LSN range may
// contain image layers' LSNs: the read path takes from it only records above the image it uses.
//
// Crash rule: the level-1 files are written and made durable first, then the manifest that names
// them instead of the level-0 layers is the commit point (CommitLayers). A crash before leaves
// unnamed level-1 files, removed at open; after, unnamed level-0 files, likewise. The bucket
// learns of the change through the next index, which is uploaded only after the level-1 files.
#include <queue>

#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "storage/timeline_impl.h"

namespace pageserver::storage {

absl::Status TimelineImpl::CompactLevel0() {
  std::vector<std::shared_ptr<const DeltaLayer>> level0;
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    for (const auto& delta : layers_->deltas) {
      if (delta->level() == 0) level0.push_back(delta);
    }
  }
  if (level0.size() < std::max<uint32_t>(options_.compaction_threshold, 2)) {
    return absl::OkStatus();
  }
  const Lsn start = level0.front()->lsn_start();
  const Lsn end = level0.back()->lsn_end();
  for (size_t i = 1; i < level0.size(); ++i) {
    if (level0[i]->lsn_start() != level0[i - 1]->lsn_end()) {
      return absl::InternalError(absl::StrFormat(
          "level-0 delta layers are not contiguous: one ends at LSN %d, the next starts at %d",
          level0[i - 1]->lsn_end().value(), level0[i]->lsn_start().value()));
    }
  }

  // A k-way merge by (page, LSN): the inputs' LSN ranges are disjoint, so no two entries tie.
  std::vector<std::unique_ptr<DeltaLayer::Cursor>> cursors;
  auto newer_key = [&](size_t a, size_t b) {  // the heap's top is the smallest key
    const auto& x = *cursors[a];
    const auto& y = *cursors[b];
    return x.id() != y.id() ? y.id() < x.id() : y.lsn() < x.lsn();
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(newer_key)> heap(newer_key);
  uint64_t input_bytes = 0;
  for (const auto& layer : level0) {
    input_bytes += layer->file_bytes();
    cursors.push_back(std::make_unique<DeltaLayer::Cursor>(*layer));
    ASSIGN_OR_RETURN(const bool any, cursors.back()->Next());
    if (any) heap.push(cursors.size() - 1);
  }

  std::vector<std::string> names;
  std::vector<std::shared_ptr<DeltaLayer>> outputs;
  std::unique_ptr<DeltaLayerWriter> writer;
  std::vector<PageId> pages;  // the distinct pages of the file being written
  auto finish_file = [&](uint64_t key_end) -> absl::Status {
    RETURN_IF_ERROR(writer->Finish(key_end));
    writer.reset();
    ASSIGN_OR_RETURN(std::shared_ptr<DeltaLayer> layer,
                     DeltaLayer::Open(LayerPath(names.back()), pages));
    outputs.push_back(std::move(layer));
    pages.clear();
    return absl::OkStatus();
  };
  auto start_file = [&](uint64_t key_start) -> absl::Status {
    names.push_back(Level1DeltaLayerName(start, end, key_start));
    ASSIGN_OR_RETURN(
        writer, DeltaLayerWriter::CreateLevel1(LayerPath(names.back()), start, end, key_start));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(start_file(0));
  while (!heap.empty()) {
    const size_t top = heap.top();
    heap.pop();
    DeltaLayer::Cursor& c = *cursors[top];
    const bool new_page = pages.empty() || pages.back() != c.id();
    // A file ends between two pages, so that a page's records over the range are in one file.
    if (new_page && !pages.empty() && writer->bytes() >= options_.compaction_target_bytes) {
      RETURN_IF_ERROR(finish_file(KeyRange::KeyOf(c.id())));
      RETURN_IF_ERROR(start_file(KeyRange::KeyOf(c.id())));
    }
    if (new_page) pages.push_back(c.id());
    RETURN_IF_ERROR(writer->Add(c.id(), c.lsn(), c.will_init(), c.snippet()));
    ASSIGN_OR_RETURN(const bool more, c.Next());
    if (more) heap.push(top);
  }
  RETURN_IF_ERROR(finish_file(UINT64_MAX));

  std::vector<std::string> removed;
  for (const auto& layer : level0) {
    removed.push_back(std::filesystem::path(layer->path()).filename().string());
  }
  uint64_t output_bytes = 0;
  for (const auto& layer : outputs) output_bytes += layer->file_bytes();
  RETURN_IF_ERROR(CommitLayers({}, std::move(outputs), [&](Manifest& m) {
    std::erase_if(m.layers, [&](const std::string& name) {
      return std::find(removed.begin(), removed.end(), name) != removed.end();
    });
    m.layers.insert(m.layers.end(), names.begin(), names.end());
  }));
  compactions_.fetch_add(1);
  log::Info(
      "compaction: {} level-0 delta layers ({:.1f} MiB, LSN {}..{}) into {} level-1 "
      "layers ({:.1f} MiB)",
      level0.size(), input_bytes / 1048576.0, start.value(), end.value(), names.size(),
      output_bytes / 1048576.0);
  return absl::OkStatus();
}

}  // namespace pageserver::storage
