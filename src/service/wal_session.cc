#include "service/wal_session.h"

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace pageserver::service {
namespace {

// A chunk written to the timeline, waiting for its answer.
struct WrittenChunk {
  bool heartbeat = false;  // an empty chunk: answered with where the timeline stands
  storage::IngestResult result;
  absl::Time received;
};

class WalSessionRun {
 public:
  WalSessionRun(storage::Timeline& timeline, PageServerMetrics& metrics,
                grpc::ServerContext& context,
                grpc::ServerReaderWriter<StreamWalResponse, WalChunk>& stream)
      : timeline_(timeline), metrics_(metrics), context_(context), stream_(stream) {}

  absl::Status Run() {
    std::thread acknowledger([this] { Acknowledge(); });
    const absl::Status refused = ReadAndWrite();
    {
      std::lock_guard<std::mutex> l(mu_);
      reading_done_ = true;
    }
    cv_.notify_one();
    acknowledger.join();  // the chunks before a refused one are answered first
    std::lock_guard<std::mutex> l(mu_);
    // When the acknowledger failed, the reader stopped because of it: its error is the cause.
    return acknowledge_error_.ok() ? refused : acknowledge_error_;
  }

 private:
  // The call's thread: each chunk to the timeline as it arrives.
  absl::Status ReadAndWrite() {
    WalChunk chunk;
    while (stream_.Read(&chunk)) {
      const std::string& data = chunk.wal_data();
      metrics_.wal_received_bytes().Increment(data.size());
      WrittenChunk written{.heartbeat = data.empty(), .result = {}, .received = absl::Now()};
      if (!written.heartbeat) {
        absl::StatusOr<storage::IngestResult> result = timeline_.WriteWalAs(
            chunk.writer_generation(), Lsn(chunk.start_lsn()),
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
        if (!result.ok()) return result.status();
        written.result = *result;
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        if (!acknowledge_error_.ok()) return absl::OkStatus();  // Run reports that error
        queue_.push_back(written);
      }
      cv_.notify_one();
    }
    return absl::OkStatus();
  }

  // The acknowledger thread: one sync for everything queued, then an answer per chunk.
  void Acknowledge() {
    for (;;) {
      std::deque<WrittenChunk> batch;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return !queue_.empty() || reading_done_; });
        if (queue_.empty()) return;
        batch.swap(queue_);
      }
      Lsn written(0);
      for (const WrittenChunk& c : batch) {
        if (!c.heartbeat) written = std::max(written, c.result.last_record_lsn);
      }
      if (written.value() != 0) {
        absl::StatusOr<Lsn> durable = timeline_.MakeWalDurable(written);
        if (!durable.ok()) {
          absl::FPrintF(stderr, "pageserver: WalSession ended: %s\n", durable.status().message());
          return Stop(durable.status());
        }
      }
      for (const WrittenChunk& c : batch) {
        StreamWalResponse response;
        storage::IngestResult stored = c.result;
        if (c.heartbeat) {
          const storage::TimelineStatus now = timeline_.Status();
          stored = storage::IngestResult{now.last_record_lsn, now.received_lsn, 0, 0};
        } else {
          metrics_.ObserveWalStored(stored, absl::ToDoubleSeconds(absl::Now() - c.received));
        }
        response.set_last_record_lsn(stored.last_record_lsn.value());
        response.set_received_lsn(stored.received_lsn.value());
        response.set_bytes_stored(stored.bytes_stored);
        if (!stream_.Write(response)) return Stop(absl::CancelledError("the writer went away"));
      }
    }
  }

  // Ends the call: the reader, blocked in Read, returns once the call is cancelled.
  void Stop(absl::Status why) {
    {
      std::lock_guard<std::mutex> l(mu_);
      acknowledge_error_ = std::move(why);
    }
    context_.TryCancel();
  }

  storage::Timeline& timeline_;
  PageServerMetrics& metrics_;
  grpc::ServerContext& context_;
  grpc::ServerReaderWriter<StreamWalResponse, WalChunk>& stream_;

  std::mutex mu_;  // guards the three below; a leaf
  std::condition_variable cv_;
  std::deque<WrittenChunk> queue_;  // written, not yet answered, in order
  bool reading_done_ = false;
  absl::Status acknowledge_error_;
};

}  // namespace

absl::Status RunWalSession(storage::Timeline& timeline, PageServerMetrics& metrics,
                           grpc::ServerContext& context,
                           grpc::ServerReaderWriter<StreamWalResponse, WalChunk>& stream) {
  return WalSessionRun(timeline, metrics, context, stream).Run();
}

}  // namespace pageserver::service
