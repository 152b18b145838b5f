// Which kind of file a path below a MariaDB datadir is, for a compute (which keeps each kind in a
// different place) and for import (which stores the durable ones on the page server).
//
// The rule, by name only (a compute sees names before contents):
//   - kInnodbData: ibdata*, undoNNN and every *.ibd (the #sql-*.ibd of a running ALTER too):
//     pages the page server rebuilds from redo.
//   - kRedoLog: ib_logfile0: streamed as mini-transactions.
//   - kLocal: what no restart needs: ibtmp* (the temporary tablespace, written without redo),
//     *.pid, *.sock, *.err, ib_buffer_pool, other ib_logfile* names (a log resize's scratch).
//   - kAux: everything else (.frm, .par, db.opt, .TRG/.TRN, the Aria system tables and Aria's
//     log, ddl_recovery.log, ...): kept whole by the page server, versioned by LSN.
//   - kTemporary: *.tmp, #sql* other than .ibd, mariadb-backup's leftovers (xtrabackup_*,
//     backup-my.cnf). A running compute keeps them (an ALTER's #sql-*.frm is what DDL recovery
//     finishes or undoes after a crash), but an import skips them: in a cleanly shut down
//     datadir or a prepared backup they are leftovers.
#pragma once

#include <string_view>

namespace pageserver::compute {

enum class FileClass { kInnodbData, kRedoLog, kLocal, kAux, kTemporary };

// `relative_path`: relative to the datadir, '/'-separated ("db/t.frm", "ibdata1").
FileClass ClassifyDatadirPath(std::string_view relative_path);

// Whether a compute keeps a file of this class on the page server as an aux file.
inline bool IsAuxInCompute(FileClass c) { return c == FileClass::kAux || c == FileClass::kTemporary; }

const char* FileClassName(FileClass c);

}  // namespace pageserver::compute
