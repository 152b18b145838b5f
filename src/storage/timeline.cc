#include <unistd.h>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/status_macros.h"
#include "redo/page_format.h"
#include "redo/tablespace_format.h"
#include "storage/page_snippet.h"
#include "storage/timeline_impl.h"
#include "wal/mtr_decoder.h"

namespace pageserver::storage {
namespace {
namespace fs = std::filesystem;
}  // namespace

absl::Status ImportSessionImpl::AddPage(PageId id, std::span<const uint8_t> image) {
  if (finished_) return absl::FailedPreconditionError("import already finished");
  auto size = sizes_.find(id.space.value());
  if (size == sizes_.end()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("import: %s is in no tablespace of the catalog", ToString(id)));
  }
  if (id.page.value() >= size->second) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "import: %s is past the end of its tablespace (%d pages)", ToString(id), size->second));
  }
  if (image.size() != page_size_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "import: %s has %d bytes, the page size is %d", ToString(id), image.size(), page_size_));
  }
  // The size of the space is FSP_SIZE, which the catalog follows from here (it may exceed the
  // file: the pages past its end are zero). A page 0 naming another space is no header of this.
  if (id.page.value() == 0 && ReadBe32(image.data() + redo::kFspSpaceId) == id.space.value()) {
    fsp_sizes_[id.space.value()] = ReadBe32(image.data() + redo::kFspSize);
  }
  ++pages_;
  return writer_->Add(id, image);
}

absl::Status ImportSessionImpl::Finish() {
  if (finished_) return absl::FailedPreconditionError("import already finished");
  finished_ = true;
  RETURN_IF_ERROR(writer_->Finish());
  const absl::Status s = timeline_->CompleteImport(lsn_, page_size_, catalog_, fsp_sizes_);
  lock_.unlock();  // the timeline takes redo from here on
  return s;
}

