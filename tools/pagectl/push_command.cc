// pagectl push --server HOST:PORT --log LOG [--max-chunk BYTES] [--seed N] [--batch-bytes BYTES]
//              [--to-lsn L]
// Sends the redo of an ib_logfile0 that the server does not hold yet: from the server's
// last_record_lsn to the end of the valid log (where MariaDB's recovery would stop), or to the
// last mini-transaction ending at or before --to-lsn. Chunks are --max-chunk bytes, or, with
// --seed, of seeded random sizes in [1, max-chunk]: either way they split mini-transactions
// anywhere. Each StreamWAL call carries at most --batch-bytes; its answer is an
// acknowledgement, printed to stdout as `acked <last_record_lsn>` (flushed at once: a crash
// test reads these as they come).
//
// Rule: each call after the first starts at the last acknowledged last_record_lsn, re-sending
// the incomplete mini-transaction the server keeps in memory (the protocol allows an overlap
// with identical bytes). A server that restarts between two calls has lost that tail; starting
// at a durable LSN lets the retried call continue without a gap. Only when a single
// mini-transaction is longer than a batch does a call continue at the previous call's end.
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>

#include "absl/strings/str_format.h"
#include "tools/pagectl/commands.h"
#include "logship/log_sender.h"
#include "tools/pagectl/server_flags.h"
#include "wal/log_file.h"

namespace pageserver::pagectl {
namespace {

using logship::FindRange;
using logship::LogSender;

struct Options {
  ServerFlags server;
  std::string log;
  uint64_t max_chunk = 1 << 20;
  std::optional<uint64_t> seed;
  uint64_t batch_bytes = 8 << 20;
  uint64_t to_lsn = 0;
};

int Run(const Options& o) {
  auto fail = [](const absl::Status& s) {
    std::cerr << "pagectl push: " << s.message() << "\n";
    return 1;
  };
  if (o.max_chunk == 0 || o.batch_bytes == 0) {
    return fail(absl::InvalidArgumentError("--max-chunk and --batch-bytes must be positive"));
  }
  auto client = ConnectToServer(o.server);
  if (!client.ok()) return fail(client.status());
  auto status = (*client)->GetStatus();
  if (!status.ok()) return fail(status.status());
  const Lsn server_lsn = status->last_record_lsn;
  if (server_lsn == Lsn(0)) {
    return fail(absl::FailedPreconditionError(
        "the server has no base yet (last_record_lsn 0); run pagectl import first"));
  }
  auto log = wal::LogFile::Open(o.log);
  if (!log.ok()) return fail(log.status());
  const std::optional<Lsn> to_lsn = o.to_lsn ? std::optional<Lsn>(Lsn(o.to_lsn)) : std::nullopt;
  if (to_lsn && *to_lsn < server_lsn) {
    return fail(absl::InvalidArgumentError(absl::StrFormat(
        "--to-lsn %d is below the server's LSN %d", to_lsn->value(), server_lsn.value())));
  }
  auto range = FindRange(*log, server_lsn, to_lsn);
  if (!range.ok()) return fail(range.status());

  if (o.seed) std::cerr << absl::StrFormat("pagectl push: seed %d\n", *o.seed);
  const auto start = std::chrono::steady_clock::now();
  LogSender sender(**client, {o.max_chunk, o.seed, o.batch_bytes, /*print_acks=*/true});
  auto acked = sender.Send(*log, range->from, range->to);
  if (!acked.ok()) return fail(acked.status());
  const uint64_t sent = sender.bytes_sent(), calls = sender.calls();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t bytes = range->to - range->from;
  std::cerr << absl::StrFormat(
      "pagectl push: LSN %d..%d: %d bytes of redo (%d sent in %d calls) in %.3f s, %.1f MB/s\n",
      range->from.value(), range->to.value(), bytes, sent, calls, seconds,
      seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0.0);
  return 0;
}

}  // namespace

void RegisterPush(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("push", "Send the redo of an ib_logfile0 to the server");
  AddServerFlags(cmd, o->server);
  cmd->add_option("--log", o->log, "path of ib_logfile0")->required();
  cmd->add_option("--max-chunk", o->max_chunk, "bytes of a stream message (at most)");
  cmd->add_option("--seed", o->seed, "random chunk sizes in [1, max-chunk] from this seed");
  cmd->add_option("--batch-bytes", o->batch_bytes, "bytes of one StreamWAL call (at most)");
  cmd->add_option("--to-lsn", o->to_lsn, "stop after the last mini-transaction ending here");
  cmd->callback([o, &exit_code] { exit_code = Run(*o); });
}

}  // namespace pageserver::pagectl
