#include "storage/catalog.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "nlohmann/json.hpp"
#include "redo/page_format.h"

namespace pageserver::storage {
namespace {

// The value of the last (lsn, value) change at or below `lsn`; `fallback` when none.
template <typename T>
T ValueAt(const std::vector<std::pair<Lsn, T>>& changes, Lsn lsn, T fallback) {
  auto it = std::upper_bound(changes.begin(), changes.end(), lsn,
                             [](Lsn l, const std::pair<Lsn, T>& c) { return l < c.first; });
  return it == changes.begin() ? fallback : std::prev(it)->second;
}

// FSP_SIZE after `rec`, a record of page 0, given its value before it (nullopt: unknown);
// nullopt when the record leaves it unknown. MariaDB's mtr_t::write logs only the bytes from the
// first one that differs, so a WRITE may cover the field's last bytes only: the others are kept.
std::optional<uint32_t> FspSizeAfter(const wal::Mtr& mtr, const wal::Record& rec,
                                     std::optional<uint32_t> before) {
  constexpr uint32_t kField = redo::kFspSize;
  constexpr uint32_t kFieldEnd = kField + 4;
  uint32_t from = rec.offset;  // the bytes the record writes: [from, to)
  uint32_t to = rec.offset;
  switch (rec.type) {
    case wal::RecordType::kInitPage:
      return 0;
    case wal::RecordType::kWrite:
      to = from + rec.data_len;
      break;
    case wal::RecordType::kMemset:
    case wal::RecordType::kMemmove:
      to = from + rec.length;
      break;
    case wal::RecordType::kExtended:
      // Index and undo records never concern page 0; should one, what it changes is unknown.
      return std::nullopt;
    default:
      return before;  // FREE_PAGE, OPTION: no bytes change
  }
  if (to <= kField || from >= kFieldEnd) return before;
  const std::span<const uint8_t> data = mtr.Data(rec);
  // A MEMMOVE copies page bytes the catalog does not have.
  if (rec.type == wal::RecordType::kMemmove || data.empty()) return std::nullopt;
  if (!before && (from > kField || to < kFieldEnd)) return std::nullopt;
  uint8_t field[4];
  WriteBe32(field, before.value_or(0));
  for (uint32_t i = std::max(from, kField); i < std::min(to, kFieldEnd); ++i) {
    field[i - kField] =
        rec.type == wal::RecordType::kWrite ? data[i - from] : data[(i - from) % data.size()];
  }
  return ReadBe32(field);
}

// Drops the changes before the last one at or below `cutoff`: it alone answers there and above.
template <typename Change, typename LsnOf>
void KeepFromLastAtOrBelow(std::vector<Change>& changes, Lsn cutoff, LsnOf lsn_of) {
  auto after = std::upper_bound(changes.begin(), changes.end(), cutoff,
                                [&](Lsn l, const Change& c) { return l < lsn_of(c); });
  if (after != changes.begin()) changes.erase(changes.begin(), std::prev(after));
}

}  // namespace

void Catalog::ForgetBefore(Lsn cutoff) {
  for (auto space = spaces_.begin(); space != spaces_.end();) {
    std::vector<Incarnation>& incs = space->second;
    // Only the last life of a space id can be undeleted: the ones deleted by the cutoff are
    // all before it, and no question at or above the cutoff finds them.
    std::erase_if(incs, [&](const Incarnation& inc) { return inc.deleted && *inc.deleted <= cutoff; });
    for (Incarnation& inc : incs) {
      auto first = [](const auto& change) { return change.first; };
      KeepFromLastAtOrBelow(inc.paths, cutoff, first);
      KeepFromLastAtOrBelow(inc.sizes, cutoff, first);
      KeepFromLastAtOrBelow(inc.fsp_sizes, cutoff, first);
      KeepFromLastAtOrBelow(inc.trims, cutoff, [](Lsn l) { return l; });
    }
    space = incs.empty() ? spaces_.erase(space) : std::next(space);
  }
}

void Catalog::AddBase(Lsn lsn, const std::vector<TablespaceInfo>& spaces,
                      const std::map<uint32_t, uint32_t>& fsp_sizes) {
  for (const TablespaceInfo& t : spaces) {
    Incarnation inc;
    inc.created = lsn;
    inc.flags = t.flags;
    inc.paths.push_back({lsn, wal::NormalizeRelativePath(t.path)});
    inc.sizes.push_back({lsn, t.pages});
    if (auto fsp = fsp_sizes.find(t.space.value()); fsp != fsp_sizes.end()) {
      inc.fsp_sizes.push_back({lsn, fsp->second});
    }
    spaces_[t.space.value()].push_back(std::move(inc));
  }
}

void Catalog::SetFspSize(Incarnation* inc, Lsn lsn, std::optional<uint32_t> fsp_size) {
  auto& changes = inc->fsp_sizes;
  if (!changes.empty() && changes.back().first == lsn) {
    changes.back().second = fsp_size;
  } else if (changes.empty() ? fsp_size.has_value() : changes.back().second != fsp_size) {
    changes.push_back({lsn, fsp_size});
  }
}

void Catalog::TrackFspSize(const wal::Mtr& mtr, const wal::Record& rec, Lsn lsn, Incarnation* inc) {
  const std::optional<uint32_t> before =
      inc->fsp_sizes.empty() ? std::nullopt : inc->fsp_sizes.back().second;
  SetFspSize(inc, lsn, FspSizeAfter(mtr, rec, before));
}

Catalog::Incarnation* Catalog::Current(SpaceId space) {
  auto it = spaces_.find(space.value());
  if (it == spaces_.end() || it->second.empty() || it->second.back().deleted) return nullptr;
  return &it->second.back();
}

void Catalog::Apply(const wal::Mtr& mtr) {
  const Lsn lsn = mtr.end_lsn;
  for (const wal::Record& rec : mtr.records) {
    const SpaceId space = rec.page.space;
    Incarnation* inc = Current(space);
    switch (rec.type) {
      case wal::RecordType::kFileCreate:
      case wal::RecordType::kFileModify: {
        const std::string path = wal::NormalizeRelativePath(mtr.Path(rec));
        if (inc == nullptr) {
          Incarnation created;
          created.created = lsn;
          created.paths.push_back({lsn, path});
          created.sizes.push_back({lsn, 0});
          // A created file starts empty: page 0 is zero until its INIT_PAGE. A space first seen
          // through FILE_MODIFY existed before, with an FSP_SIZE the catalog does not know.
          if (rec.type == wal::RecordType::kFileCreate) created.fsp_sizes.push_back({lsn, 0});
          spaces_[space.value()].push_back(std::move(created));
        } else if (inc->paths.back().second != path) {
          inc->paths.push_back({lsn, path});
        }
        continue;
      }
      case wal::RecordType::kFileRename:
        if (inc != nullptr) {
          inc->paths.push_back({lsn, wal::NormalizeRelativePath(mtr.NewPath(rec))});
        }
        continue;
      case wal::RecordType::kFileDelete:
        if (inc != nullptr) inc->deleted = lsn;
        continue;
      case wal::RecordType::kFileCheckpoint:
      case wal::RecordType::kOption:
        continue;
      default:
        break;
    }
    if (inc == nullptr) continue;  // a page of a space the catalog does not know: reads refuse it
    if (rec.type == wal::RecordType::kExtended && rec.subtype == wal::ExtendedType::kTrimPages) {
      inc->sizes.push_back({lsn, rec.page.page.value()});
      inc->trims.push_back(lsn);
      // MariaDB rewrites page 0 with the new FSP_SIZE in the same mini-transaction.
      SetFspSize(inc, lsn, rec.page.page.value());
      continue;
    }
    if (rec.page.page.value() == 0) TrackFspSize(mtr, rec, lsn, inc);
    const uint32_t needed = rec.page.page.value() + 1;
    if (needed > inc->sizes.back().second) inc->sizes.push_back({lsn, needed});
  }
}

const Catalog::Incarnation* Catalog::FindIncarnation(SpaceId space, Lsn lsn) const {
  auto it = spaces_.find(space.value());
  if (it == spaces_.end()) return nullptr;
  for (auto inc = it->second.rbegin(); inc != it->second.rend(); ++inc) {
    if (inc->created <= lsn) return (inc->deleted && *inc->deleted <= lsn) ? nullptr : &*inc;
  }
  return nullptr;
}

std::optional<TablespaceAt> Catalog::Find(SpaceId space, Lsn lsn) const {
  const Incarnation* inc = FindIncarnation(space, lsn);
  if (inc == nullptr) return std::nullopt;
  TablespaceAt t;
  t.space = space;
  t.path = ValueAt(inc->paths, lsn, std::string());
  t.named = inc->created;
  for (const auto& [at, path] : inc->paths) {
    if (at <= lsn) t.named = std::max(t.named, at);
  }
  t.flags = inc->flags;
  t.pages = std::max(ValueAt(inc->sizes, lsn, 0u),
                     ValueAt(inc->fsp_sizes, lsn, std::optional<uint32_t>()).value_or(0));
  t.floor = inc->created;
  auto trim = std::upper_bound(inc->trims.begin(), inc->trims.end(), lsn);
  if (trim != inc->trims.begin()) {
    t.floor = *std::prev(trim);
    t.trimmed = true;
  }
  return t;
}

std::vector<TablespaceAt> Catalog::ListFiles(Lsn lsn) const {
  std::map<std::string, TablespaceAt> by_path;
  for (TablespaceAt& t : List(lsn)) {
    auto [it, added] = by_path.try_emplace(t.path, t);
    if (!added && std::tie(t.named, t.space) > std::tie(it->second.named, it->second.space)) {
      it->second = std::move(t);
    }
  }
  std::vector<TablespaceAt> out;
  for (auto& [path, t] : by_path) out.push_back(std::move(t));
  std::sort(out.begin(), out.end(),
            [](const TablespaceAt& a, const TablespaceAt& b) { return a.space < b.space; });
  return out;
}

std::vector<TablespaceAt> Catalog::List(Lsn lsn) const {
  std::vector<TablespaceAt> out;
  for (const auto& [id, incs] : spaces_) {
    if (auto t = Find(SpaceId(id), lsn)) out.push_back(std::move(*t));
  }
  return out;
}

void Catalog::SetFlags(SpaceId space, Lsn lsn, uint32_t flags) {
  auto it = spaces_.find(space.value());
  if (it == spaces_.end()) return;
  for (auto& inc : it->second) {
    if (inc.created <= lsn && (!inc.deleted || lsn < *inc.deleted)) inc.flags = flags;
  }
}

nlohmann::json Catalog::ToJson(Lsn up_to) const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [id, incs] : spaces_) {
    for (const Incarnation& inc : incs) {
      if (inc.created > up_to) continue;
      nlohmann::json j;
      j["space_id"] = id;
      j["created"] = inc.created.value();
      if (inc.deleted && *inc.deleted <= up_to) j["deleted"] = inc.deleted->value();
      if (inc.flags) j["flags"] = *inc.flags;
      j["paths"] = nlohmann::json::array();
      for (const auto& [l, p] : inc.paths) {
        if (l <= up_to) j["paths"].push_back({{"lsn", l.value()}, {"path", p}});
      }
      j["sizes"] = nlohmann::json::array();
      for (const auto& [l, n] : inc.sizes) {
        if (l <= up_to) j["sizes"].push_back({l.value(), n});
      }
      j["trims"] = nlohmann::json::array();
      for (Lsn l : inc.trims) {
        if (l <= up_to) j["trims"].push_back(l.value());
      }
      j["fsp_sizes"] = nlohmann::json::array();
      for (const auto& [l, n] : inc.fsp_sizes) {
        if (l > up_to) continue;
        j["fsp_sizes"].push_back({l.value(), n ? nlohmann::json(*n) : nlohmann::json(nullptr)});
      }
      out.push_back(std::move(j));
    }
  }
  return out;
}

