#include "storage/remote_timeline_client.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "common/file_io.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace pageserver::storage {
namespace {

std::span<const uint8_t> AsBytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

RemoteTimelineClient::RemoteTimelineClient(RemoteTimelineClientOptions options,
                                           std::optional<RemoteIndex> start_index,
                                           Lsn wal_chain_start, Lsn wal_uploaded)
    : options_(std::move(options)), remote_(*options_.storage) {
  {
    absl::MutexLock l(&mu_);
    if (start_index) {
      layer_generations_ = start_index->layer_generations;
      index_uploaded_ = start_index->manifest.disk_consistent_lsn;
    }
    wal_durable_ = wal_uploaded_ = wal_restorable_ = wal_uploaded;
    wal_chain_start_ = std::min(wal_chain_start, wal_uploaded);
    aux_collection_cutoff_ = options_.aux_collection_cutoff;
  }
  thread_ = std::thread([this] { Run(); });
}

RemoteTimelineClient::~RemoteTimelineClient() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void RemoteTimelineClient::ScheduleIndex(Manifest manifest) {
  absl::MutexLock l(&mu_);
  index_scheduled_ = std::max(index_scheduled_, manifest.disk_consistent_lsn);
  pending_index_ = std::move(manifest);
  ++index_schedules_;
}

void RemoteTimelineClient::WalDurable(Lsn end) {
  absl::MutexLock l(&mu_);
  wal_durable_ = std::max(wal_durable_, end);
}

void RemoteTimelineClient::WalStartsAt(Lsn lsn) {
  absl::MutexLock l(&mu_);
  wal_durable_ = std::max(wal_durable_, lsn);
  wal_uploaded_ = std::max(wal_uploaded_, lsn);
  wal_restorable_ = std::max(wal_restorable_, lsn);
  wal_chain_start_ = std::max(wal_chain_start_, lsn);
}

void RemoteTimelineClient::WalTruncated(Lsn lsn) {
  absl::MutexLock l(&mu_);
  ++truncations_;
  wal_durable_ = lsn;
  wal_uploaded_ = std::min(wal_uploaded_, lsn);
  wal_restorable_ = std::min(wal_restorable_, lsn);
  pending_truncation_ = lsn;
}

void RemoteTimelineClient::AuxCollecting(Lsn cutoff) {
  absl::MutexLock l(&mu_);
  aux_collection_cutoff_ = std::max(aux_collection_cutoff_, cutoff);
}

void RemoteTimelineClient::ScheduleAux(uint64_t seq) {
  absl::MutexLock l(&mu_);
  pending_aux_.push_back(seq);
}

void RemoteTimelineClient::ScheduleLease(const WriterLease& lease) {
  absl::MutexLock l(&mu_);
  pending_leases_.push_back(lease);
}

Lsn RemoteTimelineClient::remote_consistent_lsn() const {
  absl::MutexLock l(&mu_);
  if (index_uploaded_ == Lsn(0)) return Lsn(0);  // nothing to apply the WAL to
  return index_uploaded_ >= wal_chain_start_ ? std::max(index_uploaded_, wal_restorable_)
                                             : index_uploaded_;
}

Lsn RemoteTimelineClient::wal_uploaded_lsn() const {
  absl::MutexLock l(&mu_);
  return wal_uploaded_;
}

std::optional<Generation> RemoteTimelineClient::LayerGeneration(const std::string& name) const {
  absl::MutexLock l(&mu_);
  auto it = layer_generations_.find(name);
  if (it == layer_generations_.end()) return std::nullopt;
  return it->second;
}

absl::Status RemoteTimelineClient::stopped_for_good() const {
  absl::MutexLock l(&mu_);
  return stopped_for_good_;
}

absl::Status RemoteTimelineClient::last_error() const {
  absl::MutexLock l(&mu_);
  return last_error_;
}

absl::Status RemoteTimelineClient::WaitUntilUploaded(absl::Time deadline) {
  absl::MutexLock l(&mu_);
  const Lsn wal_target = wal_durable_;
  const Lsn index_target = index_scheduled_;
  // Asks the thread to upload the WAL now rather than after the interval.
  last_wal_upload_ = absl::InfinitePast();
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!stopped_for_good_.ok()) return true;
    return !busy_ && !pending_index_ && pending_aux_.empty() && pending_leases_.empty() &&
           !pending_truncation_ && index_uploaded_ >= index_target &&
           (wal_uploaded_ >= wal_target || wal_durable_ < wal_target);
  };
  if (mu_.AwaitWithDeadline(absl::Condition(&done), deadline)) {
    return stopped_for_good_.ok() ? absl::OkStatus() : stopped_for_good_;
  }
  return absl::DeadlineExceededError(
      absl::StrFormat("uploads to %s still pending%s%s", remote_.Describe(),
                      last_error_.ok() ? "" : ": ", last_error_.message()));
}

