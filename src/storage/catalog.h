// Catalog: the tablespaces of a timeline through its history — which space ids exist at an LSN,
// under which path, with which FSP flags and how many pages. Built from the import's catalog and
// then from the redo itself: FILE_CREATE / FILE_MODIFY / FILE_RENAME / FILE_DELETE, TRIM_PAGES
// (a truncated undo tablespace), the FSP_SIZE field of each page 0 and the highest page each
// mini-transaction touches.
//
// Size rule: MariaDB extends a file without logging the new pages (they are zero until an
// INIT_PAGE), so the highest page touched falls short of the file. Its size is FSP_SIZE in page 0,
// which is logged: the catalog follows those 4 bytes through the page-0 records that overlap them
// (WRITE, MEMSET, INIT_PAGE; TRIM_PAGES sets the size). A record it cannot follow (MEMMOVE into the
// field, a partial WRITE over unknown bytes, an old manifest without the field) leaves FSP_SIZE
// unknown until page 0 is initialised or the field is written whole again. The size at an LSN is
// the larger of FSP_SIZE (when known) and the highest-touched size (the base's file size, the
// highest page any record touched since, or the size a TRIM_PAGES set).
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
  Lsn named;             // since when `path` is its name (creation or last rename)
  Lsn floor;             // history below this LSN does not count (creation or last trim)
  bool trimmed = false;  // the floor is a TRIM_PAGES
};

class Catalog {
 public:
  // The import's tablespaces, all existing from `lsn`. `fsp_sizes` maps a space id to FSP_SIZE of
  // its imported page 0; a space missing from it has FSP_SIZE unknown.
  void AddBase(Lsn lsn, const std::vector<TablespaceInfo>& spaces,
               const std::map<uint32_t, uint32_t>& fsp_sizes = {});
  // Applies the FILE_* and page records of one mini-transaction.
  void Apply(const wal::Mtr& mtr);

  // The tablespace at `lsn`; nullopt when it does not exist then.
  std::optional<TablespaceAt> Find(SpaceId space, Lsn lsn) const;
  std::vector<TablespaceAt> List(Lsn lsn) const;
  // The tablespaces whose files exist at `lsn`: List, except that a path names one file. When
  // several spaces claim a path, the one named last holds it: InnoDB replaced the others' file
  // without a FILE_DELETE record (after a crash in the middle of an ALTER's renames, the
  // dictionary can drop a table under its old space id, deleting a file that holds another).
  std::vector<TablespaceAt> ListFiles(Lsn lsn) const;
  // Records the flags read from page 0 (they never change for a tablespace's life).
  void SetFlags(SpaceId space, Lsn lsn, uint32_t flags);

  // Forgets the history no question at or above `cutoff` needs (GC, at the PITR cutoff): the
  // lives of spaces deleted by then, and of each change list all but the last change at or
  // below it. Find, List and ListFiles answer exactly as before at every LSN >= cutoff.
  void ForgetBefore(Lsn cutoff);

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
    std::vector<std::pair<Lsn, uint32_t>> sizes;     // highest-touched size changes, ascending
    std::vector<Lsn> trims;                          // TRIM_PAGES, ascending
    // FSP_SIZE of page 0 (changes, ascending); nullopt where it is unknown.
    std::vector<std::pair<Lsn, std::optional<uint32_t>>> fsp_sizes;
  };
  // Records inc's FSP_SIZE from `lsn` on; a later record of the same mini-transaction replaces it.
  static void SetFspSize(Incarnation* inc, Lsn lsn, std::optional<uint32_t> fsp_size);
  // Applies a record of page 0 to inc's FSP_SIZE; `lsn` is its mini-transaction's end.
  static void TrackFspSize(const wal::Mtr& mtr, const wal::Record& rec, Lsn lsn, Incarnation* inc);
  const Incarnation* FindIncarnation(SpaceId space, Lsn lsn) const;
  Incarnation* Current(SpaceId space);

  std::map<uint32_t, std::vector<Incarnation>> spaces_;
};

}  // namespace pageserver::storage
