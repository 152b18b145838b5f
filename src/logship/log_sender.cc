#include "logship/log_sender.h"

#include <cstdio>
#include <functional>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "wal/mtr_decoder.h"

namespace pageserver::logship {
namespace {

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

}  // namespace

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
  return PushRange{server_lsn, tracker.push_end, log_end};
}

LogSender::LogSender(client::PageServerClient& client, SendOptions options)
    : client_(client), options_(options), rng_(options.seed.value_or(0)) {}

absl::StatusOr<Lsn> LogSender::Send(const wal::LogFile& log, Lsn from, Lsn to,
                                    std::optional<client::SourcePosition> source,
                                    std::span<const MtrMark> expected) {
  auto next_chunk = [&](uint64_t room) {
    const uint64_t size = options_.seed
                              ? std::uniform_int_distribution<uint64_t>(1, options_.max_chunk)(rng_)
                              : options_.max_chunk;
    return std::min(size, room);
  };
  const bool verify_marks = !expected.empty();
  Lsn pos = from;
  Lsn acked = from;
  while (acked < to) {
    const uint64_t n = std::min<uint64_t>(options_.batch_bytes, to - pos);
    if (n == 0) {
      return absl::DataLossError(absl::StrFormat(
          "the server received the redo up to LSN %d, a mini-transaction boundary, but "
          "acknowledges only LSN %d",
          to.value(), acked.value()));
    }
    buffer_.resize(n);
    RETURN_IF_ERROR(log.Read(pos, n, buffer_.data()));
    // The bytes must still be the mini-transactions the scan saw (same pass of the circular
    // file: the geometry makes the decoder check each terminator's sequence bit).
    wal::MtrDecoderOptions check_options;
    check_options.geometry = log.geometry();
    wal::MtrDecoder check(pos, check_options);
    check.Feed(buffer_);
    auto changed = [&](Lsn at, std::string_view why) {
      return absl::AbortedError(absl::StrFormat(
          "%s changed under the reader at LSN %d (MariaDB rewrote or overwrote it): %s", log.path(),
          at.value(), why));
    };
    while (!expected.empty() && expected.front().end_lsn <= pos) expected = expected.subspan(1);
    wal::Mtr mtr;
    for (;;) {
      absl::StatusOr<bool> next = check.Next(&mtr);
      if (!next.ok()) return changed(check.next_lsn(), std::string(next.status().message()));
      if (!*next) break;
      if (verify_marks) {
        if (expected.empty() || expected.front().end_lsn != mtr.end_lsn ||
            expected.front().crc != mtr.crc) {
          return changed(mtr.start_lsn, "not the mini-transaction the scan saw there");
        }
        expected = expected.subspan(1);
      }
    }
    if (pos + n == to && check.next_lsn() != to) {
      return changed(check.next_lsn(),
                     absl::StrFormat("its mini-transactions no longer end at LSN %d", to.value()));
    }
    std::vector<client::WalChunkRef> chunks;
    for (uint64_t at = 0; at < n;) {
      const uint64_t size = next_chunk(n - at);
      chunks.push_back({pos + at, std::span<const uint8_t>(buffer_).subspan(at, size)});
      at += size;
    }
    auto ack = client_.StreamWal(chunks, source);
    if (!ack.ok()) {
      return absl::Status(ack.status().code(),
                          absl::StrFormat("StreamWAL of LSN %d..%d: %s", pos.value(),
                                          (pos + n).value(), ack.status().message()));
    }
    ++calls_;
    sent_ += n;
    if (ack->received_lsn < pos + n || ack->last_record_lsn < acked) {
      return absl::DataLossError(absl::StrFormat(
          "StreamWAL of LSN %d..%d was answered with received_lsn %d, last_record_lsn %d (the "
          "previous acknowledgement was LSN %d)",
          pos.value(), (pos + n).value(), ack->received_lsn.value(), ack->last_record_lsn.value(),
          acked.value()));
    }
    if (options_.print_acks) {
      std::printf("acked %llu\n", static_cast<unsigned long long>(ack->last_record_lsn.value()));
      std::fflush(stdout);
    }
    acked = ack->last_record_lsn;
    // The next call starts at the durable LSN (re-sending the incomplete tail, which the
    // server allows): a server restarted in between has lost that tail.
    pos = acked > pos ? acked : pos + n;
  }
  return acked;
}

}  // namespace pageserver::logship