absl::StatusOr<Catalog> Catalog::FromJson(const nlohmann::json& j) {
  Catalog c;
  try {
    for (const nlohmann::json& e : j) {
      Incarnation inc;
      inc.created = Lsn(e.at("created").get<uint64_t>());
      if (e.contains("deleted")) inc.deleted = Lsn(e["deleted"].get<uint64_t>());
      if (e.contains("flags")) inc.flags = e["flags"].get<uint32_t>();
      for (const auto& p : e.at("paths")) {
        inc.paths.push_back({Lsn(p.at("lsn").get<uint64_t>()), p.at("path").get<std::string>()});
      }
      for (const auto& s : e.at("sizes")) {
        inc.sizes.push_back({Lsn(s.at(0).get<uint64_t>()), s.at(1).get<uint32_t>()});
      }
      for (const auto& t : e.at("trims")) inc.trims.push_back(Lsn(t.get<uint64_t>()));
      // Absent in manifests written before FSP_SIZE was tracked: unknown, the old size rule.
      for (const auto& f : e.value("fsp_sizes", nlohmann::json::array())) {
        const nlohmann::json& n = f.at(1);
        inc.fsp_sizes.push_back({Lsn(f.at(0).get<uint64_t>()),
                                 n.is_null() ? std::nullopt : std::optional(n.get<uint32_t>())});
      }
      if (inc.paths.empty() || inc.sizes.empty()) {
        return absl::DataLossError("catalog entry without path or size");
      }
      c.spaces_[e.at("space_id").get<uint32_t>()].push_back(std::move(inc));
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrFormat("malformed catalog: %s", e.what()));
  }
  return c;
}

}  // namespace pageserver::storage
