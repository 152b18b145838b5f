#include "compute/redo_shipper.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/file_io.h"
#include "common/status_macros.h"
#include "compute/server_patience.h"

namespace pageserver::compute {
namespace {

// MariaDB rewrites at most its last log block (512..4096 bytes, the device's block size) below
// the LSN it has written; a write further back than this is not a rewrite of shipped bytes.
constexpr uint64_t kMaxLogBlock = 4096;
// Mini-transaction ends remembered for cutting a stale tail (it lies within the last block).
constexpr size_t kShippedEndsKept = 1024;

}  // namespace

absl::StatusOr<std::unique_ptr<RedoShipper>> RedoShipper::Open(client::PageServerClient& client,
                                                               const std::string& log_path,
                                                               Lsn shipped,
                                                               absl::Duration patience) {
  ASSIGN_OR_RETURN(wal::LogFile log, wal::LogFile::Open(log_path));
  const int fd = open(log_path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening", log_path);
  return std::unique_ptr<RedoShipper>(
      new RedoShipper(client, std::move(log), fd, shipped, patience));
}

RedoShipper::RedoShipper(client::PageServerClient& client, wal::LogFile log, int fd, Lsn shipped,
                         absl::Duration patience)
    : client_(client), patience_(patience), log_(std::move(log)), fd_(fd),
      shipped_ends_{shipped}, sent_(shipped), durable_(shipped.value()),
      confirmed_(shipped.value()) {}

RedoShipper::~RedoShipper() { close(fd_); }

std::optional<Lsn> RedoShipper::RewriteStart(uint64_t offset) const {
  const wal::LogGeometry& g = log_.geometry();
  // The distance, going back from the sent LSN, to the write's first byte.
  const uint64_t back = (g.Offset(sent_) - offset + g.capacity) % g.capacity;
  if (back > kMaxLogBlock || sent_.value() - back < g.first_lsn.value()) return std::nullopt;
  return Lsn(sent_.value() - back);
}

absl::StatusOr<std::optional<Lsn>> RedoShipper::FirstChangedShippedByte(
    uint64_t offset, std::span<const uint8_t> data) {
  const std::optional<Lsn> start = RewriteStart(offset);
  if (!start) return std::nullopt;
  const size_t shipped = static_cast<size_t>(std::min<uint64_t>(sent_ - *start, data.size()));
  if (shipped == 0) return std::nullopt;
  std::vector<uint8_t> stored(shipped);
  RETURN_IF_ERROR(ReadFully(fd_, offset, shipped, stored.data(), log_.path()));
  const size_t at = static_cast<size_t>(
      std::mismatch(stored.begin(), stored.end(), data.begin()).first - stored.begin());
  if (at == shipped) return std::nullopt;
  return *start + at;
}

void RedoShipper::Confirm(uint64_t offset) {
  // Bytes below the start of MariaDB's latest write are final; a write that starts past the
  // sent LSN's block finalised everything sent.
  const std::optional<Lsn> start = RewriteStart(offset);
  const uint64_t confirmed = start ? start->value() : sent_.value();
  uint64_t seen = confirmed_.load();
  while (seen < confirmed && !confirmed_.compare_exchange_weak(seen, confirmed)) {
  }
}

RedoShipper::AuxStamp RedoShipper::StampAuxChange() {
  std::shared_lock<std::shared_mutex> hold(aux_stamp_mu_);
  return AuxStamp{durable_lsn(), std::move(hold)};
}

absl::Status RedoShipper::DropStaleTail(Lsn changed) {
  std::unique_lock<std::shared_mutex> no_aux_stamping(aux_stamp_mu_);
  const Lsn durable = durable_lsn();
  auto after = std::upper_bound(shipped_ends_.begin(), shipped_ends_.end(), changed);
  if (after == shipped_ends_.begin() || *std::prev(after) < confirmed_lsn()) {
    return Fail(absl::DataLossError(absl::StrFormat(
        "mariadbd rewrote redo the page server holds as final: the log byte at LSN %d changed "
        "(confirmed up to LSN %d, shipped up to LSN %d)",
        changed.value(), confirmed_lsn().value(), durable.value())));
  }
  const Lsn cut = *std::prev(after);
  absl::StatusOr<Lsn> truncated = WithPatience(
      patience_, [&] { return client_.TruncateWal(cut); }, [&] { retries_.fetch_add(1); });
  if (!truncated.ok()) {
    return Fail(absl::Status(
        truncated.status().code(),
        absl::StrFormat("the redo shipped in [%d, %d) was stale (mariadbd rewrote LSN %d), and "
                        "the page server could not drop it: %s",
                        cut.value(), durable.value(), changed.value(),
                        truncated.status().message())));
  }
  shipped_ends_.erase(after, shipped_ends_.end());
  durable_.store(cut.value(), std::memory_order_release);
  sent_ = cut;
  unscanned_ = true;
  stale_tails_.fetch_add(1);
  absl::FPrintF(stderr,
                "compute: the redo shipped in [%d, %d) was stale bytes past MariaDB's write "
                "position (it rewrote LSN %d); dropped on the page server, shipping MariaDB's\n",
                cut.value(), durable.value(), changed.value());
  return absl::OkStatus();
}

absl::Status RedoShipper::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset < wal::kLogStartOffset) {  // the header and checkpoint blocks: local only
    std::lock_guard<std::mutex> bytes(bytes_mu_);
    return WriteFully(fd_, offset, data.data(), data.size(), log_.path());
  }
  // Lock order: ship_mu_, bytes_mu_. (The kernel serialises a file's FUSE writes and fsyncs
  // anyway: ship_mu_ is never contended by mariadbd's own log I/O.)
  std::lock_guard<std::mutex> ship(ship_mu_);
  {
    std::unique_lock<std::mutex> bytes(bytes_mu_);
    ASSIGN_OR_RETURN(std::optional<Lsn> changed, FirstChangedShippedByte(offset, data));
    if (changed) {
      // A stale tail was sent: everything sent must be stored before it is dropped.
      bytes.unlock();
      RETURN_IF_ERROR(FlushLocked().status());
      bytes.lock();
      ASSIGN_OR_RETURN(changed, FirstChangedShippedByte(offset, data));
      if (changed) RETURN_IF_ERROR(DropStaleTail(*changed));
    }
    RETURN_IF_ERROR(WriteFully(fd_, offset, data.data(), data.size(), log_.path()));
    Confirm(offset);
    unscanned_ = true;
  }
  // Sent at once, answered later: the server writes it while mariadbd goes on to its fsync.
  if (failure().ok()) SendEagerly();
  return absl::OkStatus();
}