absl::Status TimelineImpl::Load() {
  std::error_code ec;
  fs::create_directories(dir_ + "/layers", ec);
  if (ec) return absl::InternalError(absl::StrFormat("creating %s: %s", dir_, ec.message()));
  if (options_.remote != nullptr) RETURN_IF_ERROR(PrepareRemote());
  ASSIGN_OR_RETURN(aux_, AuxFileStore::Open(dir_ + "/aux"));
  ASSIGN_OR_RETURN(std::optional<Manifest> manifest, ReadManifest(dir_));
  // Files the manifest does not name are what a crash left between writing a layer and the
  // manifest that would have named it: never part of the timeline.
  std::vector<std::string> named = manifest ? manifest->layers : std::vector<std::string>();
  for (const auto& entry : fs::directory_iterator(dir_ + "/layers", ec)) {
    const std::string name = entry.path().filename().string();
    if (std::find(named.begin(), named.end(), name) == named.end()) fs::remove(entry.path(), ec);
  }
  if (!manifest) {
    // No base was ever committed: a WAL directory is left from an import that crashed.
    fs::remove_all(dir_ + "/wal", ec);
    return absl::OkStatus();
  }
  if (manifest->page_size != redo::kSupportedPageSize) {
    return absl::DataLossError(
        absl::StrFormat("%s/timeline.json: page size %d is not 16384", dir_, manifest->page_size));
  }
  ASSIGN_OR_RETURN(writer_, ReadWriterLease(dir_));
  identity_ = manifest->identity;
  if (identity_.id.empty()) {
    // Written before timelines had ids: it gets one now, durable before a branch can name it.
    identity_.id = manifest->identity.id = NewTimelineId();
    RETURN_IF_ERROR(WriteManifest(dir_, *manifest));
  }
  if (identity_.is_branch()) {
    ancestor_ = dynamic_cast<TimelineImpl*>(options_.ancestor);
    if (ancestor_ == nullptr || ancestor_->identity().id != identity_.ancestor_id) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s is a branch of timeline %s at LSN %d, which must be open to open it", dir_,
          identity_.ancestor_id, identity_.ancestor_lsn.value()));
    }
  }
  has_base_ = true;
  base_lsn_ = manifest->base_lsn;
  page_size_ = manifest->page_size;
  disk_consistent_lsn_ = manifest->disk_consistent_lsn;
  catalog_ = std::move(manifest->catalog);
  layer_names_ = manifest->layers;
  gc_cutoff_ = manifest->gc_cutoff_lsn;
  full_image_lsns_ = manifest->full_image_lsns;
  lsn_times_ = manifest->lsn_times;

  auto layers = std::make_shared<LayerSnapshot>();
  const bool show_progress = isatty(STDERR_FILENO) != 0;
  for (const std::string& name : layer_names_) {
    ASSIGN_OR_RETURN(std::shared_ptr<LayerFile> file, OpenLayerFile(name));
    if (IsImageLayerName(name)) {
      ASSIGN_OR_RETURN(auto layer, ImageLayer::Open(file));
      layers->images.push_back(std::move(layer));
    } else {
      ASSIGN_OR_RETURN(auto layer, DeltaLayer::Open(file));
      layers->deltas.push_back(std::move(layer));
    }
    // A layer downloaded here (a restore, or one a previous run evicted) has given what is kept
    // in memory (summary, indexes, page filter); with a budget it goes again at once, so that a
    // restore never needs more disk than the budget, and reads download it on demand.
    if (file->evictable() && options_.local_disk_budget_bytes > 0 && file->Evict().ok()) {
      layer_evictions_.fetch_add(1);
    }
    if (file->evictable() && show_progress) {  // a download: long, shown on a terminal
      absl::FPrintF(stderr, "\r  layers downloaded: %d of %d", layer_downloads_.load(),
                    layer_names_.size());
    }
  }
  if (show_progress && layer_downloads_.load() > 0) absl::FPrintF(stderr, "\n");
  SortLayers(*layers);
  layers_ = layers;
  for (const auto& delta : layers->deltas) {
    if (!full_image_lsns_.empty() && delta->lsn_start() >= full_image_lsns_.back()) {
      delta_bytes_since_full_image_ += delta->file_bytes();
    }
  }
  // Chain counts: records in delta layers after each page's newest image.
  absl::flat_hash_map<PageId, Lsn, std::hash<PageId>> newest_image;
  for (const auto& image : layers->images) {
    if (image->lsn() == base_lsn_) continue;  // the base: older than every delta
    RETURN_IF_ERROR(image->ForEachPage([&](PageId id) { newest_image[id] = image->lsn(); }));
  }
  for (const auto& delta : layers->deltas) {
    RETURN_IF_ERROR(delta->ForEachKey([&](PageId id, Lsn lsn, bool will_init) {
      auto img = newest_image.find(id);
      if (img != newest_image.end() && lsn <= img->second) return;
      uint32_t& chain = chain_[id].since_image;
      chain = will_init ? 1 : chain + 1;
    }));
  }
  // Nothing is materialized yet: long chains on disk are reconstructed once the materializer
  // starts.
  for (auto& [id, chain] : chain_) {
    chain.since_materialized = chain.since_image;
    if (options_.materialize_threshold > 0 && chain.since_image >= options_.materialize_threshold) {
      QueueMaterialization(id);
    }
  }
  WalLogOptions wal_options;
  wal_options.segment_bytes = options_.wal_segment_bytes;
  wal_options.sync = options_.sync;
  ASSIGN_OR_RETURN(wal_, WalLog::Open(dir_ + "/wal", base_lsn_, wal_options));
  if (wal_->start_lsn() > disk_consistent_lsn_ || wal_->end_lsn() < disk_consistent_lsn_) {
    return absl::DataLossError(absl::StrFormat(
        "%s: the WAL log holds LSN %d..%d, but the layers end at LSN %d", dir_,
        wal_->start_lsn().value(), wal_->end_lsn().value(), disk_consistent_lsn_.value()));
  }
  open_ = std::make_shared<InMemoryLayer>(disk_consistent_lsn_);
  RETURN_IF_ERROR(wal_->Scan(disk_consistent_lsn_, [&](wal::Mtr& mtr) {
    Index(mtr);
    return absl::OkStatus();
  }));
  last_record_lsn_ = wal_->end_lsn().value();
  received_lsn_ = wal_->end_lsn().value();
  // No aux version lies above the redo (PutAuxFile refuses it): one that does is what a crash
  // left in the middle of TruncateWal's lowering, or came from a bucket whose WAL was cut later.
  return aux_->LowerAbove(wal_->end_lsn()).status();
}

