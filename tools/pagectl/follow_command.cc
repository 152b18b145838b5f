// pagectl follow --server HOST:PORT --datadir DIR [--bootstrap --socket S]
// Tails the ib_logfile0 of a running, unmodified mariadbd and streams every new complete
// mini-transaction to the page server, from the server's last LSN on (so it resumes after its
// own restart). With --bootstrap and a server without a base, it first makes one from the running
// server: mariadb-backup --backup, --prepare, pagectl import, then follows from the backup's LSN.
//
// Rules (MariaDB overwrites its circular log without regard to readers):
//   - The follower's position P is the server's last_record_lsn. Each round reopens the log
//     (mariadbd may have restarted, or rebuilt the log with a new first LSN after a resize),
//     reads its checkpoint C, and decodes from P to the end of valid log E.
//   - MariaDB keeps [C, end) intact and may overwrite anything before C. So when P < C and the
//     decode from P stops before C, the redo at P was overwritten: the follower stops with an
//     error naming P and C, and the server keeps serving what it has (all of it exact).
//   - A log rebuilt with a new first LSN F continues only if P == F's checkpoint; else the redo
//     between P and it is gone: stop with an error.
//   - Bytes are decoded again, with the file's geometry, after they are read for sending, and
//     must be the very mini-transactions (end LSN and CRC) the scan saw (see LogSender): a read
//     that raced with an overwrite, or a torn read of the block MariaDB is rewriting at the end
//     of its log, is refused, never sent. (Seen in CI: a torn read framed stale bytes after the
//     end as one more mini-transaction; read again, the bytes there were a different one.)
//   - A round whose reading of the file fails (a torn header or checkpoint block, bytes that
//     changed between the scan and the read) is a reader racing the writer: the round is done
//     again from the server's LSN. Only the same failure kMaxRacedRounds rounds in a row is
//     reported; a real overwrite is then caught by the checkpoint rule above.
// Lag: bytes = E - P; seconds = how long the oldest byte not yet acknowledged has waited. Shown
// once a second on stderr and sent to the server with each call (and as a heartbeat when idle).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "absl/strings/str_format.h"
#include "replay/progress.h"
#include "tools/pagectl/commands.h"
#include "tools/pagectl/log_sender.h"
#include "tools/pagectl/server_flags.h"
#include "wal/log_file.h"

