// Crash test: a real process appending to a WalLog is killed with SIGKILL at random moments;
// after each kill the log must reopen with every acknowledged LSN, decode from start to end, and
// accept further appends (the next writer continues the same log). Cycles: WAL_CRASH_CYCLES
// (default 20; raise it for a soak). Seed: printed; replay one with TEST_SEED.
//
// When to kill is decided by events, never by the clock (a fixed delay kills nothing but a
// starting process on a loaded machine): the test reads the writer's "acked" lines from its pipe
// and kills after a random number of them, at least one, so every cycle has something
// acknowledged to lose. The writer runs ahead of the reader, so the kill still lands anywhere in
// its work: mid-write, mid-fdatasync, while a new segment is created and its directory synced,
// or while it waits to print.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "common/testing/test_seed.h"
#include "storage/wal_log.h"

namespace pageserver::storage {
namespace {

namespace fs = std::filesystem;

// A writer that prints nothing for this long is stuck: the test fails rather than hang.
constexpr int kSilenceLimitMs = 120'000;

struct KillPlan {
  // Complete "acked" lines read before the kill (>= 1). The writer goes on with its next append
  // while the test reads the line, so the kill lands anywhere in that append (write, fdatasync,
  // a segment roll): the moment varies with the machine, never with a timer.
  uint64_t acks_before_kill = 1;
};

struct WriterRun {
  uint64_t last_acked = 0;
  uint64_t acks = 0;  // every complete "acked" line, including those printed after the decision
};

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with wait status " + std::to_string(status);
}

// Counts the complete "acked <LSN>" lines of `text` from `pos` on; advances `pos` past them.
// Only whole lines count: a line cut by the kill was not printed, so not acknowledged.
void TakeLines(const std::string& text, size_t& pos, WriterRun& run) {
  for (size_t nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    unsigned long long lsn = 0;
    if (std::sscanf(text.c_str() + pos, "acked %llu", &lsn) == 1) {
      run.last_acked = lsn;
      ++run.acks;
    }
  }
}

// Starts the writer, kills it as `plan` says, returns what it acknowledged; a writer that ends
// or falls silent before the kill is a test failure (reported, and nullopt returned).
std::optional<WriterRun> RunAndKill(const std::string& dir, uint64_t seed, const KillPlan& plan) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed: " << std::strerror(errno);
    return std::nullopt;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);  // the duplicate does not inherit O_CLOEXEC
    const std::string seed_arg = std::to_string(seed);
    execl(WAL_CRASH_WRITER, WAL_CRASH_WRITER, dir.c_str(), seed_arg.c_str(), nullptr);
    _exit(127);
  }
  close(out[1]);
  if (pid < 0) {
    ADD_FAILURE() << "fork failed: " << std::strerror(errno);
    close(out[0]);
    return std::nullopt;
  }

  WriterRun run;
  std::string text;
  size_t parsed = 0;
  char buf[4096];
  std::string failure;  // set when the writer ends or stalls before the kill
  while (run.acks < plan.acks_before_kill) {
    pollfd p{.fd = out[0], .events = POLLIN, .revents = 0};
    const int ready = poll(&p, 1, kSilenceLimitMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      failure = "printed nothing for " + std::to_string(kSilenceLimitMs / 1000) + " s";
      break;
    }
    const ssize_t n = read(out[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failure = "closed its output";
      break;
    }
    text.append(buf, static_cast<size_t>(n));
    TakeLines(text, parsed, run);
  }
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Everything the writer printed before it died is still in the pipe.
  for (ssize_t n; (n = read(out[0], buf, sizeof(buf))) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  TakeLines(text, parsed, run);
  const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  if (!failure.empty() || !killed) {
    ADD_FAILURE() << "the writer " << (failure.empty() ? "ended" : failure) << " after " << run.acks
                  << " acknowledged appends, before the test killed it (wanted "
                  << plan.acks_before_kill << " first); it " << DescribeExit(status)
                  << "; its output ends: \""
                  << text.substr(text.size() > 200 ? text.size() - 200 : 0) << "\"";
    return std::nullopt;
  }
  return run;
}

// A segment created but not yet written to: the kill hit a segment roll.
bool EmptyLastSegment(const fs::path& dir) {
  fs::path last;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".wal" && entry.path() > last) last = entry.path();
  }
  return !last.empty() && fs::file_size(last) == 0;
}

TEST(WalLogCrashTest, KilledWriterLosesNothingAcknowledged) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  const int cycles =
      std::getenv("WAL_CRASH_CYCLES") ? std::atoi(std::getenv("WAL_CRASH_CYCLES")) : 20;
  const fs::path dir =
      fs::temp_directory_path() / ("wal_log_crash_test." + std::to_string(getpid()));
  fs::remove_all(dir);
  uint64_t total_acks = 0, truncations = 0, in_roll = 0;
  Lsn previous_end(12288);
  for (int cycle = 0; cycle < cycles; ++cycle) {
    // Half the kills come within a few appends of the start (the recovery path just run), the
    // rest after up to ~3 segments' worth (the writer's segments hold 256 KiB, ~60 appends).
    KillPlan plan;
    plan.acks_before_kill = 1 + (rng() % 2 == 0 ? rng() % 4 : rng() % 200);
    const std::optional<WriterRun> run = RunAndKill(dir.string(), rng(), plan);
    ASSERT_TRUE(run.has_value()) << "cycle " << cycle << ": the writer was not killed as planned";
    ASSERT_GE(run->acks, plan.acks_before_kill) << "cycle " << cycle;
    total_acks += run->acks;
    if (EmptyLastSegment(dir)) ++in_roll;
    auto log = WalLog::Open(dir.string(), Lsn(12288));
    ASSERT_TRUE(log.ok()) << "cycle " << cycle << ": " << log.status();
    EXPECT_GE((*log)->end_lsn().value(), run->last_acked)
        << "cycle " << cycle << " lost acknowledged data";
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
  uint64_t segments = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".wal") ++segments;
  }
  std::printf(
      "%d kills (%llu during a segment roll), %llu acknowledged appends, %llu torn tails cut, "
      "%llu segments, log ends at LSN %llu\n",
      cycles, static_cast<unsigned long long>(in_roll),
      static_cast<unsigned long long>(total_acks), static_cast<unsigned long long>(truncations),
      static_cast<unsigned long long>(segments),
      static_cast<unsigned long long>(previous_end.value()));
  EXPECT_GE(total_acks, static_cast<uint64_t>(cycles))
      << "every cycle waits for an acknowledgement before it kills";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pageserver::storage