absl::StatusOr<std::unique_ptr<ImportSession>> TimelineImpl::BeginImport(
    Lsn lsn, uint32_t page_size, std::vector<TablespaceInfo> catalog) {
  std::unique_lock<std::mutex> lock(ingest_mu_);
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    if (has_base_) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "the timeline already has a base at LSN %d; import needs an empty timeline",
          base_lsn_.value()));
    }
  }
  if (page_size != redo::kSupportedPageSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("import: page size %d is not supported (only 16384)", page_size));
  }
  if (lsn == Lsn(0)) return absl::InvalidArgumentError("import: the base LSN must not be 0");
  for (const TablespaceInfo& t : catalog) {
    if (absl::StatusOr<redo::TablespaceFormat> f = redo::ParseSpaceFlags(t.flags, t.space);
        !f.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("import of %s: %s", t.path, f.status().message()));
    }
  }
  ASSIGN_OR_RETURN(auto writer,
                   ImageLayerWriter::Create(LayerPath(ImageLayerName(lsn)), lsn, page_size));
  return std::unique_ptr<ImportSession>(new ImportSessionImpl(
      this, std::move(lock), lsn, page_size, std::move(catalog), std::move(writer)));
}

absl::Status TimelineImpl::CompleteImport(Lsn lsn, uint32_t page_size,
                                          const std::vector<TablespaceInfo>& catalog,
                                          const std::map<uint32_t, uint32_t>& fsp_sizes) {
  const std::string name = ImageLayerName(lsn);
  ASSIGN_OR_RETURN(std::shared_ptr<ImageLayer> image, ImageLayer::Open(LayerPath(name)));
  Manifest m;
  m.base_lsn = lsn;
  m.page_size = page_size;
  m.disk_consistent_lsn = lsn;
  m.layers = {name};
  m.catalog.AddBase(lsn, catalog, fsp_sizes);
  m.full_image_lsns = {lsn};  // the base holds every page
  m.identity.id = NewTimelineId();
  WalLogOptions wal_options;
  wal_options.segment_bytes = options_.wal_segment_bytes;
  wal_options.sync = options_.sync;
  // The manifest is the commit point; the WAL directory is created (empty, starting at the base
  // LSN) after it — Load does the same if a crash comes in between, and wipes a WAL directory
  // that has no manifest.
  RETURN_IF_ERROR(WriteManifest(dir_, m));
  if (remote_client_) {
    remote_client_->WalStartsAt(lsn);
    remote_client_->ScheduleIndex(m);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<WalLog> wal, WalLog::Open(dir_ + "/wal", lsn, wal_options));
  wal_ = std::move(wal);  // from here on IngestWal accepts redo
  std::unique_lock<std::shared_mutex> write(mu_);
  has_base_ = true;
  base_lsn_ = lsn;
  page_size_ = page_size;
  disk_consistent_lsn_ = lsn;
  catalog_ = std::move(m.catalog);
  identity_ = m.identity;
  full_image_lsns_ = {lsn};
  auto layers = std::make_shared<LayerSnapshot>();
  layers->images = {std::move(image)};
  layers_ = std::move(layers);
  layer_names_ = {name};
  open_ = std::make_shared<InMemoryLayer>(lsn);
  last_record_lsn_ = lsn.value();
  received_lsn_ = lsn.value();
  return absl::OkStatus();
}

