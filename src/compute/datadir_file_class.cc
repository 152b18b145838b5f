#include "compute/datadir_file_class.h"

#include <cctype>


namespace pageserver::compute {

FileClass ClassifyDatadirPath(std::string_view relative_path) {
  const size_t slash = relative_path.rfind('/');
  const std::string_view name =
      slash == std::string_view::npos ? relative_path : relative_path.substr(slash + 1);
  const bool top_level = slash == std::string_view::npos;

  if (name.ends_with(".ibd")) return FileClass::kInnodbData;
  if (top_level) {
    if (name == "ib_logfile0") return FileClass::kRedoLog;
    if (name.starts_with("ibdata")) return FileClass::kInnodbData;
    if (name.size() == 7 && name.starts_with("undo") && std::isdigit(name[4]) &&
        std::isdigit(name[5]) && std::isdigit(name[6])) {
      return FileClass::kInnodbData;
    }
    if (name.starts_with("ib_logfile") || name.starts_with("ibtmp") ||
        name == "ib_buffer_pool") {
      return FileClass::kLocal;
    }
    if (name.starts_with("xtrabackup_") || name == "backup-my.cnf") {
      return FileClass::kTemporary;
    }
  }
  for (std::string_view suffix : {".pid", ".sock", ".err"}) {
    if (name.ends_with(suffix)) return FileClass::kLocal;
  }
  if (name.ends_with(".tmp") || name.starts_with("#sql")) {
    return FileClass::kTemporary;
  }
  return FileClass::kAux;
}

const char* FileClassName(FileClass c) {
  switch (c) {
    case FileClass::kInnodbData:
      return "InnoDB data file";
    case FileClass::kRedoLog:
      return "redo log";
    case FileClass::kLocal:
      return "local file";
    case FileClass::kAux:
      return "aux file";
    case FileClass::kTemporary:
      return "temporary file";
  }
  return "?";
}

}  // namespace pageserver::compute
