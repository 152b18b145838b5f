#include "storage/catalog.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace pageserver::storage {
namespace {

// The value of the last (lsn, value) change at or below `lsn`; `fallback` when none.
template <typename T>
T ValueAt(const std::vector<std::pair<Lsn, T>>& changes, Lsn lsn, T fallback) {
  auto it = std::upper_bound(changes.begin(), changes.end(), lsn,
                             [](Lsn l, const std::pair<Lsn, T>& c) { return l < c.first; });
  return it == changes.begin() ? fallback : std::prev(it)->second;
}

}  // namespace

void Catalog::AddBase(Lsn lsn, const std::vector<TablespaceInfo>& spaces) {
  for (const TablespaceInfo& t : spaces) {
    Incarnation inc;
    inc.created = lsn;
    inc.flags = t.flags;
    inc.paths.push_back({lsn, wal::NormalizeRelativePath(t.path)});
    inc.sizes.push_back({lsn, t.pages});
    spaces_[t.space.value()].push_back(std::move(inc));
  }
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
      continue;
    }
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
  t.flags = inc->flags;
  t.pages = ValueAt(inc->sizes, lsn, 0u);
  t.floor = inc->created;
  auto trim = std::upper_bound(inc->trims.begin(), inc->trims.end(), lsn);
  if (trim != inc->trims.begin()) {
    t.floor = *std::prev(trim);
    t.trimmed = true;
  }
  return t;
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