void TimelineImpl::Index(const wal::Mtr& mtr) {
  catalog_.Apply(mtr);
  // One snippet per page the mini-transaction touches, in the order of first touch. One pass
  // groups the records by page (a mini-transaction may touch thousands of pages).
  index_pages_.clear();
  index_records_.clear();
  index_slot_.clear();
  for (uint32_t i = 0; i < mtr.records.size(); ++i) {
    const wal::Record& rec = mtr.records[i];
    if (rec.IsFileOp() || rec.type == wal::RecordType::kOption ||
        (rec.type == wal::RecordType::kExtended && rec.subtype == wal::ExtendedType::kTrimPages)) {
      continue;
    }
    auto [slot, added] = index_slot_.try_emplace(rec.page, index_pages_.size());
    if (added) {
      index_pages_.push_back(rec.page);
      index_records_.emplace_back();
    }
    index_records_[slot->second].push_back(i);
  }
  for (size_t p = 0; p < index_pages_.size(); ++p) {
    const PageId id = index_pages_[p];
    const bool will_init =
        mtr.records[index_records_[p].front()].type == wal::RecordType::kInitPage;
    EncodeSnippetRecords(mtr, id, index_records_[p], &snippet_buffer_);
    open_->Add(id, mtr.end_lsn, will_init, snippet_buffer_);
    ChainCounts& chain = chain_[id];
    chain.since_image = will_init ? 1 : chain.since_image + 1;
    chain.since_materialized = will_init ? 1 : chain.since_materialized + 1;
    if (chain.since_materialized == options_.materialize_threshold) QueueMaterialization(id);
  }
  open_->AdvanceTo(mtr.end_lsn);
}

absl::Status TimelineImpl::CheckOverlap(Lsn start, std::span<const uint8_t> bytes) {
  const Lsn wal_end = wal_->end_lsn();
  if (start < wal_->start_lsn()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "WAL at LSN %d overlaps log that is no longer kept as WAL (it starts at LSN %d); "
        "send from LSN %d on",
        start.value(), wal_->start_lsn().value(), wal_end.value()));
  }
  const size_t overlap = static_cast<size_t>(std::min<uint64_t>(bytes.size(), wal_end - start));
  std::vector<uint8_t> stored(overlap);
  RETURN_IF_ERROR(wal_->Read(start, stored));
  auto diff = std::mismatch(stored.begin(), stored.end(), bytes.begin());
  if (diff.first != stored.end()) {
    const Lsn at = start + static_cast<uint64_t>(diff.first - stored.begin());
    return absl::InvalidArgumentError(absl::StrFormat(
        "WAL at LSN %d overlaps stored log and differs from it at LSN %d; nothing stored",
        start.value(), at.value()));
  }
  return absl::OkStatus();
}

absl::StatusOr<WriterLease> TimelineImpl::AcquireWriter(const std::string& holder) {
  // Under the ingest lock: once the new generation is returned, no append of an older one is
  // in progress or can start.
  std::lock_guard<std::mutex> lock(ingest_mu_);
  if (!wal_) return absl::FailedPreconditionError("the timeline has no base yet: import first");
  RETURN_IF_ERROR(CheckUploading());
  WriterLease lease;
  lease.generation = (writer_ ? writer_->generation : kNoWriterLease) + 1;
  lease.holder = holder;
  lease.granted_at = wal_->end_lsn();
  RETURN_IF_ERROR(WriteWriterLease(dir_, lease));
  if (remote_client_) remote_client_->ScheduleLease(lease);
  std::unique_lock<std::shared_mutex> write(mu_);
  writer_ = lease;
  return lease;
}

