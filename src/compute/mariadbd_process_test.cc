// MariadbdProcess::Start: the child runs at the nice value it is given, whatever the caller's own
// (the compute raises its threads' priority, mariadbd competes as a stock server would).
#include "compute/mariadbd_process.h"

#include <sys/resource.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace pageserver::compute {
namespace {

TEST(MariadbdProcess, TheChildRunsAtTheGivenNiceValue) {
  const std::string out =
      (std::filesystem::temp_directory_path() / ("nice-" + std::to_string(getpid()))).string();
  std::filesystem::remove(out);
  const int caller = getpriority(PRIO_PROCESS, 0);
  const int wanted = caller + 7 > 19 ? caller - 1 : caller + 7;  // differs from the caller's
  auto child = MariadbdProcess::Start({"sh", "-c", "nice"}, out, wanted);
  ASSERT_TRUE(child.ok()) << child.status();
  int status = 0;
  ASSERT_EQ(waitpid(child->pid(), &status, 0), child->pid());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << TailOfFile(out, 5);
  std::ifstream in(out);
  int reported = 1000;
  in >> reported;
  EXPECT_EQ(reported, wanted);
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace pageserver::compute
