// The materializer of TimelineImpl (timeline_impl.h): hot pages reconstructed in the background.
//
// Index counts each page's records since its newest image or materialization and queues the page
// when the count reaches materialize_threshold. This thread reconstructs it at the newest LSN,
// exactly as GetPage would serve it, and keeps the image (MaterializedPages); reads then start
// from that image and replay only the records after it. So the records a GetPage replays stay
// bounded (about the threshold, plus what arrived while the page waited in the queue), however
// many records a hot page gets between two flushes, and the replay happens here, off the read
// path: the role Neon's image layer creation plays, in memory and per page.
//
// The thread runs at nice 10, so that ingest and reads go first on a busy machine.
//
// The images are not durable: a restart rebuilds the counts from the layers and queues the long
// chains again. A WAL truncation drops the images above its LSN, and an image reconstructed
// across a truncation is not kept.
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "storage/timeline_impl.h"

namespace pageserver::storage {

void TimelineImpl::QueueMaterialization(PageId id) {
  {
    std::lock_guard<std::mutex> l(materialize_mu_);
    materialize_queue_.push_back(id);
  }
  materialize_cv_.notify_all();
}

void TimelineImpl::MaterializerLoop() {
  // Behind ingest and reads for the CPU: this work only saves later reads some replay. Best
  // effort (Linux: the nice value of this thread alone).
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
  for (;;) {
    std::vector<PageId> batch;
    {
      std::unique_lock<std::mutex> l(materialize_mu_);
      materialize_cv_.wait(l,
                           [&] { return materializer_stopping_ || !materialize_queue_.empty(); });
      if (materializer_stopping_) return;
      batch.swap(materialize_queue_);
      materializing_ = true;
    }
    for (const PageId& id : batch) Materialize(id);
    {
      std::lock_guard<std::mutex> l(materialize_mu_);
      materializing_ = false;
    }
    materialize_cv_.notify_all();
  }
}

void TimelineImpl::WaitForMaterializer() {
  std::unique_lock<std::mutex> l(materialize_mu_);
  materialize_cv_.wait(
      l, [&] { return materializer_stopping_ || (materialize_queue_.empty() && !materializing_); });
}

void TimelineImpl::Materialize(PageId id) {
  const uint64_t truncations = truncations_.load();
  const Lsn lsn(last_record_lsn_.load());
  {
    std::shared_lock<std::shared_mutex> read(mu_);
    auto it = chain_.find(id);
    // Queued twice, or an image was written meanwhile (a flush's compaction image).
    if (it == chain_.end() || it->second.since_materialized < options_.materialize_threshold) {
      return;
    }
  }
  absl::StatusOr<PageVersion> page = ReadPage(id, lsn);
  std::unique_lock<std::shared_mutex> write(mu_);
  if (truncations != truncations_.load()) return;  // the records it applied may be gone
  auto it = chain_.find(id);
  if (it == chain_.end()) return;
  // Records that arrived after `lsn` still count (they are in the in-memory layers).
  uint32_t after = open_->CountEntriesAfter(id, lsn);
  if (frozen_) after += frozen_->CountEntriesAfter(id, lsn);
  it->second.since_materialized = after;
  // Index queues a page when its count reaches the threshold: one that is past it already (hot
  // enough to outrun this thread) goes again now.
  if (options_.materialize_threshold > 0 && after >= options_.materialize_threshold) {
    QueueMaterialization(id);
  }
  if (!page.ok() || page->freed || page->records_applied == 0) {
    // A page GetPage would refuse, a free one, or one read from an image: nothing to keep. Its
    // count restarts, so that it is not tried again at once; the reason, if any, is for reads
    // to report.
    return;
  }
  materialized_->Put(id, lsn, std::move(page->image));
  materializations_.fetch_add(1);
}

}  // namespace pageserver::storage
