#include "storage/aux_file_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <regex>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/byte_order.h"
#include "common/file_io.h"
#include "common/status_macros.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;
constexpr size_t kMaxPathBytes = 4096;
// u32 path length, path, u64 LSN, u8 deleted.
constexpr size_t kFixedHeaderBytes = 4 + 8 + 1;

// The version of a file of `file_size` bytes from its first bytes (`head`: at least its header,
// when the file is long enough for one).
absl::StatusOr<AuxFileVersion> DecodeHeader(std::span<const uint8_t> head, uint64_t file_size,
                                            const std::string& where) {
  if (file_size < kFixedHeaderBytes) {
    return absl::DataLossError(
        absl::StrFormat("%s: %d bytes, too short for a header", where, file_size));
  }
  const uint32_t path_len = ReadBe32(head.data());
  if (path_len > kMaxPathBytes || kFixedHeaderBytes + path_len > file_size ||
      kFixedHeaderBytes + path_len > head.size()) {
    return absl::DataLossError(absl::StrFormat("%s: path length %d does not fit", where, path_len));
  }
  AuxFileVersion v;
  v.path.assign(reinterpret_cast<const char*>(head.data() + 4), path_len);
  v.lsn = Lsn(ReadBe64(head.data() + 4 + path_len));
  v.deleted = head[4 + path_len + 8] != 0;
  v.size = file_size - kFixedHeaderBytes - path_len;
  if (absl::Status p = AuxFileStore::CheckPath(v.path); !p.ok()) {
    return absl::DataLossError(absl::StrFormat("%s: %s", where, p.message()));
  }
  return v;
}

}  // namespace

absl::Status AuxFileStore::CheckPath(const std::string& path) {
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError(
        absl::StrFormat("aux file path \"%s\": %s", path.substr(0, 200), why));
  };
  if (path.empty()) return bad("empty");
  if (path.size() > kMaxPathBytes) return bad("longer than 4096 bytes");
  if (path.find('\0') != std::string::npos) return bad("holds a NUL byte");
  if (path.front() == '/') return bad("absolute; it must be relative to the datadir");
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return bad("has an empty, \".\" or \"..\" component");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AuxFileStore>> AuxFileStore::Open(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrFormat("creating %s: %s", dir, ec.message()));
  std::unique_ptr<AuxFileStore> store(new AuxFileStore(dir));
  RETURN_IF_ERROR(store->Load());
  return store;
}

std::string AuxFileStore::FileName(uint64_t seq) { return absl::StrFormat("%020d.aux", seq); }

std::string AuxFileStore::FilePath(uint64_t seq) const { return dir_ + "/" + FileName(seq); }

std::vector<uint64_t> AuxFileStore::Sequences() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::vector<uint64_t>(seqs_.begin(), seqs_.end());
}

absl::StatusOr<AuxFileVersion> AuxFileStore::DecodeVersion(std::span<const uint8_t> file,
                                                           const std::string& where) {
  return DecodeHeader(file, file.size(), where);
}

absl::Status AuxFileStore::Load() {
  static const std::regex kName("([0-9]{20})\\.aux");
  std::error_code ec;
  std::vector<Entry> entries;
  for (auto it = fs::directory_iterator(dir_, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::smatch m;
    if (!std::regex_match(name, m, kName)) {
      // A version whose rename a crash prevented was never acknowledged.
      if (name.ends_with(".tmp")) fs::remove(it->path(), ec);
      continue;
    }
    Entry e;
    const std::string digits = m[1].str();
    std::from_chars(digits.data(), digits.data() + digits.size(), e.seq);
    const std::string path = it->path().string();
    int fd = -1;
    ASSIGN_OR_RETURN(const uint64_t file_size, OpenForReading(path, &fd));
    // The header only: its fixed part, then the path it announces.
    std::vector<uint8_t> header(std::min<uint64_t>(file_size, kFixedHeaderBytes));
    absl::Status s = ReadFully(fd, 0, header.size(), header.data(), path);
    if (s.ok() && header.size() == kFixedHeaderBytes) {
      const uint64_t path_len = ReadBe32(header.data());
      header.resize(std::min<uint64_t>(file_size, kFixedHeaderBytes + std::min<uint64_t>(
                                                                          path_len, kMaxPathBytes)));
      s = ReadFully(fd, 0, header.size(), header.data(), path);
    }
    close(fd);
    RETURN_IF_ERROR(s);
    ASSIGN_OR_RETURN(e.version, DecodeHeader(header, file_size, path));
    entries.push_back(std::move(e));
  }
  if (ec) return absl::InternalError(absl::StrFormat("listing %s: %s", dir_, ec.message()));
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.seq < b.seq; });
  for (Entry& e : entries) {
    next_seq_ = std::max(next_seq_, e.seq + 1);
    seqs_.insert(e.seq);
    std::vector<Entry>& v = versions_[e.version.path];
    v.push_back(std::move(e));
  }
  for (auto& [path, v] : versions_) {
    std::stable_sort(v.begin(), v.end(),
                     [](const Entry& a, const Entry& b) { return a.version.lsn < b.version.lsn; });
  }
  return absl::OkStatus();
}

