// pagectl follow --server HOST:PORT --datadir DIR --socket S [--bootstrap]
// Tails the ib_logfile0 of a running, unmodified mariadbd and streams every new complete
// mini-transaction to the page server, from the server's last LSN on (so it resumes after its
// own restart). With --bootstrap and a server without a base, it first makes one from the running
// server: mariadb-backup --backup, --prepare, pagectl import, then follows from the backup's LSN.
//
// The rules (what may be read, when the position is checked, overwrite and rebuilt-log
// detection) are LogFollower's (src/logship/log_follower.h). This file is the loop around it: bootstrap,
// retries of rounds that raced MariaDB's writes, lag and progress, stop conditions.
// Lag: bytes = MariaDB's log end - the server's LSN; seconds = how long the oldest byte not yet
// acknowledged has waited. Shown once a second on stderr and sent to the server with each call
// (and as a heartbeat when idle).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "absl/strings/str_format.h"
#include "replay/progress.h"
#include "tools/pagectl/commands.h"
#include "logship/log_follower.h"
#include "logship/mariadb_log_position.h"
#include "tools/pagectl/server_flags.h"
#include "wal/log_file.h"

namespace pageserver::pagectl {
namespace {

using logship::ConnectToMariadb;
using logship::FollowerOptions;
using logship::FollowStep;
using logship::LogFollower;
using logship::LogPositionSource;

using Clock = std::chrono::steady_clock;

constexpr int kMaxRacedRounds = 50;

struct Options {
  ServerFlags server;
  std::string datadir;
  int poll_ms = 20;
  uint64_t batch_bytes = 8 << 20;
  uint64_t stop_at_lsn = 0;      // exit 0 once the server holds this LSN
  double idle_exit_seconds = 0;  // exit 0 after this long with nothing new (0: never)
  bool bootstrap = false;
  std::string socket;  // mariadbd's socket, for --bootstrap
  std::string user = "root";
  std::string backup_dir;  // where --bootstrap puts the backup (default DATADIR.backup)
  bool checkpointed_only = false;  // no socket: send only what MariaDB's checkpoint covers
  bool print_acks = false;         // "acked LSN" lines on stdout
};

// Runs a command; its output goes to `log`. Returns its exit status.
int RunLogged(const std::string& command, const std::string& log) {
  const std::string line = command + " >>" + log + " 2>&1";
  std::cerr << "pagectl follow: " << command << "\n";
  const int rc = std::system(line.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

absl::Status Bootstrap(const Options& o) {
  const std::string dir = o.backup_dir.empty() ? o.datadir + ".backup" : o.backup_dir;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  const std::string log = dir + ".log";
  std::filesystem::remove(log, ec);
  const std::string conn =
      absl::StrFormat("--user=%s%s", o.user, o.socket.empty() ? "" : " --socket=" + o.socket);
  if (RunLogged(absl::StrFormat("mariadb-backup --backup %s --target-dir=%s", conn, dir), log) !=
      0) {
    return absl::FailedPreconditionError("mariadb-backup --backup failed; see " + log);
  }
  if (RunLogged(absl::StrFormat("mariadb-backup --prepare --target-dir=%s", dir), log) != 0) {
    return absl::FailedPreconditionError("mariadb-backup --prepare failed; see " + log);
  }
  if (RunImport(o.server, dir, /*with_aux_files=*/true) != 0) {
    return absl::FailedPreconditionError("import failed");
  }
  return absl::OkStatus();
}

volatile std::sig_atomic_t g_stop = 0;

// A bounded sample of a follower's lag figures for the summary at exit: a follower runs for
// days, so past kCapacity values it keeps a uniform random sample (reservoir sampling).
template <typename T>
class Samples {
 public:
  void Add(T value) {
    ++seen_;
    if (values_.size() < kCapacity) {
      values_.push_back(value);
    } else if (const uint64_t slot = rng_() % seen_; slot < kCapacity) {
      values_[slot] = value;
    }
  }
  T Quantile(double q) {
    if (values_.empty()) return T{};
    std::sort(values_.begin(), values_.end());
    return values_[std::min(values_.size() - 1,
                            static_cast<size_t>(q * static_cast<double>(values_.size())))];
  }
  uint64_t count() const { return seen_; }

 private:
  static constexpr size_t kCapacity = 1 << 16;
  std::vector<T> values_;
  uint64_t seen_ = 0;
  std::mt19937_64 rng_{42};
};

int Run(const Options& o) {
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  auto fail = [](const absl::Status& s) {
    std::cerr << "\npagectl follow: " << s.message() << "\n";
    return 1;
  };
  if (o.socket.empty() && !o.checkpointed_only) {
    return fail(absl::InvalidArgumentError(
        "follow needs mariadbd's --socket: it reads only the redo MariaDB reports as written "
        "(Innodb_lsn_flushed), since the file past it may hold stale mini-transactions. Without "
        "a socket, --checkpointed-only follows up to MariaDB's latest checkpoint only (safe, "
        "but behind by a checkpoint interval); see docs/follow.md"));
  }
  auto client = ConnectToServer(o.server);
  if (!client.ok()) return fail(client.status());
  auto status = (*client)->GetStatus();
  if (!status.ok()) return fail(status.status());
  if (status->last_record_lsn == Lsn(0)) {
    if (!o.bootstrap) {
      return fail(absl::FailedPreconditionError(
          "the server has no base yet; run pagectl import, or follow with --bootstrap"));
    }
    if (absl::Status s = Bootstrap(o); !s.ok()) return fail(s);
    status = (*client)->GetStatus();
    if (!status.ok()) return fail(status.status());
  }
  const std::string path = o.datadir + "/ib_logfile0";
  std::unique_ptr<LogPositionSource> source;
  if (!o.socket.empty()) {
    source = ConnectToMariadb({.socket = o.socket, .user = o.user, .datadir = o.datadir});
  }
  FollowerOptions follower_options;
  follower_options.send = {1 << 20, std::nullopt, o.batch_bytes, o.print_acks};
  LogFollower follower(**client, path, std::move(source), status->last_record_lsn,
                       follower_options);
  const Lsn started_at = status->last_record_lsn;
  // Since when MariaDB has had redo the server lacks (GCC misjudges std::optional here).
  bool behind = false;
  Clock::time_point behind_since{};
  Clock::time_point last_progress = Clock::now(), last_heartbeat = Clock::now();
  Clock::time_point last_new = Clock::now();
  const Clock::time_point start = Clock::now();
  const bool tty = isatty(STDERR_FILENO);
  // Lag as seen each time new redo is found: bytes behind MariaDB's log end, and how long the
  // oldest of them has waited when its acknowledgement arrives.
  uint64_t max_lag_bytes = 0;
  double max_lag_seconds = 0;
  Samples<double> lag_seconds_samples;
  Samples<uint64_t> lag_bytes_samples;  // MariaDB's log end - the server's LSN, each round
  int raced_rounds = 0;  // in a row
  uint64_t raced_total = 0;
  std::cerr << absl::StrFormat("pagectl follow: %s from LSN %d (bound: %s)\n", path,
                               started_at.value(),
                               o.socket.empty() ? "MariaDB's latest checkpoint"
                                                : "Innodb_lsn_flushed of " + o.socket);
  for (;;) {
    const auto now = Clock::now();
    const double waited = behind ? std::chrono::duration<double>(now - behind_since).count() : 0;
    absl::StatusOr<FollowStep> step = follower.Step(waited);
    if (absl::IsAborted(step.status())) {
      // A round that raced MariaDB's writes: look again from the server's LSN, a few times.
      ++raced_total;
      if (++raced_rounds > kMaxRacedRounds) return fail(step.status());
      std::cerr << absl::StrFormat("\npagectl follow: reading again (%s)\n",
                                   step.status().message());
      if (absl::Status s = follower.Resync(); !s.ok()) return fail(s);
      behind = false;
      std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms));
      continue;
    }
    if (!step.ok()) return fail(step.status());
    if (step->log_missing) {
      std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms * 5));
      continue;
    }
    if (step->rebuilt) std::cerr << "\npagectl follow: " << *step->rebuilt << "\n";
    const Lsn pos = step->server_lsn;
    const uint64_t lag_bytes = step->current_lsn > pos ? step->current_lsn - pos : 0;
    if (step->bytes_sent > 0) lag_bytes_samples.Add(lag_bytes + step->bytes_sent);
    if (step->bytes_sent > 0) {
      last_new = now;
      raced_rounds = 0;
      max_lag_bytes = std::max<uint64_t>(max_lag_bytes, lag_bytes + step->bytes_sent);
      const double acked_after =
          std::chrono::duration<double>(Clock::now() - (behind ? behind_since : now)).count();
      max_lag_seconds = std::max(max_lag_seconds, acked_after);
      lag_seconds_samples.Add(acked_after);
      behind = false;
    }
    // The oldest unacknowledged byte: MariaDB has generated more than the server holds.
    if (lag_bytes > 0 && !behind) {
      behind = true;
      behind_since = now;
    }
    if (lag_bytes == 0) behind = false;
    if (step->bytes_sent == 0 && now - last_heartbeat > std::chrono::seconds(1)) {
      auto ack = (*client)->StreamWal({}, client::SourcePosition{step->current_lsn, waited});
      if (!ack.ok()) return fail(ack.status());
      last_heartbeat = now;
    }
    if (now - last_progress > std::chrono::seconds(1)) {
      const double secs = std::chrono::duration<double>(now - start).count();
      std::cerr << absl::StrFormat(
          "%sfollow: server at LSN %d, MariaDB written to LSN %d, at LSN %d, lag %d bytes, %.1f "
          "MB streamed, %.1f MB/s%s",
          tty ? "\r" : "", pos.value(), step->written_lsn.value(), step->current_lsn.value(),
          lag_bytes, static_cast<double>(pos - started_at) / 1e6,
          static_cast<double>(pos - started_at) / 1e6 / std::max(secs, 1e-9), tty ? "" : "\n");
      last_progress = now;
    }
    if (g_stop) break;
    if (o.stop_at_lsn != 0 && pos.value() >= o.stop_at_lsn) break;
    if (o.idle_exit_seconds > 0 &&
        std::chrono::duration<double>(now - last_new).count() > o.idle_exit_seconds) {
      break;
    }
    if (step->bytes_sent == 0) raced_rounds = 0;  // a whole round read the file cleanly
    // One round per poll interval unless catching up: each round costs MariaDB a SHOW GLOBAL
    // STATUS and the server an fdatasync, and shares the machine's cores with MariaDB.
    if (step->bytes_sent == 0 || lag_bytes < o.batch_bytes / 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms));
    }
  }
  const Lsn pos = follower.server_lsn();
  std::cerr << absl::StrFormat(
      "\npagectl follow: stopped at LSN %d (%d bytes streamed); max lag %d bytes, lag bytes "
      "median %d p99 %d, lag seconds median %.3f p99 %.3f max %.3f over %d rounds with new redo; "
      "%d rounds read again\n",
      pos.value(), pos - started_at, max_lag_bytes, lag_bytes_samples.Quantile(0.5),
      lag_bytes_samples.Quantile(0.99), lag_seconds_samples.Quantile(0.5),
      lag_seconds_samples.Quantile(0.99), max_lag_seconds, lag_seconds_samples.count(),
      raced_total);
  std::cout << absl::StrFormat("followed to LSN %d\n", pos.value());
  return 0;
}

}  // namespace

