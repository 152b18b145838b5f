#include "replay/pipelined_scan.h"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace pageserver::replay {
namespace {

// Mini-transactions travel in batches so that the threads synchronise rarely; batches are
// recycled so that their vectors keep their capacity.
struct Batch {
  std::vector<wal::Mtr> mtrs;
  size_t count = 0;
  size_t bytes = 0;
  size_t pending = 0;  // consumers that have not finished it
};

constexpr size_t kBatchMtrs = 256;
constexpr size_t kBatchBytes = 64 << 10;
constexpr size_t kBatchesInFlight = 8;

// Batches are published in order into `published_`; consumer k reads them in order through its
// own sequence number; the oldest batch is recycled once every consumer is done with it (they
// finish batches in order, so the oldest is always the first to become free).
class Channel {
 public:
  explicit Channel(size_t consumers) : consumers_(consumers) {}

  // Decoder side. nullptr once cancelled.
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
  void Publish(std::unique_ptr<Batch> b) {
    std::lock_guard lock(mu_);
    b->pending = consumers_;
    published_.push_back(std::move(b));
    ++published_count_;
    cv_.notify_all();
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  void Cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

  // Consumer side: the batch with sequence number `seq`, or nullptr at the end of the stream.
  Batch* Take(uint64_t seq) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return seq < published_count_ || closed_; });
    if (seq >= published_count_) return nullptr;
    return published_[seq - recycled_count_].get();
  }
  void Done(Batch* b) {
    std::lock_guard lock(mu_);
    --b->pending;
    while (!published_.empty() && published_.front()->pending == 0) {
      auto front = std::move(published_.front());
      published_.pop_front();
      ++recycled_count_;
      front->count = 0;
      front->bytes = 0;
      free_.push_back(std::move(front));
    }
    cv_.notify_all();
  }

 private:
  const size_t consumers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Batch>> published_;
  uint64_t published_count_ = 0;
  uint64_t recycled_count_ = 0;
  std::vector<std::unique_ptr<Batch>> free_;
  size_t allocated_ = 0;
  bool closed_ = false;
  bool cancelled_ = false;
};

}  // namespace

absl::StatusOr<wal::ScanEnd> ScanLogPipelined(
    const wal::LogFile& log, Lsn from_lsn, std::optional<Lsn> to_lsn,
    const std::function<absl::Status(const wal::Mtr&)>& on_decoded,
    const std::vector<MtrConsumer>& consumers) {
  Channel channel(consumers.size());
  absl::StatusOr<wal::ScanEnd> scan_result = absl::UnknownError("decoder did not finish");
  std::thread decoder([&] {
    std::unique_ptr<Batch> batch;
    scan_result = wal::ScanLog(log, from_lsn, to_lsn, [&](wal::Mtr& mtr) -> absl::Status {
      if (absl::Status s = on_decoded(mtr); !s.ok()) return s;
      if (!batch && !(batch = channel.TakeEmpty())) return absl::CancelledError("applier stopped");
      if (batch->count == batch->mtrs.size()) batch->mtrs.emplace_back();
      // Swap, not copy: the decoder gets the recycled slot's buffers back for its next one.
      std::swap(batch->mtrs[batch->count++], mtr);
      batch->bytes += batch->mtrs[batch->count - 1].body.size();
      if (batch->count == kBatchMtrs || batch->bytes >= kBatchBytes) {
        channel.Publish(std::move(batch));
      }
      return absl::OkStatus();
    });
    if (batch && batch->count) channel.Publish(std::move(batch));
    channel.Close();
  });

  std::vector<absl::Status> results(consumers.size());
  auto consume = [&](size_t k) {
    for (uint64_t seq = 0;; ++seq) {
      Batch* batch = channel.Take(seq);
      if (!batch) break;
      // Every consumer sees every mini-transaction, even after an error, so that rendezvous
      // between consumers always complete; a consumer that failed is expected to skip its work.
      for (size_t i = 0; i < batch->count; ++i) {
        absl::Status s = consumers[k](batch->mtrs[i]);
        if (!s.ok() && results[k].ok()) {
          results[k] = std::move(s);
          channel.Cancel();
        }
      }
      channel.Done(batch);
    }
  };
  std::vector<std::thread> others;
  for (size_t k = 1; k < consumers.size(); ++k) others.emplace_back(consume, k);
  consume(0);
  for (auto& t : others) t.join();
  decoder.join();
  for (const absl::Status& s : results) {
    if (!s.ok()) return s;
  }
  return scan_result;
}

}  // namespace pageserver::replay
