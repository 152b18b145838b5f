// Test-only: FakeTimeline, an in-memory storage::Timeline with just enough behaviour to test
// the wire mapping of the gRPC service and the HTTP API — not a model of the real timeline.
//
//   - IngestWal stores a call whole: a gap after received_lsn is FailedPrecondition, an overlap
//     InvalidArgument, and a 0xFF byte stands for a corrupt mini-transaction (InvalidArgument
//     naming its LSN); a refused call stores nothing. Every call is recorded in ingest_calls().
//   - GetPage: lsn 0 is last_record_lsn; above it DeadlineExceeded (no waiting); below the base
//     OutOfRange; a space not in the catalog NotFound; a page past its end OutOfRange. The
//     image is PageImage(id, lsn). The last deadline given is kept in last_deadline().
//
// Thread-safe (one mutex). Header-only.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "storage/timeline.h"

namespace pageserver::service::testing {

// 32 bytes that say which page and LSN they are.
inline std::vector<uint8_t> PageImage(PageId id, Lsn lsn) {
  std::vector<uint8_t> image(32);
  for (size_t i = 0; i < image.size(); ++i) {
    image[i] = static_cast<uint8_t>(id.space.value() * 7 + id.page.value() * 13 + lsn.value() + i);
  }
  return image;
}

class FakeTimeline final : public storage::Timeline {
 public:
  struct IngestCall {
    Lsn start;
    size_t size;
    bool ok;
  };

  // A timeline with a base at `base` and `catalog`, or an empty one (no base).
  FakeTimeline() = default;
  FakeTimeline(Lsn base, std::vector<storage::TablespaceInfo> catalog) {
    SetBase(base, std::move(catalog));
  }