absl::Status AuxFileStore::Put(const std::string& path, Lsn lsn, std::span<const uint8_t> content,
                               bool deleted, uint64_t* seq_out) {
  RETURN_IF_ERROR(CheckPath(path));
  if (content.size() > kMaxAuxFileBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "aux file \"%s\" at LSN %d: %d bytes, more than the %d an aux file may hold", path,
        lsn.value(), content.size(), kMaxAuxFileBytes));
  }
  if (deleted && !content.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("aux file \"%s\" at LSN %d: a deletion carries no content", path,
                        lsn.value()));
  }
  std::lock_guard<std::mutex> put(put_mu_);
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = versions_.find(path);
    if (it != versions_.end() && !it->second.empty() && it->second.back().version.lsn > lsn) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "aux file \"%s\" at LSN %d: the server holds a newer version, at LSN %d", path,
          lsn.value(), it->second.back().version.lsn.value()));
    }
    seq = next_seq_;
  }
  std::string bytes(kFixedHeaderBytes + path.size() + content.size(), '\0');
  uint8_t* out = reinterpret_cast<uint8_t*>(bytes.data());
  WriteBe32(out, static_cast<uint32_t>(path.size()));
  std::copy(path.begin(), path.end(), bytes.begin() + 4);
  WriteBe64(out + 4 + path.size(), lsn.value());
  out[12 + path.size()] = deleted ? 1 : 0;
  std::copy(content.begin(), content.end(), out + kFixedHeaderBytes + path.size());
  RETURN_IF_ERROR(WriteFileAtomically(FilePath(seq), bytes));
  std::lock_guard<std::mutex> lock(mu_);
  next_seq_ = seq + 1;
  seqs_.insert(seq);
  versions_[path].push_back(Entry{{path, lsn, content.size(), deleted}, seq});
  if (seq_out != nullptr) *seq_out = seq;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint64_t>> AuxFileStore::LowerAbove(Lsn lsn) {
  std::lock_guard<std::mutex> put(put_mu_);  // no Put checks against an LSN that moves
  std::vector<std::pair<uint64_t, size_t>> above;  // seq, path length
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [path, versions] : versions_) {
      for (const Entry& e : versions) {
        if (e.version.lsn > lsn) above.emplace_back(e.seq, path.size());
      }
    }
  }
  std::sort(above.begin(), above.end());
  std::vector<uint64_t> rewritten;
  for (const auto& [seq, path_bytes] : above) {
    ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadWholeFile(FilePath(seq)));
    if (bytes.size() < kFixedHeaderBytes + path_bytes) {
      return absl::DataLossError(absl::StrFormat("%s: shorter than its header", FilePath(seq)));
    }
    WriteBe64(bytes.data() + 4 + path_bytes, lsn.value());
    RETURN_IF_ERROR(WriteFileAtomically(
        FilePath(seq), std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
    rewritten.push_back(seq);
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [path, versions] : versions_) {
    // Versions are in LSN order, then seq: those above `lsn` are the last ones, and stay last.
    for (Entry& e : versions) e.version.lsn = std::min(e.version.lsn, lsn);
  }
  return rewritten;
}

const AuxFileStore::Entry* AuxFileStore::Find(const std::string& path, Lsn lsn) const {
  auto it = versions_.find(path);
  if (it == versions_.end()) return nullptr;
  const Entry* found = nullptr;
  for (const Entry& e : it->second) {
    if (e.version.lsn > lsn) break;
    found = &e;
  }
  return found;
}

