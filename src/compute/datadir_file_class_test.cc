#include "compute/datadir_file_class.h"

#include <gtest/gtest.h>

namespace pageserver::compute {
namespace {

TEST(DatadirFileClassTest, EachKindOfFileIsKeptWhereItBelongs) {
  const std::pair<const char*, FileClass> cases[] = {
      {"ibdata1", FileClass::kInnodbData},
      {"undo001", FileClass::kInnodbData},
      {"db/t.ibd", FileClass::kInnodbData},
      {"db/#sql-alter-1f-3.ibd", FileClass::kInnodbData},
      {"db/t#P#p0.ibd", FileClass::kInnodbData},
      {"ib_logfile0", FileClass::kRedoLog},
      {"ib_logfile101", FileClass::kLocal},
      {"ibtmp1", FileClass::kLocal},
      {"ib_buffer_pool", FileClass::kLocal},
      {"host.pid", FileClass::kLocal},
      {"mysqld.err", FileClass::kLocal},
      {"db/t.frm", FileClass::kAux},
      {"db/db.opt", FileClass::kAux},
      {"db/t.par", FileClass::kAux},
      {"mysql/user.MAI", FileClass::kAux},
      {"aria_log.00000001", FileClass::kAux},
      {"ddl_recovery.log", FileClass::kAux},
      {"db/#sql-alter-1f-3.frm", FileClass::kTemporary},
      {"xtrabackup_checkpoints", FileClass::kTemporary},
      {"db/undo001", FileClass::kAux},  // only the datadir's own undo tablespaces
      {"db/ibdata1", FileClass::kAux},
  };
  for (const auto& [path, expected] : cases) {
    EXPECT_EQ(ClassifyDatadirPath(path), expected) << path;
  }
  EXPECT_TRUE(IsAuxInCompute(FileClass::kTemporary)) << "an ALTER's #sql files survive a crash";
  EXPECT_FALSE(IsAuxInCompute(FileClass::kLocal));
}

}  // namespace
}  // namespace pageserver::compute