void RemoteTimelineClient::Run() {
  absl::MutexLock l(&mu_);
  for (;;) {
    // Due: anything queued, or WAL waiting for longer than the interval (or more than a chunk).
    auto due = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      if (stopping_) return true;
      if (pending_index_ || !pending_aux_.empty() || !pending_leases_.empty() ||
          pending_truncation_) {
        return true;
      }
      if (wal_durable_ <= wal_uploaded_) return false;
      return wal_durable_ - wal_uploaded_ >= options_.wal_chunk_bytes ||
             absl::Now() >= last_wal_upload_ + options_.wal_upload_interval;
    };
    while (!due()) {
      const absl::Time wake = wal_durable_ > wal_uploaded_
                                  ? last_wal_upload_ + options_.wal_upload_interval
                                  : absl::Now() + absl::Seconds(1);
      mu_.AwaitWithDeadline(absl::Condition(&due), wake);
    }
    if (stopping_) return;
    busy_ = true;
    mu_.Unlock();
    const absl::Status uploaded = UploadWaiting();
    mu_.Lock();
    busy_ = false;
    last_error_ = uploaded;
    if (uploaded.ok()) continue;
    log::Warn("uploading to {} failed: {}", remote_.Describe(), std::string(uploaded.message()));
    if (absl::IsDataLoss(uploaded) || !stopped_for_good_.ok()) {
      if (stopped_for_good_.ok()) stopped_for_good_ = uploaded;
      log::Error("uploads to {} stopped until a restart", remote_.Describe());
      mu_.Await(absl::Condition(&stopping_));
      return;
    }
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.pause_after_failure);
  }
}

absl::Status RemoteTimelineClient::UploadWaiting() {
  // Truncation first: every chunk after it must apply after it (a higher seq).
  std::optional<Lsn> truncation;
  uint64_t truncations = 0;
  {
    absl::MutexLock l(&mu_);
    truncation = pending_truncation_;
    truncations = truncations_;
  }
  if (truncation) {
    RETURN_IF_ERROR(PutOnce(WalChunkKey(options_.prefix, options_.generation, next_wal_seq_++,
                                        *truncation, *truncation),
                            {}));
    absl::MutexLock l(&mu_);
    if (truncations == truncations_) pending_truncation_.reset();
  }
  RETURN_IF_ERROR(UploadWal());
  for (;;) {
    std::optional<uint64_t> seq;
    {
      absl::MutexLock l(&mu_);
      if (!pending_aux_.empty()) seq = pending_aux_.front();
    }
    if (!seq) break;
    if (options_.aux_held && !options_.aux_held(*seq)) {  // collected before its upload
      absl::MutexLock l(&mu_);
      pending_aux_.pop_front();
      continue;
    }
    if (!aux_listed_) RETURN_IF_ERROR(LoadAuxListing());
    const std::string file = options_.aux_file(*seq);
    ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, ReadWholeFile(file));
    auto listed = aux_listed_->find(*seq);
    if (listed == aux_listed_->end() || listed->second != bytes.size()) {
      RETURN_IF_ERROR(PutOnce(AuxKey(options_.prefix, *seq, options_.generation), bytes));
      (*aux_listed_)[*seq] = bytes.size();
    }
    absl::MutexLock l(&mu_);
    pending_aux_.pop_front();
  }
  for (;;) {
    std::optional<WriterLease> lease;
    {
      absl::MutexLock l(&mu_);
      if (!pending_leases_.empty()) lease = pending_leases_.front();
    }
    if (!lease) break;
    RETURN_IF_ERROR(PutOnce(LeaseKey(options_.prefix, lease->generation, options_.generation),
                            AsBytes(WriterLeaseJson(*lease))));
    absl::MutexLock l(&mu_);
    pending_leases_.pop_front();
  }
  std::optional<Manifest> manifest;
  uint64_t schedules = 0;
  {
    absl::MutexLock l(&mu_);
    manifest = pending_index_;
    schedules = index_schedules_;
  }
  if (manifest) {
    const absl::Status uploaded = UploadIndex(*manifest);
    if (!uploaded.ok()) {
      // A layer of this manifest that GC removed before it went up is no error once a newer
      // manifest (which no longer names it) is waiting: the next pass uploads that one.
      absl::MutexLock l(&mu_);
      if (absl::IsNotFound(uploaded) && index_schedules_ != schedules) return absl::OkStatus();
      return uploaded;
    }
    absl::MutexLock l(&mu_);
    // Unless a newer one came meanwhile (of the same LSN too: a flush, then its GC).
    if (index_schedules_ == schedules) pending_index_.reset();
  }
  return absl::OkStatus();
}

