#include "storage/remote_layout.h"

#include <algorithm>
#include <charconv>
#include <regex>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace pageserver::storage {
namespace {

// `key` without "<prefix>/<dir>/", or nullopt when it is not under it.
std::optional<std::string> Under(const std::string& prefix, const char* dir,
                                 const std::string& key) {
  const std::string head = prefix + "/" + dir + "/";
  if (!key.starts_with(head)) return std::nullopt;
  return key.substr(head.size());
}

template <typename T>
T Number(const std::ssub_match& m, int base = 10) {
  T value = 0;
  const std::string s = m.str();
  std::from_chars(s.data(), s.data() + s.size(), value, base);
  return value;
}

constexpr char kGen[] = "([0-9a-f]{8})";
constexpr char kNum[] = "([0-9]{20})";

}  // namespace

std::string GenerationKey(const std::string& prefix, Generation gen) {
  return absl::StrFormat("%s/generations/%08x", prefix, gen);
}
std::string LayerKey(const std::string& prefix, const std::string& layer, Generation gen) {
  return absl::StrFormat("%s/layers/%s-%08x", prefix, layer, gen);
}
std::string IndexKey(const std::string& prefix, Generation gen, Lsn lsn, uint32_t seq) {
  return absl::StrFormat("%s/index/%08x-%020d-%08d.json", prefix, gen, lsn.value(), seq);
}
std::string WalChunkKey(const std::string& prefix, Generation gen, uint64_t seq, Lsn start,
                        Lsn end) {
  return absl::StrFormat("%s/wal/%08x-%020d-%020d-%020d.wal", prefix, gen, seq, start.value(),
                         end.value());
}
std::string AuxKey(const std::string& prefix, uint64_t seq, Generation gen) {
  return absl::StrFormat("%s/aux/%020d-%08x.aux", prefix, seq, gen);
}
std::string LeaseKey(const std::string& prefix, uint64_t lease_generation, Generation gen) {
  return absl::StrFormat("%s/writer/%020d-%08x.json", prefix, lease_generation, gen);
}

std::optional<IndexName> ParseIndexKey(const std::string& prefix, const std::string& key) {
  static const std::regex kName(std::string(kGen) + "-" + kNum + "-([0-9]{8})\\.json");
  const std::optional<std::string> rest = Under(prefix, "index", key);
  std::smatch m;
  if (!rest || !std::regex_match(*rest, m, kName)) return std::nullopt;
  return IndexName{Number<Generation>(m[1], 16), Lsn(Number<uint64_t>(m[2])),
                   Number<uint32_t>(m[3])};
}

std::optional<WalChunkName> ParseWalChunkKey(const std::string& prefix, const std::string& key) {
  static const std::regex kName(std::string(kGen) + "-" + kNum + "-" + kNum + "-" + kNum +
                                "\\.wal");
  const std::optional<std::string> rest = Under(prefix, "wal", key);
  std::smatch m;
  if (!rest || !std::regex_match(*rest, m, kName)) return std::nullopt;
  WalChunkName n{Number<Generation>(m[1], 16),
                 Number<uint64_t>(m[2]),
                 Lsn(Number<uint64_t>(m[3])),
                 Lsn(Number<uint64_t>(m[4])),
                 key,
                 0};
  if (n.end < n.start) return std::nullopt;
  return n;
}

std::optional<AuxName> ParseAuxKey(const std::string& prefix, const std::string& key) {
  static const std::regex kName(std::string(kNum) + "-" + kGen + "\\.aux");
  const std::optional<std::string> rest = Under(prefix, "aux", key);
  std::smatch m;
  if (!rest || !std::regex_match(*rest, m, kName)) return std::nullopt;
  return AuxName{Number<uint64_t>(m[1]), Number<Generation>(m[2], 16), key, 0};
}

std::optional<LeaseName> ParseLeaseKey(const std::string& prefix, const std::string& key) {
  static const std::regex kName(std::string(kNum) + "-" + kGen + "\\.json");
  const std::optional<std::string> rest = Under(prefix, "writer", key);
  std::smatch m;
  if (!rest || !std::regex_match(*rest, m, kName)) return std::nullopt;
  return LeaseName{Number<uint64_t>(m[1]), Number<Generation>(m[2], 16), key};
}

std::optional<std::pair<std::string, Generation>> ParseLayerKey(const std::string& prefix,
                                                                const std::string& key) {
  static const std::regex kName(std::string("(.+)-") + kGen);
  const std::optional<std::string> rest = Under(prefix, "layers", key);
  std::smatch m;
  if (!rest || !std::regex_match(*rest, m, kName)) return std::nullopt;
  return std::make_pair(m[1].str(), Number<Generation>(m[2], 16));
}

absl::StatusOr<Generation> NewestGeneration(remote::RemoteStorage& remote,
                                            const std::string& prefix) {
  static const std::regex kName(kGen);
  ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> claims,
                   remote.List(prefix + "/generations/"));
  Generation newest = 0;
  for (const remote::ObjectInfo& o : claims) {
    const std::optional<std::string> rest = Under(prefix, "generations", o.key);
    std::smatch m;
    if (rest && std::regex_match(*rest, m, kName)) {
      newest = std::max(newest, Number<Generation>(m[1], 16));
    }
  }
  return newest;
}

absl::StatusOr<Generation> ClaimGeneration(remote::RemoteStorage& remote, const std::string& prefix,
                                           const std::string& holder) {
  ASSIGN_OR_RETURN(Generation gen, NewestGeneration(remote, prefix));
  // A node that claims the same number meanwhile wins it; this one takes the next.
  for (int attempt = 0; attempt < 100; ++attempt) {
    ++gen;
    const std::string claim = nlohmann::json{{"generation", gen}, {"holder", holder}}.dump() + "\n";
    const absl::Status put = remote.PutIfAbsent(
        GenerationKey(prefix, gen),
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(claim.data()), claim.size()));
    if (put.ok()) return gen;
    if (!absl::IsAlreadyExists(put)) return put;
  }
  return absl::AbortedError(
      absl::StrFormat("claiming a generation of %s/%s: 100 attempts lost to other nodes",
                      remote.Describe(), prefix));
}

absl::StatusOr<std::optional<IndexName>> NewestIndex(remote::RemoteStorage& remote,
                                                     const std::string& prefix,
                                                     Generation at_most) {
  ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> listed, remote.List(prefix + "/index/"));
  std::optional<IndexName> newest;
  for (const remote::ObjectInfo& o : listed) {
    const std::optional<IndexName> n = ParseIndexKey(prefix, o.key);
    if (!n || n->gen > at_most) continue;
    if (!newest ||
        std::tie(n->gen, n->lsn, n->seq) > std::tie(newest->gen, newest->lsn, newest->seq)) {
      newest = n;
    }
  }
  return newest;
}

absl::StatusOr<std::vector<WalChunkName>> ListWalChunks(remote::RemoteStorage& remote,
                                                        const std::string& prefix) {
  ASSIGN_OR_RETURN(const std::vector<remote::ObjectInfo> listed, remote.List(prefix + "/wal/"));
  std::vector<WalChunkName> chunks;
  for (const remote::ObjectInfo& o : listed) {
    std::optional<WalChunkName> n = ParseWalChunkKey(prefix, o.key);
    if (!n) continue;
    n->size = o.size;
    chunks.push_back(std::move(*n));
  }
  std::sort(chunks.begin(), chunks.end(), [](const WalChunkName& a, const WalChunkName& b) {
    return std::tie(a.gen, a.seq) < std::tie(b.gen, b.seq);
  });
  return chunks;
}

}  // namespace pageserver::storage
