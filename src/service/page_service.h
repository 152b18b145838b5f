// PageService: the gRPC service pageserver.PageServer (proto/page_service.proto) over the
// timelines of a tenant — the place where a storage absl::Status becomes a wire error.
//
// Timelines: every call names its timeline in the gRPC metadata key `timeline` (its name; the
// `main` timeline when absent or empty), as Neon's gRPC page API carries tenant and timeline in
// metadata. An unknown name fails the call with NOT_FOUND, naming it.
//
// Error rule: a unary call fails with the gRPC status whose code has the same number as the
// absl::StatusCode (the two enumerations agree) and the same message. GetPages and
// StreamGetPages answer each page, putting a failed page's code and message in its `error`
// and going on with the next one.
//
// Reads wait for their LSN until the call's deadline, or, for a call without one, until
// `read_wait_limit` from when the read starts. lsn 0 means the latest (last_record_lsn).
//
// StreamWAL batching rule: contiguous chunks are concatenated and handed to
// Timeline::IngestWal once per `wal_batch_bytes` (and at the end of the stream), so that one
// fdatasync covers many chunks. A chunk that does not continue the batch (a gap or an overlap)
// first flushes the batch; the timeline judges it. The timeline refuses a whole call on a bad
// byte, so when a batch of several chunks is refused it is retried chunk by chunk: the chunks
// before the bad one are stored, as the contract says, and the call fails with the bad chunk's
// error (whose message names the LSN).
//
// Ownership: the service borrows the timelines and the metrics; both must outlive it.
// Thread-safety: the gRPC runtime calls the methods concurrently; the service holds no mutable
// state of its own and relies on Timeline and PageServerMetrics being thread-safe.
#pragma once

#include <cstddef>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/types.h"
#include "proto/page_service.grpc.pb.h"
#include "auth/token.h"
#include "service/metrics.h"
#include "storage/timeline.h"
#include "tenant/tenant.h"

namespace pageserver::service {

struct ServiceOptions {
  // How long a read waits for its LSN when the request brings no deadline of its own.
  absl::Duration read_wait_limit = absl::Seconds(10);
  // StreamWAL gives the timeline contiguous bytes in batches of about this size.
  size_t wal_batch_bytes = size_t{4} << 20;
  // With auth on, the verifier of every request's token (service/request_auth.h); null: off.
  const auth::TokenVerifier* auth = nullptr;
  // With auth on, /metrics is served without a token too (for a scraper that has none).
  bool metrics_without_auth = false;
};

// The gRPC status with the same code number and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The metadata key that names a call's timeline.
inline constexpr char kTimelineMetadataKey[] = "timeline";

// The calls on the timeline that both the gRPC service and the HTTP API make, with their
// metrics recorded.
// A page read, timed and counted.
absl::StatusOr<storage::PageVersion> ReadPageMeasured(storage::Timeline& timeline,
                                                      PageServerMetrics& metrics, PageId id,
                                                      Lsn lsn, absl::Time deadline);
// An ingest; counts the bytes and records the timeline stored (not those received).
absl::StatusOr<storage::IngestResult> IngestWalMeasured(storage::Timeline& timeline,
                                                        PageServerMetrics& metrics,
                                                        uint64_t writer_generation, Lsn start,
                                                        std::span<const uint8_t> bytes);
// `lsn`, or last_record_lsn when `lsn` is 0 (so that an answer can say which LSN it is for).
Lsn ResolveLatest(const storage::Timeline& timeline, Lsn lsn);

class PageService final : public ::pageserver::PageServer::Service {
 public:
  PageService(tenant::TimelineResolver& timelines, PageServerMetrics& metrics,
              ServiceOptions options = {});

  grpc::Status GetPage(grpc::ServerContext* context, const GetPageRequest* request,
                       GetPageResponse* response) override;
  grpc::Status GetPages(grpc::ServerContext* context, const GetPagesRequest* request,
                        GetPagesResponse* response) override;
  grpc::Status StreamGetPages(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<GetPageResponse, GetPageRequest>* stream) override;
  grpc::Status StreamWAL(grpc::ServerContext* context, grpc::ServerReader<WalChunk>* reader,
                         StreamWalResponse* response) override;
  grpc::Status WalSession(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<StreamWalResponse, WalChunk>* stream) override;
  grpc::Status GetTablespaceSize(grpc::ServerContext* context, const TablespaceSizeRequest* request,
                                 TablespaceSizeResponse* response) override;
  grpc::Status ListTablespaces(grpc::ServerContext* context, const ListTablespacesRequest* request,
                               ListTablespacesResponse* response) override;
  grpc::Status Import(grpc::ServerContext* context, grpc::ServerReader<ImportChunk>* reader,
                      ImportResponse* response) override;
  grpc::Status TruncateWal(grpc::ServerContext* context, const TruncateWalRequest* request,
                           TruncateWalResponse* response) override;
  grpc::Status AcquireWriter(grpc::ServerContext* context, const AcquireWriterRequest* request,
                             AcquireWriterResponse* response) override;
  grpc::Status PutAuxFile(grpc::ServerContext* context, const PutAuxFileRequest* request,
                          PutAuxFileResponse* response) override;
  grpc::Status GetAuxFile(grpc::ServerContext* context, const GetAuxFileRequest* request,
                          GetAuxFileResponse* response) override;
  grpc::Status ListAuxFiles(grpc::ServerContext* context, const ListAuxFilesRequest* request,
                            ListAuxFilesResponse* response) override;
  grpc::Status GetStatus(grpc::ServerContext* context, const StatusRequest* request,
                         StatusResponse* response) override;
  grpc::Status Ping(grpc::ServerContext* context, const PingRequest* request,
                    PingResponse* response) override;

 private:
  // The call's deadline, or now + read_wait_limit when it has none.
  absl::Time ReadDeadline(const grpc::ServerContext& context) const;
  // The call's timeline (metadata key `timeline`), once its token allows `need` on it (with
  // auth on: service/request_auth.h).
  absl::StatusOr<std::shared_ptr<storage::Timeline>> TimelineOf(const grpc::ServerContext& context,
                                                                auth::Scope need) const;
  // One page answer of a batch or stream: the page or the error, never a failed call.
  GetPageResponse ReadOne(storage::Timeline& timeline, const GetPageRequest& request,
                          absl::Time deadline);
  // Hands `bytes` (chunks of the sizes in `chunk_sizes`, in order) to the timeline; see the
  // batching rule above.
  absl::StatusOr<storage::IngestResult> IngestBatch(storage::Timeline& timeline,
                                                    uint64_t writer_generation, Lsn start,
                                                    std::span<const uint8_t> bytes,
                                                    std::span<const size_t> chunk_sizes);

  tenant::TimelineResolver& timelines_;
  PageServerMetrics& metrics_;
  const ServiceOptions options_;
};

}  // namespace pageserver::service
