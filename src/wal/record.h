// Decoded redo records and mini-transactions (MariaDB 10.8+ format, see
// docs/redo_format.md and ../shared/spec/mariadb-redo-format.md section 2).
//
// A Mtr owns the bytes of its records; each Record refers to its payload by position inside the
// Mtr's body, so a Mtr can be moved and copied freely. The decoder resolves the same-page
// shortcut and relative offsets: every page record carries its absolute page id and offsets.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"

namespace pageserver::wal {

enum class RecordType : uint8_t {
  kFreePage,
  kInitPage,
  kExtended,
  kWrite,
  kMemset,
  kMemmove,
  kOption,
  kFileCreate,
  kFileDelete,
  kFileRename,
  kFileModify,
  kFileCheckpoint,
};
inline constexpr int kRecordTypeCount = 12;
std::string_view RecordTypeName(RecordType type);

// The byte after the page id of an EXTENDED record.
enum class ExtendedType : uint8_t {
  kInitRowFormatRedundant = 0,
  kInitRowFormatDynamic = 1,
  kUndoInit = 2,
  kUndoAppend = 3,
  kInsertHeapRedundant = 4,
  kInsertReuseRedundant = 5,
  kInsertHeapDynamic = 6,
  kInsertReuseDynamic = 7,
  kDeleteRedundant = 8,
  kDeleteDynamic = 9,
  kTrimPages = 10,
};
inline constexpr int kExtendedTypeCount = 11;
std::string_view ExtendedTypeName(ExtendedType type);

struct Record {
  RecordType type;
  ExtendedType subtype = ExtendedType::kInitRowFormatRedundant;  // kExtended only
  uint16_t offset = 0;  // kWrite / kMemset / kMemmove: absolute target offset in the page
  uint16_t length = 0;  // kMemset / kMemmove: bytes written
  uint16_t source = 0;  // kMemmove: absolute source offset
  // Page records: the page. File records: the tablespace (page 0). For kTrimPages the page
  // number is the new size of the tablespace in pages.
  PageId page;
  // Payload inside Mtr::body: kWrite data, kMemset pattern, kExtended bytes after the subtype,
  // kOption bytes after the subtype, kFile* path (kFileRename: old path, NUL, new path),
  // kFileCheckpoint the 8-byte checkpoint LSN (Mtr::CheckpointLsn).
  uint32_t data_pos = 0;
  uint32_t data_len = 0;
  uint32_t first_byte_pos = 0;  // where the record starts inside Mtr::body (diagnostics)

  bool IsFileOp() const { return type >= RecordType::kFileCreate; }
};

struct Mtr {
  Lsn start_lsn;  // LSN of the first record byte
  Lsn end_lsn;    // start_lsn + records + terminator + CRC: the "commit LSN" pages are stamped with
  std::vector<uint8_t> body;  // the record bytes (without terminator and CRC)
  uint32_t crc = 0;           // the stored CRC-32C of body (checked by the decoder)
  std::vector<Record> records;

  std::span<const uint8_t> Data(const Record& r) const {
    return {body.data() + r.data_pos, r.data_len};
  }
  std::string_view Path(const Record& r) const {
    return {reinterpret_cast<const char*>(body.data()) + r.data_pos, r.data_len};
  }
  Lsn CheckpointLsn(const Record& r) const;
  // FILE_RENAME's two paths.
  std::string_view OldPath(const Record& r) const;
  std::string_view NewPath(const Record& r) const;
};

// "./db/t.ibd" and "db/t.ibd" name the same file (FILE_* records use the first); this gives the
// form used as a key.
std::string NormalizeRelativePath(std::string_view path);

}  // namespace pageserver::wal