absl::Status TimelineImpl::PutAuxFile(const std::string& path, Lsn lsn,
                                      std::span<const uint8_t> content, bool deleted,
                                      uint64_t writer_generation) {
  // The ingest lock orders the put after any lease grant, as for redo.
  std::lock_guard<std::mutex> ingest(ingest_mu_);
  RETURN_IF_ERROR(CheckWriter(writer_generation));
  RETURN_IF_ERROR(CheckUploading());
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    if (!has_base_) {
      return absl::FailedPreconditionError("the timeline has no base yet: import first");
    }
    if (lsn < base_lsn_) {
      return absl::OutOfRangeError(
          absl::StrFormat("aux file \"%s\" at LSN %d: below the timeline's base LSN %d", path,
                          lsn.value(), base_lsn_.value()));
    }
    if (lsn < gc_cutoff_) {
      return absl::OutOfRangeError(absl::StrFormat(
          "aux file \"%s\" at LSN %d: below the GC cutoff, LSN %d", path, lsn.value(),
          gc_cutoff_.value()));
    }
  }
  if (lsn.value() > last_record_lsn_.load()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "aux file \"%s\" at LSN %d: the timeline holds redo only up to LSN %d; send the redo "
        "first",
        path, lsn.value(), last_record_lsn_.load()));
  }
  uint64_t seq = 0;
  RETURN_IF_ERROR(aux_->Put(path, lsn, content, deleted, &seq));
  if (remote_client_) remote_client_->ScheduleAux(seq);
  return absl::OkStatus();
}

absl::Status TimelineImpl::CheckUploading() const {
  if (!remote_client_) return absl::OkStatus();
  const absl::Status stopped = remote_client_->stopped_for_good();
  if (stopped.ok()) return stopped;
  return absl::FailedPreconditionError(absl::StrFormat(
      "remote storage takes nothing more from this node (%s): what it stored now would never "
      "reach the bucket; nothing from this call was stored",
      stopped.message()));
}

absl::Status TimelineImpl::CheckWriter(uint64_t generation) const {
  if (!writer_ || generation == writer_->generation) {
    if (!writer_ && generation != kNoWriterLease) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "writer generation %d was never granted: the timeline has no writer lease; nothing "
          "from this call was stored",
          generation));
    }
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrFormat(
      "%s is fenced: the writer lease is generation %d, held by \"%s\" since LSN %d; nothing "
      "from this call was stored",
      generation == kNoWriterLease ? std::string("a writer without a lease")
                                   : absl::StrFormat("writer generation %d", generation),
      writer_->generation, writer_->holder, writer_->granted_at.value()));
}