absl::Status AuxFileStore::CheckNotCollected(const std::string& path, Lsn lsn) const {
  if (lsn >= cutoff_) return absl::OkStatus();
  return absl::OutOfRangeError(absl::StrFormat(
      "aux file \"%s\" at LSN %d: below the GC cutoff, LSN %d, its versions were collected", path,
      lsn.value(), cutoff_.value()));
}

absl::StatusOr<std::vector<uint64_t>> AuxFileStore::Collect(Lsn cutoff, bool keep_deletions) {
  std::vector<uint64_t> removed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cutoff_ = std::max(cutoff_, cutoff);
    const uint64_t newest_seq = next_seq_ - 1;
    for (auto path = versions_.begin(); path != versions_.end();) {
      std::vector<Entry>& v = path->second;
      // The versions at or below the cutoff: [0, at_or_below).
      size_t at_or_below = 0;
      while (at_or_below < v.size() && v[at_or_below].version.lsn <= cutoff) ++at_or_below;
      size_t keep_from = at_or_below == 0 ? 0 : at_or_below - 1;
      if (at_or_below > 0 && v[keep_from].version.deleted && !keep_deletions) {
        keep_from = at_or_below;
      }
      size_t kept = 0;  // compacts v to what stays
      for (size_t i = 0; i < v.size(); ++i) {
        if (i < keep_from && v[i].seq != newest_seq) {
          removed.push_back(v[i].seq);
          seqs_.erase(v[i].seq);
        } else {
          if (kept != i) v[kept] = std::move(v[i]);  // a self-move would empty the entry
          ++kept;
        }
      }
      v.resize(kept);
      path = v.empty() ? versions_.erase(path) : std::next(path);
    }
  }
  // Out of the index first: a read from now on does not find them; one that found a version
  // before may meet its file gone, and is then refused as below the cutoff (Get).
  for (const uint64_t seq : removed) {
    std::error_code ec;
    if (!fs::remove(FilePath(seq), ec) && ec) {
      return absl::InternalError(
          absl::StrFormat("removing %s: %s", FilePath(seq), ec.message()));
    }
  }
  if (!removed.empty()) RETURN_IF_ERROR(SyncDirectory(dir_));
  return removed;
}

bool AuxFileStore::Holds(uint64_t seq) const {
  std::lock_guard<std::mutex> lock(mu_);
  return seqs_.contains(seq);
}

absl::StatusOr<std::vector<uint8_t>> AuxFileStore::Get(const std::string& path, Lsn lsn,
                                                       AuxFileVersion* version) const {
  RETURN_IF_ERROR(CheckPath(path));
  Entry e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(CheckNotCollected(path, lsn));
    const Entry* found = Find(path, lsn);
    if (found == nullptr || found->version.deleted) {
      return absl::NotFoundError(absl::StrFormat(
          "aux file \"%s\" does not exist at LSN %d%s", path, lsn.value(),
          found != nullptr ? absl::StrFormat(" (deleted at LSN %d)", found->version.lsn.value())
                           : std::string()));
    }
    e = *found;
  }
  const std::string file = FilePath(e.seq);
  int fd = -1;
  absl::StatusOr<uint64_t> opened = OpenForReading(file, &fd);
  if (!opened.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(CheckNotCollected(path, lsn));  // collected since it was found
    return opened.status();
  }
  const uint64_t file_size = *opened;
  const uint64_t offset = kFixedHeaderBytes + path.size();
  std::vector<uint8_t> content(e.version.size);
  absl::Status s = file_size != offset + e.version.size
                       ? absl::DataLossError(absl::StrFormat("%s: %d bytes, expected %d", file,
                                                             file_size, offset + e.version.size))
                       : ReadFully(fd, offset, content.size(), content.data(), file);
  close(fd);
  RETURN_IF_ERROR(s);
  if (version != nullptr) *version = e.version;
  return content;
}

std::vector<AuxFileVersion> AuxFileStore::List(Lsn lsn, bool with_deletions) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AuxFileVersion> out;
  for (const auto& [path, v] : versions_) {
    const Entry* e = Find(path, lsn);
    if (e != nullptr && (with_deletions || !e->version.deleted)) out.push_back(e->version);
  }
  return out;
}

std::optional<AuxFileVersion> AuxFileStore::VersionAt(const std::string& path, Lsn lsn) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Entry* e = Find(path, lsn);
  return e != nullptr ? std::optional<AuxFileVersion>(e->version) : std::nullopt;
}

}  // namespace pageserver::storage