void RedoShipper::SendEagerly() {
  absl::Status sent = absl::OkStatus();
  if (!session_) {
    absl::StatusOr<std::unique_ptr<client::WalSession>> opened = client_.OpenWalSession();
    if (opened.ok()) {
      session_ = std::move(*opened);
      ResendFromDurable();
    } else {
      sent = opened.status();
    }
  }
  if (sent.ok()) sent = SendUnsent();
  // Not an error of the write: the next Flush sends again, with patience, or fails.
  if (!sent.ok()) {
    session_.reset();
    ResendFromDurable();
  }
}

void RedoShipper::ResendFromDurable() {
  std::lock_guard<std::mutex> bytes(bytes_mu_);
  sent_ = durable_lsn();
  unscanned_ = true;
  while (!shipped_ends_.empty() && shipped_ends_.back() > sent_) shipped_ends_.pop_back();
}

absl::Status RedoShipper::SendUnsent() {
  std::vector<uint8_t> bytes;
  Lsn from, end;
  {
    std::lock_guard<std::mutex> lock(bytes_mu_);
    if (!unscanned_) return absl::OkStatus();  // no write since the last scan: nothing new
    from = sent_;
    std::vector<Lsn> ends;
    absl::StatusOr<wal::ScanEnd> scan = wal::ScanLog(log_, from, std::nullopt, [&](wal::Mtr& m) {
      ends.push_back(m.end_lsn);
      return absl::OkStatus();
    });
    if (!scan.ok()) {
      return Fail(absl::DataLossError(absl::StrFormat(
          "the compute's log from LSN %d: %s", from.value(), scan.status().message())));
    }
    end = scan->end_lsn;
    unscanned_ = false;
    if (end == from) return absl::OkStatus();
    bytes.resize(end - from);
    if (absl::Status s = log_.Read(from, bytes.size(), bytes.data()); !s.ok()) return Fail(s);
    shipped_ends_.insert(shipped_ends_.end(), ends.begin(), ends.end());
    while (shipped_ends_.size() > kShippedEndsKept) shipped_ends_.pop_front();
    sent_ = end;
  }
  bytes_shipped_.fetch_add(bytes.size());
  return session_->Send(from, bytes);
}