absl::StatusOr<IngestResult> TimelineImpl::WriteWalAs(uint64_t writer_generation, Lsn start,
                                                      std::span<const uint8_t> bytes) {
  std::lock_guard<std::mutex> lock(ingest_mu_);
  if (!wal_) return absl::FailedPreconditionError("the timeline has no base yet: import first");
  RETURN_IF_ERROR(CheckWriter(writer_generation));
  RETURN_IF_ERROR(CheckUploading());
  RETURN_IF_ERROR(FlushError());
  const Lsn wal_end = wal_->end_lsn();  // only ingest moves it
  const Lsn received = wal_end + pending_.size();
  IngestResult result;
  result.last_record_lsn = wal_end;
  result.received_lsn = received;
  if (start > received) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "WAL at LSN %d leaves a gap: the timeline has received up to LSN %d; send from there",
        start.value(), received.value()));
  }
  // Stored bytes may be sent again but must not change. Received bytes after the last whole
  // mini-transaction are not stored (nor acknowledged): a request that overlaps them replaces them.
  if (start < wal_end) {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    RETURN_IF_ERROR(CheckOverlap(start, bytes));
  }
  std::span<const uint8_t> fresh;
  std::vector<uint8_t> tail;  // what follows wal_end: kept pending bytes, then the new ones
  if (start + bytes.size() <= wal_end) return result;
  if (start <= wal_end) {
    fresh = bytes.subspan(static_cast<size_t>(wal_end - start));
  } else {
    tail.assign(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(start - wal_end));
    fresh = bytes;
  }
  tail.insert(tail.end(), fresh.begin(), fresh.end());

  // Decode everything before storing anything: a request is stored whole or not at all.
  wal::MtrDecoderOptions decoder_options;
  decoder_options.page_size = page_size_;
  wal::MtrDecoder decoder(wal_end, decoder_options);
  decoder.Feed(tail);
  std::vector<wal::Mtr> mtrs;
  for (;;) {
    wal::Mtr mtr;
    absl::StatusOr<bool> next = decoder.Next(&mtr);
    if (!next.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "corrupt WAL in the request starting at LSN %d: %s; nothing from this request was "
          "stored",
          start.value(), next.status().message()));
    }
    if (!*next) break;
    mtrs.push_back(std::move(mtr));
  }
  const Lsn new_end = decoder.next_lsn();
  const size_t whole = static_cast<size_t>(new_end - wal_end);
  uint64_t records = 0;
  if (whole > 0) {
    // Indexed before it is written, so that a group commit's sync, which may come from another
    // thread as soon as the bytes are in the log, never publishes an LSN whose records are not
    // indexed yet. Readers do not look past last_record_lsn. Should the write fail, the log
    // refuses everything from then on, and what was indexed here is never published.
    std::unique_lock<std::shared_mutex> write(mu_);
    for (const wal::Mtr& mtr : mtrs) {
      Index(mtr);
      records += mtr.records.size();
    }
  }
  if (whole > 0) {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    RETURN_IF_ERROR(wal_->WriteDecoded(wal_end, std::span<const uint8_t>(tail.data(), whole)));
  }
  pending_.assign(tail.begin() + static_cast<ptrdiff_t>(whole), tail.end());
  {
    absl::MutexLock wake(&wait_mu_);
    received_lsn_ = (new_end + pending_.size()).value();  // >= anything a sync published
  }
  result.last_record_lsn = new_end;
  result.received_lsn = new_end + pending_.size();
  result.bytes_stored = whole;
  result.records_stored = records;
  if (open_->bytes() >= options_.in_memory_layer_bytes) {
    // A layer file never holds redo the WAL log could still lose: sync first.
    RETURN_IF_ERROR(MakeWalDurable(new_end).status());
    // One frozen layer at a time: memory stays within about twice the threshold.
    // A failed earlier flush is reported by the next call: this one's redo is stored.
    if (WaitForFlush().ok() && Freeze()) {
      std::lock_guard<std::mutex> l(flush_mu_);
      flush_pending_ = true;
      flush_cv_.notify_all();
    }
  }
  return result;
}

absl::StatusOr<Lsn> TimelineImpl::MakeWalDurable(Lsn lsn) {
  if (Lsn(last_record_lsn_.load()) >= lsn) return Lsn(last_record_lsn_.load());
  // Group commit: whoever holds sync_mu_ syncs everything written so far; those who queued
  // behind it find their bytes covered, or become the next one to sync.
  std::lock_guard<std::mutex> sync(sync_mu_);
  if (Lsn(last_record_lsn_.load()) >= lsn) return Lsn(last_record_lsn_.load());
  WalLog::SyncTicket ticket;
  {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    if (!wal_) return absl::FailedPreconditionError("the timeline has no base yet: import first");
    if (lsn > wal_->end_lsn()) {
      return absl::OutOfRangeError(
          absl::StrFormat("cannot make LSN %d durable: the WAL is written up to LSN %d",
                          lsn.value(), wal_->end_lsn().value()));
    }
    ASSIGN_OR_RETURN(ticket, wal_->BeginSync());
  }
  // Without wal_mu_: the next requests are written meanwhile, and share the next sync.
  const absl::Status synced = ticket.Sync();
  {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    RETURN_IF_ERROR(wal_->EndSync(ticket, synced));
  }
  wal_syncs_.fetch_add(1, std::memory_order_relaxed);
  if (remote_client_) remote_client_->WalDurable(ticket.end());
  absl::MutexLock wake(&wait_mu_);
  last_record_lsn_ = std::max(last_record_lsn_.load(), ticket.end().value());
  received_lsn_ = std::max(received_lsn_.load(), ticket.end().value());
  RecordArrivalLocked(Lsn(last_record_lsn_.load()));
  return Lsn(last_record_lsn_.load());
}

