#include "replay/pipelined_scan.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace pageserver::replay {
namespace {

// Mini-transactions travel in batches so that the two threads synchronise rarely; batches are
// recycled so that their vectors keep their capacity.
struct Batch {
  std::vector<wal::Mtr> mtrs;
  size_t count = 0;
  size_t bytes = 0;
};

constexpr size_t kBatchMtrs = 256;
constexpr size_t kBatchBytes = 64 << 10;
constexpr size_t kBatchesInFlight = 4;

class Channel {
 public:
  // Decoder side.
  std::unique_ptr<Batch> TakeEmpty() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty() || allocated_ < kBatchesInFlight || cancelled_; });
    if (cancelled_) return nullptr;
    if (free_.empty()) {
      ++allocated_;
      return std::make_unique<Batch>();
    }
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void PushFull(std::unique_ptr<Batch> b) {
    std::lock_guard lock(mu_);
    full_.push_back(std::move(b));
    cv_.notify_all();
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  bool cancelled() {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

  // Applier side. nullptr when the decoder has finished and everything was taken.
  std::unique_ptr<Batch> TakeFull() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !full_.empty() || closed_; });
    if (full_.empty()) return nullptr;
    auto b = std::move(full_.front());
    full_.pop_front();
    return b;
  }
  void Recycle(std::unique_ptr<Batch> b) {
    b->count = 0;
    b->bytes = 0;
    std::lock_guard lock(mu_);
    free_.push_back(std::move(b));
    cv_.notify_all();
  }
  void Cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Batch>> full_;
  std::vector<std::unique_ptr<Batch>> free_;
  size_t allocated_ = 0;
  bool closed_ = false;
  bool cancelled_ = false;
};

}  // namespace

absl::StatusOr<wal::ScanEnd> ScanLogPipelined(
    const wal::LogFile& log, Lsn from_lsn, std::optional<Lsn> to_lsn,
    const std::function<void(const wal::Mtr&)>& on_decoded,
    const std::function<absl::Status(const wal::Mtr&)>& on_mtr) {
  Channel channel;
  absl::StatusOr<wal::ScanEnd> scan_result = absl::UnknownError("decoder did not finish");
  std::thread decoder([&] {
    std::unique_ptr<Batch> batch;
    scan_result = wal::ScanLog(log, from_lsn, to_lsn, [&](wal::Mtr& mtr) -> absl::Status {
      on_decoded(mtr);
      if (!batch && !(batch = channel.TakeEmpty())) return absl::CancelledError("applier stopped");
      if (batch->count == batch->mtrs.size()) batch->mtrs.emplace_back();
      // Swap, not copy: the decoder gets the recycled slot's buffers back for its next one.
      std::swap(batch->mtrs[batch->count++], mtr);
      batch->bytes += batch->mtrs[batch->count - 1].body.size();
      if (batch->count == kBatchMtrs || batch->bytes >= kBatchBytes) {
        channel.PushFull(std::move(batch));
      }
      return absl::OkStatus();
    });
    if (batch && batch->count) channel.PushFull(std::move(batch));
    channel.Close();
  });

  absl::Status apply_status;
  while (auto batch = channel.TakeFull()) {
    for (size_t i = 0; i < batch->count && apply_status.ok(); ++i) {
      apply_status = on_mtr(batch->mtrs[i]);
    }
    if (!apply_status.ok()) {
      channel.Cancel();
      break;
    }
    channel.Recycle(std::move(batch));
  }
  decoder.join();
  if (!apply_status.ok()) return apply_status;
  return scan_result;
}

}  // namespace pageserver::replay
