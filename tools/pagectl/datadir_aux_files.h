// The aux files of a datadir: what a compute's mariadbd needs besides InnoDB's data files and
// log, kept by the page server whole and versioned by LSN (.frm, .par, db.opt, the Aria system
// tables and Aria's log, ddl_recovery.log, ...). Shared by import (which stores them at the
// base LSN) and verify (which compares them).
//
// The rule: every regular file below the datadir that compute::ClassifyDatadirPath calls kAux
// (compute/datadir_file_class.h), and that is not one of InnoDB's tablespaces.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pageserver::pagectl {

struct DatadirAuxFile {
  std::string relative_path;  // "db/t.frm"
  std::string full_path;
  uint64_t size = 0;
};

// Sorted by path. `innodb_paths`: the InnoDB files' relative paths (replay::ListInnodbFiles).
// InvalidArgument naming a file larger than an aux file may be.
absl::StatusOr<std::vector<DatadirAuxFile>> ListDatadirAuxFiles(
    const std::string& datadir, const std::set<std::string>& innodb_paths);

}  // namespace pageserver::pagectl