void RegisterFollow(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "follow", "Stream a running mariadbd's new redo to the server, continuously");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--datadir", o->datadir, "the running mariadbd's datadir (its ib_logfile0)")
      ->required();
  cmd->add_option("--poll-ms", o->poll_ms, "how often to look for new redo (default 20)");
  cmd->add_option("--batch-bytes", o->batch_bytes, "bytes of one StreamWAL call (at most)");
  cmd->add_option("--stop-at-lsn", o->stop_at_lsn, "exit once the server holds this LSN");
  cmd->add_option("--idle-exit-seconds", o->idle_exit_seconds,
                  "exit after this long without new redo (default: never)");
  cmd->add_flag("--bootstrap", o->bootstrap,
                "when the server has no base: mariadb-backup, prepare, import, then follow");
  cmd->add_option("--socket", o->socket,
                  "mariadbd's socket: the follower reads only what it reports written "
                  "(Innodb_lsn_flushed); also used by --bootstrap");
  cmd->add_flag("--checkpointed-only", o->checkpointed_only,
                "without --socket: send only redo covered by MariaDB's latest checkpoint");
  cmd->add_flag("--print-acks", o->print_acks, "print each acknowledged LSN on stdout");
  cmd->add_option("--user", o->user, "MariaDB user for mariadb-backup (default root)");
  cmd->add_option("--backup-dir", o->backup_dir, "where --bootstrap puts the backup");
  cmd->callback([o, &exit_code] { exit_code = Run(*o); });
}

}  // namespace pageserver::pagectl