absl::Status RemoteTimelineClient::UploadWal() {
  bool fence_checked = false;
  for (;;) {
    Lsn from, to;
    uint64_t truncations = 0;
    {
      absl::MutexLock l(&mu_);
      from = wal_uploaded_;
      to = std::min<Lsn>(wal_durable_, from + options_.wal_chunk_bytes);
      truncations = truncations_;
    }
    if (to <= from) return absl::OkStatus();
    // Once per pass with WAL to upload: a fenced node learns it within an upload interval of
    // new redo, and stops taking redo that its successor would never see (Timeline).
    if (!fence_checked) {
      RETURN_IF_ERROR(CheckNotFenced());
      fence_checked = true;
    }
    std::vector<uint8_t> bytes(to - from);
    absl::Status read = options_.read_wal(from, bytes);
    if (read.ok()) {
      read = PutOnce(WalChunkKey(options_.prefix, options_.generation, next_wal_seq_++, from, to),
                     bytes);
    }
    absl::MutexLock l(&mu_);
    if (truncations != truncations_) continue;  // the log changed under the read: again
    RETURN_IF_ERROR(read);
    wal_uploaded_ = to;
    if (to == wal_durable_) wal_restorable_ = to;  // durable ends are mini-transaction boundaries
    last_wal_upload_ = absl::Now();
  }
}

absl::Status RemoteTimelineClient::UploadIndex(const Manifest& manifest) {
  RemoteIndex index;
  index.manifest = manifest;
  index.generation = options_.generation;
  std::optional<std::map<std::string, uint64_t>> listed;  // layer key -> size, when needed
  for (const std::string& name : manifest.layers) {
    const std::string path = options_.layers_dir + "/" + name;
    std::optional<Generation> known;
    {
      absl::MutexLock l(&mu_);
      if (auto it = layer_generations_.find(name); it != layer_generations_.end()) {
        known = it->second;
      }
    }
    if (known && *known != options_.generation) {
      // Stored by an earlier generation: not copied again, but it must be the same file (its
      // size is checked, unless the local copy was evicted; the name says which LSNs it covers).
      std::error_code ec;
      const uint64_t size = std::filesystem::file_size(path, ec);
      if (!ec) {
        if (!listed) {
          ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> objects,
                           remote_.List(options_.prefix + "/layers/"));
          listed.emplace();
          for (const remote::ObjectInfo& o : objects) (*listed)[o.key] = o.size;
        }
        const std::string key = LayerKey(options_.prefix, name, *known);
        auto found = listed->find(key);
        if (found == listed->end()) {
          return absl::DataLossError(
              absl::StrFormat("%s/%s is missing, though the index of generation %d names it",
                              remote_.Describe(), key, *known));
        }
        if (found->second != size) {
          return absl::DataLossError(
              absl::StrFormat("%s/%s holds %d bytes, the local file of that name %d",
                              remote_.Describe(), key, found->second, size));
        }
      }
      index.layer_generations[name] = *known;
      continue;
    }
    if (!known) {
      if (!std::filesystem::exists(path)) {
        return absl::NotFoundError(absl::StrFormat("layer file %s is gone", path));
      }
      ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, ReadWholeFile(path));
      RETURN_IF_ERROR(PutOnce(LayerKey(options_.prefix, name, options_.generation), bytes));
      absl::MutexLock l(&mu_);
      layer_generations_[name] = options_.generation;
    }
    index.layer_generations[name] = options_.generation;
  }
  RETURN_IF_ERROR(CheckNotFenced());
  const std::string key =
      IndexKey(options_.prefix, options_.generation, manifest.disk_consistent_lsn, next_index_seq_);
  RETURN_IF_ERROR(PutOnce(key, AsBytes(RemoteIndexJson(index))));
  ++next_index_seq_;
  {
    absl::MutexLock l(&mu_);
    index_uploaded_ = std::max(index_uploaded_, manifest.disk_consistent_lsn);
  }
  return DeleteUnreferenced(index, key);
}

