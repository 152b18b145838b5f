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
#include <random>

#include "absl/strings/str_format.h"
#include "tools/pagectl/commands.h"
#include "tools/pagectl/server_flags.h"
#include "wal/log_file.h"

namespace pageserver::pagectl {
namespace {

struct Options {
  ServerFlags server;
  std::string log;
  uint64_t max_chunk = 1 << 20;
  std::optional<uint64_t> seed;
  uint64_t batch_bytes = 8 << 20;
  uint64_t to_lsn = 0;
};

// The redo to send: [from, to) of `log`, both mini-transaction boundaries.
struct PushRange {
  Lsn from;
  Lsn to;
};

// Follows a scan of the log: whether a mini-transaction ends at `server_lsn` (or the scan
// starts there), and the end of the last one to push.
struct RangeTracker {
  Lsn server_lsn;
  std::optional<Lsn> to_lsn;
  bool boundary = false;
  Lsn push_end = server_lsn;

  absl::Status operator()(const wal::Mtr& mtr) {
    if (mtr.end_lsn == server_lsn) boundary = true;
    if (mtr.end_lsn > server_lsn && (!to_lsn || mtr.end_lsn <= *to_lsn)) push_end = mtr.end_lsn;
    return absl::OkStatus();
  }
};

// Finds what of `log` follows `server_lsn`. The valid log is found by scanning from the
// checkpoint (always readable) to where MariaDB's recovery would stop; a server behind the
// checkpoint needs a second scan from its LSN.
absl::StatusOr<PushRange> FindRange(const wal::LogFile& log, Lsn server_lsn,
                                    std::optional<Lsn> to_lsn) {
  const Lsn checkpoint = log.checkpoint().checkpoint_lsn;
  RangeTracker tracker{server_lsn, to_lsn};
  tracker.boundary = server_lsn == checkpoint;
  auto end = wal::ScanLog(log, checkpoint, std::nullopt, std::ref(tracker));
  if (!end.ok()) return end.status();
  const Lsn log_end = end->end_lsn;
  const Lsn first = log.header().first_lsn;
  const uint64_t capacity = log.geometry().capacity;
  const Lsn oldest = log_end - first > capacity ? Lsn(log_end.value() - capacity) : first;
  if (server_lsn > log_end) {
    return absl::OutOfRangeError(absl::StrFormat(
        "the server is at LSN %d, beyond the end of the valid log of %s at LSN %d (it holds "
        "LSN %d..%d); is it the log the server was fed from?",
        server_lsn.value(), log.path(), log_end.value(), oldest.value(), log_end.value()));
  }
  if (server_lsn < oldest) {
    return absl::OutOfRangeError(absl::StrFormat(
        "the server is at LSN %d, older than the oldest LSN %d still in %s (it holds LSN "
        "%d..%d): the redo between is gone",
        server_lsn.value(), oldest.value(), log.path(), oldest.value(), log_end.value()));
  }
  if (server_lsn < checkpoint) {
    tracker = RangeTracker{server_lsn, to_lsn};
    tracker.boundary = true;
    auto from_server = wal::ScanLog(log, server_lsn, std::nullopt, std::ref(tracker));
    if (!from_server.ok()) return from_server.status();
    if (from_server->end_lsn < log_end) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "the server is at LSN %d, but %s read from there stops at LSN %d (%s), short of the "
          "end of its valid log at LSN %d; is it the log the server was fed from?",
          server_lsn.value(), log.path(), from_server->end_lsn.value(), from_server->reason,
          log_end.value()));
    }
  }
  if (!tracker.boundary) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the server is at LSN %d, where no mini-transaction of %s (LSN %d..%d) ends; is it the "
        "log the server was fed from?",
        server_lsn.value(), log.path(), oldest.value(), log_end.value()));
  }
  return PushRange{server_lsn, tracker.push_end};
}

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

  std::mt19937_64 rng(o.seed.value_or(0));
  if (o.seed) std::cerr << absl::StrFormat("pagectl push: seed %d\n", *o.seed);
  auto next_chunk = [&](uint64_t room) {
    const uint64_t size =
        o.seed ? std::uniform_int_distribution<uint64_t>(1, o.max_chunk)(rng) : o.max_chunk;
    return std::min(size, room);
  };

  const auto start = std::chrono::steady_clock::now();
  std::vector<uint8_t> buffer;
  Lsn pos = range->from;
  Lsn acked = range->from;
  uint64_t sent = 0, calls = 0;
  while (acked < range->to) {
    const uint64_t n = std::min<uint64_t>(o.batch_bytes, range->to - pos);
    if (n == 0) {
      return fail(absl::DataLossError(absl::StrFormat(
          "the server received the redo up to LSN %d, a mini-transaction boundary, but "
          "acknowledges only LSN %d",
          range->to.value(), acked.value())));
    }
    buffer.resize(n);
    if (auto s = log->Read(pos, n, buffer.data()); !s.ok()) return fail(s);
    std::vector<client::WalChunkRef> chunks;
    for (uint64_t at = 0; at < n;) {
      const uint64_t size = next_chunk(n - at);
      chunks.push_back({pos + at, std::span<const uint8_t>(buffer).subspan(at, size)});
      at += size;
    }
    auto ack = (*client)->StreamWal(chunks);
    if (!ack.ok()) {
      return fail(absl::Status(ack.status().code(),
                               absl::StrFormat("StreamWAL of LSN %d..%d: %s", pos.value(),
                                               (pos + n).value(), ack.status().message())));
    }
    ++calls;
    sent += n;
    if (ack->received_lsn < pos + n || ack->last_record_lsn < acked) {
      return fail(absl::DataLossError(absl::StrFormat(
          "StreamWAL of LSN %d..%d was answered with received_lsn %d, last_record_lsn %d (the "
          "previous acknowledgement was LSN %d)",
          pos.value(), (pos + n).value(), ack->received_lsn.value(), ack->last_record_lsn.value(),
          acked.value())));
    }
    std::printf("acked %llu\n", static_cast<unsigned long long>(ack->last_record_lsn.value()));
    std::fflush(stdout);
    acked = ack->last_record_lsn;
    pos = acked > pos ? acked : pos + n;
  }
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
