#include "compute/redo_shipper.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
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
      durable_(shipped.value()) {}

RedoShipper::~RedoShipper() { close(fd_); }

absl::Status RedoShipper::CheckShippedBytesUnchanged(uint64_t offset,
                                                     std::span<const uint8_t> data) {
  const wal::LogGeometry& g = log_.geometry();
  const Lsn durable = durable_lsn();
  const uint64_t durable_offset = g.Offset(durable);
  // The distance, going back from the durable LSN, to the write's first byte.
  const uint64_t back = (durable_offset - offset + g.capacity) % g.capacity;
  if (back == 0 || back > kMaxLogBlock || durable.value() - back < g.first_lsn.value()) {
    return absl::OkStatus();  // the write starts at or past the durable LSN
  }
  const size_t shipped = static_cast<size_t>(std::min<uint64_t>(back, data.size()));
  std::vector<uint8_t> stored(shipped);
  RETURN_IF_ERROR(ReadFully(fd_, offset, shipped, stored.data(), log_.path()));
  if (std::memcmp(stored.data(), data.data(), shipped) != 0) {
    const size_t at = static_cast<size_t>(
        std::mismatch(stored.begin(), stored.end(), data.begin()).first - stored.begin());
    auto hex = [](const uint8_t* p, size_t n) {
      std::string out;
      for (size_t i = 0; i < n; ++i) out += absl::StrFormat("%02x", p[i]);
      return out;
    };
    const size_t from = at >= 8 ? at - 8 : 0, n = std::min<size_t>(24, shipped - from);
    return absl::DataLossError(absl::StrFormat(
        "mariadbd rewrote redo the page server already holds: the log byte at LSN %d changed "
        "(the server holds up to LSN %d; a write of %d bytes at file offset %d; held %s, "
        "written %s from LSN %d)",
        durable.value() - back + at, durable.value(), data.size(), offset,
        hex(stored.data() + from, n), hex(data.data() + from, n), durable.value() - back + from));
  }
  return absl::OkStatus();
}

namespace {
FILE* TraceFile() {
  static FILE* f = [] {
    const char* path = getenv("PAGESERVER_COMPUTE_LOG_TRACE");
    return path ? fopen(path, "a") : nullptr;
  }();
  return f;
}
std::string Hex(const uint8_t* p, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += absl::StrFormat("%02x", p[i]);
  return out;
}
}  // namespace

absl::Status RedoShipper::Write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard<std::mutex> bytes(bytes_mu_);
  if (FILE* t = TraceFile()) {
    const size_t tail = std::min<size_t>(data.size(), 1024);
    absl::FPrintF(t, "W off=%d size=%d durable=%d tail=%s\n", offset, data.size(),
                  durable_lsn().value(), Hex(data.data() + data.size() - tail, tail));
    fflush(t);
  }
  if (offset >= wal::kLogStartOffset) {
    absl::Status unchanged = CheckShippedBytesUnchanged(offset, data);
    if (!unchanged.ok()) return Fail(unchanged);
  }
  return WriteFully(fd_, offset, data.data(), data.size(), log_.path());
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
  RETURN_IF_ERROR(failure());
  const Lsn from = durable_lsn();
  std::vector<uint8_t> bytes;
  Lsn end = from;
  {
    std::lock_guard<std::mutex> lock(bytes_mu_);
    absl::StatusOr<wal::ScanEnd> scan =
        wal::ScanLog(log_, from, std::nullopt, [](wal::Mtr&) { return absl::OkStatus(); });
    if (!scan.ok()) {
      return Fail(absl::DataLossError(absl::StrFormat(
          "the compute's log from LSN %d: %s", from.value(), scan.status().message())));
    }
    end = scan->end_lsn;
    if (end > from) {
      bytes.resize(end.value() - from.value());
      if (absl::Status s = log_.Read(from, bytes.size(), bytes.data()); !s.ok()) {
        return Fail(s);
      }
    }
  }
  if (FILE* t = TraceFile()) {
    absl::FPrintF(t, "F from=%d end=%d\n", from.value(), end.value());
    fflush(t);
  }
  if (end == from) return from;
  return Send(from, end, bytes);
}

absl::StatusOr<Lsn> RedoShipper::Send(Lsn from, Lsn to, std::span<const uint8_t> bytes) {
  // A shipment the server stored before the connection broke is accepted again when resent
  // (equal bytes over stored log are no-ops).
  absl::StatusOr<client::WalAck> ack = WithPatience(
      patience_, [&] { return client_.StreamWal(from, bytes); }, [&] { retries_.fetch_add(1); });
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
  flushes_.fetch_add(1);
  bytes_shipped_.fetch_add(bytes.size());
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
  return RedoShipperStats{flushes_.load(), bytes_shipped_.load(), retries_.load()};
}

}  // namespace pageserver::compute