absl::Status RemoteTimelineClient::DeleteUnreferenced(const RemoteIndex& index,
                                                      const std::string& index_key) {
  std::vector<std::string> garbage;
  ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> layers,
                   remote_.List(options_.prefix + "/layers/"));
  for (const remote::ObjectInfo& o : layers) {
    const auto parsed = ParseLayerKey(options_.prefix, o.key);
    if (!parsed) continue;
    auto named = index.layer_generations.find(parsed->first);
    if (named == index.layer_generations.end() || named->second != parsed->second) {
      // A read that began before the layer went may still need the object: the next upload
      // after it is done takes it.
      if (options_.layer_in_use && options_.layer_in_use(parsed->first)) continue;
      garbage.push_back(o.key);
    }
  }
  ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> indexes,
                   remote_.List(options_.prefix + "/index/"));
  for (const remote::ObjectInfo& o : indexes) {
    if (ParseIndexKey(options_.prefix, o.key) && o.key != index_key) garbage.push_back(o.key);
  }
  bool aux_collectable = false;
  if (options_.aux_held) {
    absl::MutexLock l(&mu_);
    aux_collectable = index.manifest.gc_cutoff_lsn >= aux_collection_cutoff_;
  }
  if (aux_collectable) {
    ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> aux,
                     remote_.List(options_.prefix + "/aux/"));
    for (const remote::ObjectInfo& o : aux) {
      const std::optional<AuxName> name = ParseAuxKey(options_.prefix, o.key);
      if (name && !options_.aux_held(name->seq)) garbage.push_back(o.key);
    }
  }
  ASSIGN_OR_RETURN(const std::vector<WalChunkName> chunks,
                   ListWalChunks(remote_, options_.prefix));
  for (const WalChunkName& chunk : chunks) {
    if (chunk.end <= index.manifest.disk_consistent_lsn) garbage.push_back(chunk.key);
  }
  if (garbage.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(CheckNotFenced());
  for (const std::string& key : garbage) {
    RETURN_IF_ERROR(remote_.Delete(key));
    absl::MutexLock l(&mu_);
    if (auto aux = ParseAuxKey(options_.prefix, key); aux && aux_listed_) aux_listed_->erase(aux->seq);
    if (auto parsed = ParseLayerKey(options_.prefix, key)) {
      auto it = layer_generations_.find(parsed->first);
      if (it != layer_generations_.end() && it->second == parsed->second) {
        layer_generations_.erase(it);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status RemoteTimelineClient::CheckNotFenced() {
  ASSIGN_OR_RETURN(const Generation newest, NewestGeneration(remote_, options_.prefix));
  if (newest <= options_.generation) return absl::OkStatus();
  const absl::Status fenced = absl::FailedPreconditionError(absl::StrFormat(
      "generation %d is fenced: generation %d of %s/%s was claimed since, so this node no "
      "longer uploads there, nor takes redo its successor would not see",
      options_.generation, newest, remote_.Describe(), options_.prefix));
  absl::MutexLock l(&mu_);
  stopped_for_good_ = fenced;
  return fenced;
}

absl::Status RemoteTimelineClient::LoadAuxListing() {
  ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> objects,
                   remote_.List(options_.prefix + "/aux/"));
  aux_listed_.emplace();
  for (const remote::ObjectInfo& o : objects) {
    if (std::optional<AuxName> n = ParseAuxKey(options_.prefix, o.key)) {
      (*aux_listed_)[n->seq] = o.size;
    }
  }
  return absl::OkStatus();
}

absl::Status RemoteTimelineClient::PutOnce(const std::string& key, std::span<const uint8_t> bytes) {
  const absl::Status put = remote_.PutIfAbsent(key, bytes);
  if (!absl::IsAlreadyExists(put)) return put;
  ASSIGN_OR_RETURN(const std::vector<uint8_t> stored, remote_.Get(key));
  if (std::equal(stored.begin(), stored.end(), bytes.begin(), bytes.end())) {
    return absl::OkStatus();
  }
  return absl::DataLossError(
      absl::StrFormat("%s/%s holds other bytes than this node would store there (%d vs %d bytes)",
                      remote_.Describe(), key, stored.size(), bytes.size()));
}

}  // namespace pageserver::storage
