// Finding InnoDB's files in a MariaDB datadir: the system tablespace (ibdata1), undo tablespaces
// (undo001...) and file-per-table tablespaces (*.ibd, at any depth), each with the space id read
// from its page 0. The temporary tablespace (ibtmp1) is never logged and is left out.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "wal/record.h"

namespace pageserver::replay {

struct InnodbFile {
  std::string relative_path;  // as InnoDB names it in FILE_* records: "./db/t.ibd", "ibdata1"
  SpaceId space_id;
};

// Lists the InnoDB files below `datadir`, sorted by path. A file whose page 0 cannot be read
// (shorter than one page) is reported as an error naming it.
absl::StatusOr<std::vector<InnodbFile>> ListInnodbFiles(const std::string& datadir);

using wal::NormalizeRelativePath;

}  // namespace pageserver::replay