absl::StatusOr<Lsn> TimelineImpl::TruncateWal(Lsn lsn, uint64_t writer_generation) {
  std::lock_guard<std::mutex> lock(ingest_mu_);
  std::lock_guard<std::mutex> no_sync(sync_mu_);  // the tail changes under no sync in flight
  if (!wal_) return absl::FailedPreconditionError("the timeline has no base yet: import first");
  RETURN_IF_ERROR(CheckWriter(writer_generation));
  RETURN_IF_ERROR(CheckUploading());
  // No layer may be half written: a frozen layer absorbs the WAL below its end.
  RETURN_IF_ERROR(WaitForFlush());
  const Lsn floor = disk_consistent_lsn_;  // ingest_mu_ held and no flush running: stable
  const Lsn end = wal_->end_lsn();
  if (lsn > end) {
    return absl::OutOfRangeError(absl::StrFormat(
        "cannot truncate the WAL at LSN %d: it ends at LSN %d", lsn.value(), end.value()));
  }
  if (lsn < floor) {
    return absl::FailedPreconditionError(
        absl::StrFormat("cannot truncate the WAL at LSN %d: layer files hold its redo up to LSN %d "
                        "(disk_consistent_lsn); only a tail above that can be dropped",
                        lsn.value(), floor.value()));
  }
  // The LSN must be a boundary of the stored mini-transactions.
  Lsn below = floor, above = end;
  {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    absl::Status scan = wal_->Scan(floor, [&](wal::Mtr& mtr) {
      if (mtr.end_lsn <= lsn) below = mtr.end_lsn;
      if (mtr.end_lsn >= lsn) {
        above = mtr.end_lsn;
        return absl::CancelledError("past the LSN");
      }
      return absl::OkStatus();
    });
    if (!scan.ok() && !absl::IsCancelled(scan)) return scan;
  }
  if (below != lsn) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cannot truncate the WAL at LSN %d: it lies inside the stored mini-transaction %d..%d; "
        "truncate at LSN %d or %d",
        lsn.value(), below.value(), above.value(), below.value(), above.value()));
  }
  ASSIGN_OR_RETURN(std::optional<Manifest> manifest, ReadManifest(dir_));
  if (!manifest) return absl::DataLossError(absl::StrFormat("%s: the manifest is gone", dir_));
  {
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    RETURN_IF_ERROR(wal_->TruncateAfter(lsn));
  }
  if (remote_client_) remote_client_->WalTruncated(lsn);
  // Aux versions stamped with the end of the redo dropped (a compute stamps a file change with
  // the LSN the server had acknowledged) apply from the new end: the change came after the
  // redo its writer had really written, which ends at or below it. A copy in the bucket that
  // was uploaded before keeps its LSN until a restore lowers it the same way (Load).
  RETURN_IF_ERROR(aux_->LowerAbove(lsn).status());
  pending_.clear();
  {
    // The in-memory layer and the catalog as a restart would rebuild them: the manifest's
    // catalog (as of disk_consistent_lsn) and the WAL after it. Readers wait meanwhile.
    std::unique_lock<std::shared_mutex> write(mu_);
    std::lock_guard<std::mutex> wal_lock(wal_mu_);
    catalog_ = std::move(manifest->catalog);
    // Images reconstructed from records that are now gone go; one in progress is not kept. The
    // LSN goes down first: a materialization that sees the new count reads at the new LSN.
    last_record_lsn_ = lsn.value();
    received_lsn_ = lsn.value();
    truncations_.fetch_add(1);
    materialized_->EraseAbove(lsn);
    open_ = std::make_shared<InMemoryLayer>(floor);
    RETURN_IF_ERROR(wal_->Scan(floor, [&](wal::Mtr& mtr) {
      Index(mtr);
      return absl::OkStatus();
    }));
  }
  absl::MutexLock wake(&wait_mu_);
  last_record_lsn_ = lsn.value();
  received_lsn_ = lsn.value();
  for (auto& [second, arrived] : arrivals_) arrived = std::min(arrived, lsn);
  return lsn;
}