  absl::StatusOr<std::unique_ptr<storage::ImportSession>> BeginImport(
      Lsn lsn, uint32_t /*page_size*/, std::vector<storage::TablespaceInfo> catalog) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.has_base) {
      return absl::FailedPreconditionError("import at LSN " + std::to_string(lsn.value()) +
                                           ": the timeline already has a base");
    }
    return std::unique_ptr<storage::ImportSession>(new Session(this, lsn, std::move(catalog)));
  }

  // OK (no remote storage) unless a test sets what the uploads end with.
  absl::Status WaitUntilUploaded(absl::Time) override { return uploads_; }
  void SetUploads(absl::Status s) { uploads_ = std::move(s); }
  // Durable as soon as written.
  absl::StatusOr<Lsn> MakeWalDurable(Lsn lsn) override {
    std::lock_guard<std::mutex> lock(mu_);
    return std::max(lsn, status_.durable_lsn);
  }
  absl::StatusOr<storage::IngestResult> WriteWalAs(uint64_t writer_generation, Lsn start,
                                                   std::span<const uint8_t> bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.writer && writer_generation != status_.writer->generation) {
      return absl::FailedPreconditionError("writer generation " +
                                           std::to_string(writer_generation) + " is fenced");
    }
    absl::Status refused = Judge(start, bytes);
    ingest_calls_.push_back({start, bytes.size(), refused.ok()});
    if (!refused.ok()) return refused;
    status_.received_lsn = start + bytes.size();
    status_.last_record_lsn = status_.received_lsn;
    status_.durable_lsn = status_.received_lsn;
    return storage::IngestResult{status_.last_record_lsn, status_.received_lsn, bytes.size(), 1};
  }

  absl::StatusOr<storage::PageVersion> GetPage(PageId id, Lsn lsn, absl::Time deadline) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_deadline_ = deadline;
    ASSIGN_OR_RETURN(storage::TablespaceInfo space, Space(id.space, lsn));
    lsn = lsn.value() == 0 ? status_.last_record_lsn : lsn;
    if (id.page.value() >= space.pages) {
      return absl::OutOfRangeError(ToString(id) + " at LSN " + std::to_string(lsn.value()) +
                                   " is past the tablespace's end (" + std::to_string(space.pages) +
                                   " pages)");
    }
    storage::PageVersion version;
    version.image = PageImage(id, lsn);
    version.lsn = lsn;
    version.freed = id.page.value() == 3;
    version.records_applied = id.page.value();
    return version;
  }

  absl::StatusOr<storage::TablespaceInfo> GetTablespace(SpaceId space, Lsn lsn,
                                                        absl::Time deadline) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_deadline_ = deadline;
    return Space(space, lsn);
  }

  absl::StatusOr<std::vector<storage::TablespaceInfo>> ListTablespaces(
      Lsn lsn, absl::Time deadline) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_deadline_ = deadline;
    RETURN_IF_ERROR(CheckLsn(lsn));
    return catalog_;
  }

  storage::TimelineStatus Status() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

  absl::Status Flush() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++flushes_;
    return flush_result_;
  }
  int flushes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return flushes_;
  }
  void SetFlushResult(absl::Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    flush_result_ = std::move(s);
  }
  absl::Status PutAuxFile(const std::string&, Lsn, std::span<const uint8_t>, bool,
                          uint64_t) override {
    return absl::UnimplementedError("FakeTimeline keeps no aux files");
  }
  absl::StatusOr<std::vector<uint8_t>> GetAuxFile(const std::string&, Lsn, absl::Time,
                                                  storage::AuxFileVersion*) override {
    return absl::UnimplementedError("FakeTimeline keeps no aux files");
  }
  absl::StatusOr<std::vector<storage::AuxFileVersion>> ListAuxFiles(Lsn, absl::Time) override {
    return absl::UnimplementedError("FakeTimeline keeps no aux files");
  }
  absl::StatusOr<storage::WriterLease> AcquireWriter(const std::string& holder) override {
    std::lock_guard<std::mutex> lock(mu_);
    storage::WriterLease lease{status_.writer ? status_.writer->generation + 1 : 1, holder,
                               status_.last_record_lsn};
    status_.writer = lease;
    return lease;
  }
  // Branches are the tenant's and the storage's (tenant_test, timeline_branch_test).
  void RemoveBranchPoint(Lsn) override {}
  absl::StatusOr<Lsn> LsnAt(absl::Time) const override {
    return absl::UnimplementedError("the fake timeline keeps no arrival times");
  }
  absl::StatusOr<Lsn> TruncateWal(Lsn lsn, uint64_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (lsn > status_.last_record_lsn) return absl::OutOfRangeError("past the end");
    status_.last_record_lsn = lsn;
    status_.received_lsn = lsn;
    return lsn;
  }

  // Test controls.
  void SetStatus(const storage::TimelineStatus& status) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
  }
  std::vector<IngestCall> ingest_calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ingest_calls_;
  }
  std::map<PageId, std::vector<uint8_t>> imported() const {
    std::lock_guard<std::mutex> lock(mu_);
    return imported_;
  }
  absl::Time last_deadline() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_deadline_;
  }

 private:
  class Session final : public storage::ImportSession {
   public:
    Session(FakeTimeline* timeline, Lsn lsn, std::vector<storage::TablespaceInfo> catalog)
        : timeline_(timeline), lsn_(lsn), catalog_(std::move(catalog)) {}
    absl::Status AddPage(PageId id, std::span<const uint8_t> image) override {
      if (!pages_.empty() && !(pages_.rbegin()->first < id)) {
        return absl::InvalidArgumentError("import: " + ToString(id) + " out of order");
      }
      pages_[id].assign(image.begin(), image.end());
      return absl::OkStatus();
    }
    absl::Status Finish() override {
      timeline_->SetBase(lsn_, catalog_);
      std::lock_guard<std::mutex> lock(timeline_->mu_);
      timeline_->imported_ = pages_;
      return absl::OkStatus();
    }

   private:
    FakeTimeline* timeline_;
    Lsn lsn_;
    std::vector<storage::TablespaceInfo> catalog_;
    std::map<PageId, std::vector<uint8_t>> pages_;
  };

  void SetBase(Lsn base, std::vector<storage::TablespaceInfo> catalog) {
    std::lock_guard<std::mutex> lock(mu_);
    status_.has_base = true;
    status_.base_lsn = base;
    status_.last_record_lsn = base;
    status_.durable_lsn = base;
    status_.received_lsn = base;
    status_.disk_consistent_lsn = base;
    status_.image_layers = 1;
    status_.tablespaces = static_cast<uint32_t>(catalog.size());
    catalog_ = std::move(catalog);
  }

  absl::Status Judge(Lsn start, std::span<const uint8_t> bytes) const {
    if (start > status_.received_lsn) {
      return absl::FailedPreconditionError("WAL at LSN " + std::to_string(start.value()) +
                                           " leaves a gap after received_lsn " +
                                           std::to_string(status_.received_lsn.value()));
    }
    if (start < status_.received_lsn) {
      return absl::InvalidArgumentError("WAL at LSN " + std::to_string(start.value()) +
                                        " overlaps stored bytes");
    }
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (bytes[i] == 0xFF) {
        return absl::InvalidArgumentError("corrupt mini-transaction at LSN " +
                                          std::to_string((start + i).value()));
      }
    }
    return absl::OkStatus();
  }

  absl::Status CheckLsn(Lsn lsn) const {
    if (lsn.value() == 0) return absl::OkStatus();
    if (lsn < status_.base_lsn) {
      return absl::OutOfRangeError("LSN " + std::to_string(lsn.value()) +
                                   " is below the base LSN " +
                                   std::to_string(status_.base_lsn.value()));
    }
    if (lsn > status_.last_record_lsn) {
      return absl::DeadlineExceededError("LSN " + std::to_string(lsn.value()) +
                                         " not reached (last_record_lsn " +
                                         std::to_string(status_.last_record_lsn.value()) + ")");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<storage::TablespaceInfo> Space(SpaceId space, Lsn lsn) const {
    RETURN_IF_ERROR(CheckLsn(lsn));
    for (const storage::TablespaceInfo& info : catalog_) {
      if (info.space == space) return info;
    }
    return absl::NotFoundError("tablespace " + std::to_string(space.value()) + " unknown at LSN " +
                               std::to_string(lsn.value()));
  }

  mutable std::mutex mu_;
  storage::TimelineStatus status_;
  std::vector<storage::TablespaceInfo> catalog_;
  std::vector<IngestCall> ingest_calls_;
  std::map<PageId, std::vector<uint8_t>> imported_;
  absl::Time last_deadline_;
  absl::Status uploads_;
  int flushes_ = 0;            // mu_
  absl::Status flush_result_;  // mu_
};

}  // namespace pageserver::service::testing
