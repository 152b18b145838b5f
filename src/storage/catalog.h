// Catalog: the tablespaces of a timeline through its history — which space ids exist at an LSN,
// under which path, with which FSP flags and how many pages. Built from the import's catalog and
// then from the redo itself: FILE_CREATE / FILE_MODIFY / FILE_RENAME / FILE_DELETE, TRIM_PAGES
// (a truncated undo tablespace) and the highest page each mini-transaction touches.
//
// Every change is kept with the LSN (the mini-transaction's end) it happened at, so a question
// about LSN L sees exactly the changes at or below L. A tablespace's "floor" is the LSN before
// which its history does not count: its creation (a space id re-created after a delete starts
// over) or its last TRIM_PAGES.
//
// Thread-safety: none; the Timeline guards it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "nlohmann/json_fwd.hpp"
#include "wal/record.h"

namespace pageserver::storage {

struct TablespaceInfo {
  SpaceId space;
  std::string path;    // relative to the datadir
  uint32_t flags = 0;  // FSP_SPACE_FLAGS
  uint32_t pages = 0;  // size in pages
};

struct TablespaceAt {
  SpaceId space;
  std::string path;
  std::optional<uint32_t> flags;  // unknown for a space created after the base until page 0 is read
  uint32_t pages = 0;
  Lsn floor;             // history below this LSN does not count (creation or last trim)
  bool trimmed = false;  // the floor is a TRIM_PAGES
};

class Catalog {
 public:
  // The import's tablespaces, all existing from `lsn`.
  void AddBase(Lsn lsn, const std::vector<TablespaceInfo>& spaces);
  // Applies the FILE_* and page records of one mini-transaction.
  void Apply(const wal::Mtr& mtr);

  // The tablespace at `lsn`; nullopt when it does not exist then.
  std::optional<TablespaceAt> Find(SpaceId space, Lsn lsn) const;
  std::vector<TablespaceAt> List(Lsn lsn) const;
  // Records the flags read from page 0 (they never change for a tablespace's life).
  void SetFlags(SpaceId space, Lsn lsn, uint32_t flags);

  // The history up to and including `lsn`, for the manifest; and back.
  nlohmann::json ToJson(Lsn up_to) const;
  static absl::StatusOr<Catalog> FromJson(const nlohmann::json& j);

  size_t size_at(Lsn lsn) const { return List(lsn).size(); }

 private:
  // One life of a space id, from creation to deletion.
  struct Incarnation {
    Lsn created;
    std::optional<Lsn> deleted;
    std::optional<uint32_t> flags;
    std::vector<std::pair<Lsn, std::string>> paths;  // renames, ascending
    std::vector<std::pair<Lsn, uint32_t>> sizes;     // size changes, ascending
    std::vector<Lsn> trims;                          // TRIM_PAGES, ascending
  };
  const Incarnation* FindIncarnation(SpaceId space, Lsn lsn) const;
  Incarnation* Current(SpaceId space);

  std::map<uint32_t, std::vector<Incarnation>> spaces_;
};

}  // namespace pageserver::storage