TimelineImpl::~TimelineImpl() {
  {
    std::lock_guard<std::mutex> l(flush_mu_);
    stopping_ = true;
  }
  flush_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  {
    std::lock_guard<std::mutex> l(maintenance_mu_);
    maintenance_stopping_ = true;
  }
  maintenance_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  {
    std::lock_guard<std::mutex> l(materialize_mu_);
    materializer_stopping_ = true;
  }
  materialize_cv_.notify_all();
  if (materializer_.joinable()) materializer_.join();
}

TimelineStatus TimelineImpl::Status() const {
  TimelineStatus s;
  std::shared_lock<std::shared_mutex> read(mu_);
  s.has_base = has_base_;
  // A branch is readable down to its root's base: below its branch LSN, through its ancestors.
  s.base_lsn = ancestor_ != nullptr ? ancestor_->ReadableFrom() : base_lsn_;
  s.last_record_lsn = Lsn(last_record_lsn_.load());
  s.durable_lsn = s.last_record_lsn;  // ingest acknowledges only after fdatasync
  s.received_lsn = Lsn(received_lsn_.load());
  s.disk_consistent_lsn = disk_consistent_lsn_;
  s.gc_cutoff_lsn = gc_cutoff_;
  s.full_image_sets = static_cast<uint32_t>(full_image_lsns_.size());
  s.identity = identity_;
  s.wal_syncs = wal_syncs_.load(std::memory_order_relaxed);
  if (remote_client_) s.remote_consistent_lsn = remote_client_->remote_consistent_lsn();
  s.writer = writer_;
  s.image_layers = static_cast<uint32_t>(layers_->images.size());
  s.delta_layers = static_cast<uint32_t>(layers_->deltas.size());
  for (const auto& l : layers_->images) {
    s.image_layer_bytes += l->file_bytes();
    s.local_layer_bytes += l->file()->resident() ? l->file_bytes() : 0;
    s.layer_remote_reads += l->file()->remote_reads();
  }
  for (const auto& l : layers_->deltas) {
    if (l->level() > 0) ++s.level1_delta_layers;
    s.delta_layer_bytes += l->file_bytes();
    s.local_layer_bytes += l->file()->resident() ? l->file_bytes() : 0;
    s.layer_remote_reads += l->file()->remote_reads();
  }
  s.compactions = compactions_.load();
  s.materialized_pages = materialized_->size();
  s.materializations = materializations_.load();
  s.layer_downloads = layer_downloads_.load();
  s.layer_evictions = layer_evictions_.load();
  if (open_) s.in_memory_bytes += open_->bytes();
  if (frozen_) s.in_memory_bytes += frozen_->bytes();
  s.tablespaces = has_base_ ? static_cast<uint32_t>(catalog_.List(s.last_record_lsn).size()) : 0;
  return s;
}

absl::StatusOr<IngestResult> Timeline::IngestWalAs(uint64_t writer_generation, Lsn start,
                                                   std::span<const uint8_t> bytes) {
  ASSIGN_OR_RETURN(IngestResult written, WriteWalAs(writer_generation, start, bytes));
  // Also when nothing new was written: a resend of bytes written but not yet synced.
  RETURN_IF_ERROR(MakeWalDurable(written.last_record_lsn).status());
  return written;
}

absl::StatusOr<std::unique_ptr<Timeline>> Timeline::Open(const std::string& dir,
                                                         TimelineOptions options) {
  auto timeline = std::make_unique<TimelineImpl>(dir, options);
  RETURN_IF_ERROR(timeline->Load());
  timeline->StartFlusher();
  if (options.remote != nullptr) RETURN_IF_ERROR(timeline->StartRemote());
  return std::unique_ptr<Timeline>(std::move(timeline));
}

}  // namespace pageserver::storage
