// Crash test: a real process appending to a WalLog is killed with SIGKILL at random moments;
// after each kill the log must reopen with every acknowledged LSN, decode from start to end, and
// accept further appends (the next writer continues the same log). Cycles: WAL_CRASH_CYCLES
// (default 20; raise it for a soak). Seed: printed; replay one with TEST_SEED.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "common/testing/test_seed.h"
#include "storage/wal_log.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;

struct WriterRun {
  uint64_t last_acked = 0;
  uint64_t acks = 0;
};

// Starts the writer, kills it after `delay`, returns what it acknowledged.
WriterRun RunAndKill(const std::string& dir, uint64_t seed, std::chrono::microseconds delay) {
  int out[2];
  if (pipe(out) != 0) ADD_FAILURE() << "pipe failed";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    const std::string seed_arg = std::to_string(seed);
    execl(WAL_CRASH_WRITER, WAL_CRASH_WRITER, dir.c_str(), seed_arg.c_str(), nullptr);
    _exit(127);
  }
  close(out[1]);
  std::this_thread::sleep_for(delay);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the writer exited on its own, status " << status;
  WriterRun run;
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(out[0], buf, sizeof(buf))) > 0;)
    text.append(buf, static_cast<size_t>(n));
  close(out[0]);
  // Only whole lines count: a line cut by the kill was not printed, so not acknowledged.
  size_t pos = 0;
  for (size_t nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    unsigned long long lsn = 0;
    if (std::sscanf(text.c_str() + pos, "acked %llu", &lsn) == 1) {
      run.last_acked = lsn;
      ++run.acks;
    }
  }
  return run;
}

TEST(WalLogCrashTest, KilledWriterLosesNothingAcknowledged) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  const int cycles =
      std::getenv("WAL_CRASH_CYCLES") ? std::atoi(std::getenv("WAL_CRASH_CYCLES")) : 20;
  const fs::path dir =
      fs::temp_directory_path() / ("wal_log_crash_test." + std::to_string(getpid()));
  fs::remove_all(dir);
  uint64_t total_acks = 0, truncations = 0;
  Lsn previous_end(12288);
  for (int cycle = 0; cycle < cycles; ++cycle) {
    const auto delay = std::chrono::microseconds(2000 + rng() % 60000);
    const WriterRun run = RunAndKill(dir.string(), rng(), delay);
    total_acks += run.acks;
    auto log = WalLog::Open(dir.string(), Lsn(12288));
    ASSERT_TRUE(log.ok()) << "cycle " << cycle << ": " << log.status();
    if (run.acks > 0) {
      EXPECT_GE((*log)->end_lsn().value(), run.last_acked)
          << "cycle " << cycle << " lost acknowledged data";
    }
    EXPECT_GE((*log)->end_lsn(), previous_end)
        << "cycle " << cycle << " lost an earlier cycle's data";
    if ((*log)->truncated_bytes() > 0) ++truncations;
    uint64_t mtrs = 0;
    Lsn last_end((*log)->start_lsn());
    const absl::Status scan = (*log)->Scan((*log)->start_lsn(), [&](wal::Mtr& mtr) {
      ++mtrs;
      last_end = mtr.end_lsn;
      return absl::OkStatus();
    });
    ASSERT_TRUE(scan.ok()) << "cycle " << cycle << ": " << scan;
    EXPECT_EQ(last_end, (*log)->end_lsn());
    previous_end = (*log)->end_lsn();
  }
  std::printf("%d kills, %llu acknowledged appends, %llu torn tails cut, log ends at LSN %llu\n",
              cycles, static_cast<unsigned long long>(total_acks),
              static_cast<unsigned long long>(truncations),
              static_cast<unsigned long long>(previous_end.value()));
  EXPECT_GT(total_acks, 0u) << "the writer never acknowledged anything: the test tested nothing";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pageserver::storage