absl::StatusOr<size_t> RedoShipper::Read(uint64_t offset, std::span<uint8_t> out) {
  std::lock_guard<std::mutex> bytes(bytes_mu_);
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = pread(fd_, out.data() + done, out.size() - done,
                            static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("reading", log_.path());
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::StatusOr<Lsn> RedoShipper::Flush() {
  std::lock_guard<std::mutex> ship(ship_mu_);
  return FlushLocked();
}

absl::StatusOr<Lsn> RedoShipper::FlushLocked() {
  const absl::Time began = absl::Now();
  RETURN_IF_ERROR(failure());
  const Lsn from = durable_lsn();
  Lsn to = from;  // the end of what the attempts sent
  // What is unanswered on a broken session is sent again on a new one: the server accepts
  // bytes it stored already, unchanged.
  absl::StatusOr<client::WalAck> ack = WithPatience(
      patience_,
      [&]() -> absl::StatusOr<client::WalAck> {
        absl::Status sent = absl::OkStatus();
        if (!session_) {
          absl::StatusOr<std::unique_ptr<client::WalSession>> opened = client_.OpenWalSession();
          if (!opened.ok()) return opened.status();
          session_ = std::move(*opened);
          ResendFromDurable();
        }
        sent = SendUnsent();
        {
          std::lock_guard<std::mutex> bytes(bytes_mu_);
          to = std::max(to, sent_);
        }
        if (!failure().ok()) return failure();
        if (sent.ok() && session_->unanswered() == 0) {  // everything sent is stored already
          const Lsn durable = durable_lsn();
          return client::WalAck{durable, durable, 0};
        }
        absl::StatusOr<client::WalAck> answered =
            sent.ok() ? session_->AwaitAll() : absl::StatusOr<client::WalAck>(sent);
        if (!answered.ok()) {
          session_.reset();  // over: the next attempt opens a new one
          ResendFromDurable();
        }
        return answered;
      },
      [&] { retries_.fetch_add(1); });
  if (!ack.ok()) {
    return Fail(absl::Status(
        ack.status().code(),
        absl::StrFormat("the page server %s redo [%d, %d): %s",
                        IsUnreachable(ack.status()) ? "could not be reached to store"
                                                    : "refused",
                        from.value(), to.value(), ack.status().message())));
  }
  if (ack->last_record_lsn < to) {
    return Fail(absl::DataLossError(
        absl::StrFormat("the page server stored redo [%d, %d) only up to LSN %d", from.value(),
                        to.value(), ack->last_record_lsn.value())));
  }
  if (to > from) {
    flushes_.fetch_add(1);
    flush_micros_.fetch_add(static_cast<uint64_t>(absl::ToInt64Microseconds(absl::Now() - began)));
  }
  durable_.store(to.value(), std::memory_order_release);
  return to;
}

absl::Status RedoShipper::EnsureDurable(Lsn lsn) {
  if (lsn <= durable_lsn()) return absl::OkStatus();
  ASSIGN_OR_RETURN(const Lsn durable, Flush());
  if (lsn <= durable) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrFormat(
      "a page was written with FIL_PAGE_LSN %d, but the log holds complete mini-transactions "
      "only up to LSN %d",
      lsn.value(), durable.value()));
}

absl::Status RedoShipper::Fail(absl::Status status) {
  std::lock_guard<std::mutex> lock(fail_mu_);
  if (failed_.ok()) failed_ = std::move(status);
  return failed_;
}

absl::Status RedoShipper::failure() const {
  std::lock_guard<std::mutex> lock(fail_mu_);
  return failed_;
}

RedoShipperStats RedoShipper::stats() const {
  return RedoShipperStats{flushes_.load(), bytes_shipped_.load(), retries_.load(),
                          stale_tails_.load(), flush_micros_.load()};
}

}  // namespace pageserver::compute
