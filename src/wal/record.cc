#include "wal/record.h"

#include "common/byte_order.h"

namespace pageserver::wal {

std::string_view RecordTypeName(RecordType type) {
  static constexpr std::string_view kNames[kRecordTypeCount] = {
      "FREE_PAGE", "INIT_PAGE",   "EXTENDED",    "WRITE",       "MEMSET",      "MEMMOVE",
      "OPTION",    "FILE_CREATE", "FILE_DELETE", "FILE_RENAME", "FILE_MODIFY", "FILE_CHECKPOINT"};
  return kNames[static_cast<int>(type)];
}

std::string_view ExtendedTypeName(ExtendedType type) {
  static constexpr std::string_view kNames[kExtendedTypeCount] = {"INIT_ROW_FORMAT_REDUNDANT",
                                                                  "INIT_ROW_FORMAT_DYNAMIC",
                                                                  "UNDO_INIT",
                                                                  "UNDO_APPEND",
                                                                  "INSERT_HEAP_REDUNDANT",
                                                                  "INSERT_REUSE_REDUNDANT",
                                                                  "INSERT_HEAP_DYNAMIC",
                                                                  "INSERT_REUSE_DYNAMIC",
                                                                  "DELETE_ROW_FORMAT_REDUNDANT",
                                                                  "DELETE_ROW_FORMAT_DYNAMIC",
                                                                  "TRIM_PAGES"};
  return kNames[static_cast<int>(type)];
}

Lsn Mtr::CheckpointLsn(const Record& r) const { return Lsn(ReadBe64(body.data() + r.data_pos)); }

std::string_view Mtr::OldPath(const Record& r) const {
  std::string_view both = Path(r);
  return both.substr(0, both.find('\0'));
}

std::string_view Mtr::NewPath(const Record& r) const {
  std::string_view both = Path(r);
  return both.substr(both.find('\0') + 1);
}

std::string NormalizeRelativePath(std::string_view path) {
  std::string p(path);
  while (p.starts_with("./")) p.erase(0, 2);
  return p;
}

}  // namespace pageserver::wal