namespace pageserver::pagectl {
namespace {

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
  if (RunImport(o.server, dir) != 0) return absl::FailedPreconditionError("import failed");
  return absl::OkStatus();
}

volatile std::sig_atomic_t g_stop = 0;

int Run(const Options& o) {
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  auto fail = [](const absl::Status& s) {
    std::cerr << "\npagectl follow: " << s.message() << "\n";
    return 1;
  };
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
  LogSender sender(**client, {1 << 20, std::nullopt, o.batch_bytes, /*print_acks=*/false});
  Lsn pos = status->last_record_lsn;
  const Lsn started_at = pos;
  std::optional<Lsn> first_lsn;  // of the log file, to notice a rebuilt log
  std::optional<Clock::time_point> behind_since;
  Clock::time_point last_progress = Clock::now(), last_heartbeat = Clock::now();
  Clock::time_point last_new = Clock::now();
  const Clock::time_point start = Clock::now();
  const bool tty = isatty(STDERR_FILENO);
  // Lag as seen each time new redo is found: bytes behind the source's end, and how long the
  // oldest of them has waited when its acknowledgement arrives.
  uint64_t max_lag_bytes = 0;
  double max_lag_seconds = 0;
  std::vector<double> lag_seconds_samples;
  std::vector<MtrMark> marks;  // what this round's scan saw; the sender must read the same
  int raced_rounds = 0;        // in a row
  uint64_t raced_total = 0;
  // A round that raced MariaDB's writes: look again from the server's LSN, a few times.
  auto raced = [&](const absl::Status& s) -> absl::Status {
    ++raced_total;
    if (++raced_rounds > kMaxRacedRounds) return s;
    std::cerr << absl::StrFormat("\npagectl follow: reading again (%s)\n", s.message());
    auto now_at = (*client)->GetStatus();
    if (!now_at.ok()) return now_at.status();
    pos = now_at->last_record_lsn;
    behind_since.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms));
    return absl::OkStatus();
  };
  std::cerr << absl::StrFormat("pagectl follow: %s from LSN %d\n", path, pos.value());
  for (;;) {
    auto log = wal::LogFile::Open(path);
    if (!log.ok()) {
      // mariadbd may be between removing and renaming its log (a resize), or stopped.
      if (absl::IsNotFound(log.status()) || absl::IsUnavailable(log.status())) {
        std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms * 5));
        continue;
      }
      if (absl::IsDataLoss(log.status())) {  // a header or checkpoint block read mid-write
        if (absl::Status s = raced(log.status()); !s.ok()) return fail(s);
        continue;
      }
      return fail(log.status());
    }
    const Lsn checkpoint = log->checkpoint().checkpoint_lsn;
    if (first_lsn && log->header().first_lsn != *first_lsn) {
      std::cerr << absl::StrFormat(
          "\npagectl follow: %s was rebuilt (first LSN %d, was %d); checkpoint at LSN %d\n", path,
          log->header().first_lsn.value(), first_lsn->value(), checkpoint.value());
    }
    first_lsn = log->header().first_lsn;
    if (pos < checkpoint && log->header().first_lsn > pos) {
      return fail(absl::DataLossError(absl::StrFormat(
          "%s now starts at LSN %d (rebuilt, e.g. resized), but the server holds redo only up to "
          "LSN %d: the redo between was never read; re-bootstrap the server",
          path, log->header().first_lsn.value(), pos.value())));
    }
    marks.clear();
    auto end = wal::ScanLog(*log, pos, std::nullopt, [&](wal::Mtr& mtr) {
      marks.push_back({mtr.end_lsn, mtr.crc});
      return absl::OkStatus();
    });
    if (!end.ok()) {
      if (absl::Status s = raced(end.status()); !s.ok()) return fail(s);
      continue;
    }
    if (end->end_lsn < checkpoint) {
      return fail(absl::DataLossError(absl::StrFormat(
          "MariaDB overwrote redo the follower had not read: the server holds LSN %d, the log's "
          "checkpoint is at LSN %d, and %s read from LSN %d stops at LSN %d (%s). The pages the "
          "server has are exact up to LSN %d; re-bootstrap it, and give mariadbd a larger "
          "innodb_log_file_size for its write rate",
          pos.value(), checkpoint.value(), path, pos.value(), end->end_lsn.value(), end->reason,
          pos.value())));
    }
    const Lsn source_end = end->end_lsn;
    const auto now = Clock::now();
    if (source_end > pos) {
      if (!behind_since) behind_since = now;
      last_new = now;
      const double lag_s = std::chrono::duration<double>(now - *behind_since).count();
      max_lag_bytes = std::max<uint64_t>(max_lag_bytes, source_end - pos);
      auto acked =
          sender.Send(*log, pos, source_end, client::SourcePosition{source_end, lag_s}, marks);
      if (absl::IsAborted(acked.status())) {
        if (absl::Status s = raced(acked.status()); !s.ok()) return fail(s);
        continue;
      }
      if (!acked.ok()) return fail(acked.status());
      pos = *acked;
      const double waited = std::chrono::duration<double>(Clock::now() - *behind_since).count();
      max_lag_seconds = std::max(max_lag_seconds, waited);
      lag_seconds_samples.push_back(waited);
      behind_since.reset();
      raced_rounds = 0;
    } else if (now - last_heartbeat > std::chrono::seconds(1)) {
      auto ack = (*client)->StreamWal({}, client::SourcePosition{source_end, 0});
      if (!ack.ok()) return fail(ack.status());
      last_heartbeat = now;
    }
    if (now - last_progress > std::chrono::seconds(1)) {
      const double secs = std::chrono::duration<double>(now - start).count();
      std::cerr << absl::StrFormat(
          "%sfollow: server at LSN %d, source log ends at LSN %d, lag %d bytes, %.1f MB "
          "streamed, %.1f MB/s%s",
          tty ? "\r" : "", pos.value(), source_end.value(), source_end - pos,
          static_cast<double>(pos - started_at) / 1e6,
          static_cast<double>(pos - started_at) / 1e6 / std::max(secs, 1e-9), tty ? "" : "\n");
      last_progress = now;
    }
    if (g_stop) break;
    if (o.stop_at_lsn != 0 && pos.value() >= o.stop_at_lsn) break;
    if (o.idle_exit_seconds > 0 &&
        std::chrono::duration<double>(now - last_new).count() > o.idle_exit_seconds) {
      break;
    }
    if (source_end <= pos) {
      raced_rounds = 0;  // a whole round read the file cleanly
      std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms));
    }
  }
  std::sort(lag_seconds_samples.begin(), lag_seconds_samples.end());
  const double median =
      lag_seconds_samples.empty() ? 0 : lag_seconds_samples[lag_seconds_samples.size() / 2];
  std::cerr << absl::StrFormat(
      "\npagectl follow: stopped at LSN %d (%d bytes streamed); max lag %d bytes, lag seconds "
      "median %.3f max %.3f over %d rounds with new redo; %d rounds read again\n",
      pos.value(), pos - started_at, max_lag_bytes, median, max_lag_seconds,
      lag_seconds_samples.size(), raced_total);
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
  cmd->add_option("--poll-ms", o->poll_ms, "how often to look for new redo when idle");
  cmd->add_option("--batch-bytes", o->batch_bytes, "bytes of one StreamWAL call (at most)");
  cmd->add_option("--stop-at-lsn", o->stop_at_lsn, "exit once the server holds this LSN");
  cmd->add_option("--idle-exit-seconds", o->idle_exit_seconds,
                  "exit after this long without new redo (default: never)");
  cmd->add_flag("--bootstrap", o->bootstrap,
                "when the server has no base: mariadb-backup, prepare, import, then follow");
  cmd->add_option("--socket", o->socket, "mariadbd's socket (for --bootstrap)");
  cmd->add_option("--user", o->user, "MariaDB user for mariadb-backup (default root)");
  cmd->add_option("--backup-dir", o->backup_dir, "where --bootstrap puts the backup");
  cmd->callback([o, &exit_code] { exit_code = Run(*o); });
}

}  // namespace pageserver::pagectl
