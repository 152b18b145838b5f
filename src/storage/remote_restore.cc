#include "storage/remote_restore.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "absl/strings/str_format.h"
#include "common/file_io.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "storage/aux_file_store.h"
#include "storage/wal_log.h"
#include "storage/writer_lease.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;

std::string_view AsText(const std::vector<uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

absl::Status RestoreAuxFiles(remote::RemoteStorage& remote, const std::string& prefix,
                             const std::string& aux_dir, Lsn end, RestoredTimeline* restored) {
  ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> objects, remote.List(prefix + "/aux/"));
  std::map<uint64_t, AuxName> newest;  // seq -> its object of the highest generation
  for (const remote::ObjectInfo& o : objects) {
    std::optional<AuxName> n = ParseAuxKey(prefix, o.key);
    if (!n) continue;
    auto [it, added] = newest.try_emplace(n->seq, *n);
    if (!added && n->gen > it->second.gen) it->second = *n;
  }
  std::error_code ec;
  fs::create_directories(aux_dir, ec);
  if (ec) return absl::InternalError(absl::StrFormat("creating %s: %s", aux_dir, ec.message()));
  for (const auto& [seq, name] : newest) {
    ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, remote.Get(name.key));
    ASSIGN_OR_RETURN(const AuxFileVersion version,
                     AuxFileStore::DecodeVersion(bytes, remote.Describe() + "/" + name.key));
    // A version stored after redo the bucket does not hold would show at the wrong LSN.
    if (version.lsn > end) continue;
    RETURN_IF_ERROR(
        WriteFileAtomically(aux_dir + "/" + AuxFileStore::FileName(seq), AsText(bytes)));
    ++restored->aux_files;
  }
  return absl::OkStatus();
}

absl::Status RestoreWriterLease(remote::RemoteStorage& remote, const std::string& prefix,
                                const std::string& dir) {
  ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> objects, remote.List(prefix + "/writer/"));
  std::optional<LeaseName> newest;
  for (const remote::ObjectInfo& o : objects) {
    std::optional<LeaseName> n = ParseLeaseKey(prefix, o.key);
    if (n && (!newest || std::tie(n->lease_generation, n->gen) >
                             std::tie(newest->lease_generation, newest->gen))) {
      newest = n;
    }
  }
  if (!newest) return absl::OkStatus();
  ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, remote.Get(newest->key));
  ASSIGN_OR_RETURN(
      const WriterLease lease,
      ParseWriterLease(std::string(AsText(bytes)), remote.Describe() + "/" + newest->key));
  return WriteWriterLease(dir, lease);
}

}  // namespace

absl::StatusOr<Generation> FindLayerGeneration(remote::RemoteStorage& remote,
                                               const std::string& prefix, const std::string& name) {
  ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> objects,
                   remote.List(prefix + "/layers/" + name + "-"));
  std::optional<Generation> gen;
  for (const remote::ObjectInfo& o : objects) {
    auto parsed = ParseLayerKey(prefix, o.key);
    if (parsed && parsed->first == name && (!gen || parsed->second > *gen)) gen = parsed->second;
  }
  if (!gen) {
    return absl::NotFoundError(
        absl::StrFormat("layer %s is in no object of %s/%s", name, remote.Describe(), prefix));
  }
  return *gen;
}

absl::Status DownloadLayerFile(remote::RemoteStorage& remote, const std::string& prefix,
                               const std::string& name, std::optional<Generation> gen,
                               const std::string& path) {
  if (!gen) {
    ASSIGN_OR_RETURN(gen, FindLayerGeneration(remote, prefix, name));
  }
  ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, remote.Get(LayerKey(prefix, name, *gen)));
  return WriteFileAtomically(path, AsText(bytes));
}

std::vector<WalPiece> PlanWal(const std::vector<WalChunkName>& chunks) {
  std::vector<WalPiece> log;
  for (const WalChunkName& chunk : chunks) {
    const WalPiece piece{chunk.key, chunk.start, chunk.end, 0};
    if (log.empty() || chunk.start < log.front().start || chunk.start > log.back().end) {
      log = {piece};
      continue;
    }
    while (!log.empty() && log.back().start >= chunk.start) log.pop_back();
    if (!log.empty() && log.back().end > chunk.start) log.back().end = chunk.start;
    log.push_back(piece);
  }
  return log;
}

std::optional<std::vector<WalPiece>> WalFrom(const std::vector<WalPiece>& log, Lsn lsn) {
  if (log.empty() || log.front().start > lsn || log.back().end < lsn) return std::nullopt;
  std::vector<WalPiece> from;
  for (WalPiece piece : log) {
    if (piece.end <= lsn) continue;
    if (piece.start < lsn) {
      piece.offset += lsn - piece.start;
      piece.start = lsn;
    }
    from.push_back(std::move(piece));
  }
  return from;
}

absl::StatusOr<std::optional<RestoredTimeline>> RestoreTimelineFiles(remote::RemoteStorage& remote,
                                                                     const std::string& prefix,
                                                                     const std::string& dir,
                                                                     Generation at_most) {
  ASSIGN_OR_RETURN(const std::optional<IndexName> newest, NewestIndex(remote, prefix, at_most));
  if (!newest) return std::optional<RestoredTimeline>();
  RestoredTimeline restored;
  ASSIGN_OR_RETURN(restored.index, DownloadRemoteIndex(remote, prefix, *newest));
  const Manifest& manifest = restored.index.manifest;
  const Lsn lsn = manifest.disk_consistent_lsn;
  log::Info("restoring {} from {}/{}: index of generation {} at LSN {}, {} layers", dir,
            remote.Describe(), prefix, newest->gen, lsn.value(), manifest.layers.size());
  // The layer files are downloaded when the timeline opens them (Timeline::Open).
  ASSIGN_OR_RETURN(const std::vector<WalChunkName> chunks, ListWalChunks(remote, prefix));
  const std::optional<std::vector<WalPiece>> wal = WalFrom(PlanWal(chunks), lsn);
  restored.wal_end = lsn;
  if (wal) {
    restored.wal = *wal;
    if (!restored.wal.empty()) restored.wal_end = restored.wal.back().end;
  } else if (!chunks.empty()) {
    log::Warn("the WAL in {}/{} does not reach back to LSN {}: restoring up to it",
              remote.Describe(), prefix, lsn.value());
  }
  RETURN_IF_ERROR(RestoreAuxFiles(remote, prefix, dir + "/aux", restored.wal_end, &restored));
  RETURN_IF_ERROR(RestoreWriterLease(remote, prefix, dir));
  // The log starts where the layers end; the timeline ingests the planned WAL into it.
  WalLogOptions wal_options;
  RETURN_IF_ERROR(WalLog::Open(dir + "/wal", lsn, wal_options).status());
  RETURN_IF_ERROR(WriteManifest(dir, manifest));  // the commit point
  log::Info("restored the manifest and {} aux files; WAL to ingest: LSN {}..{}",
            restored.aux_files, lsn.value(), restored.wal_end.value());
  return std::optional<RestoredTimeline>(std::move(restored));
}

}  // namespace pageserver::storage
