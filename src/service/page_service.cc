#include "service/page_service.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "service/request_auth.h"
#include "service/wal_session.h"

namespace pageserver::service {
namespace {

// What each call's token must allow (auth/token.h): reads, a writer's redo and files, an import.
constexpr auth::Scope kReadScope = auth::Scope::kRead;
constexpr auth::Scope kComputeScope = auth::Scope::kCompute;
constexpr auth::Scope kAdminScope = auth::Scope::kAdmin;

static_assert(static_cast<int>(absl::StatusCode::kInvalidArgument) ==
              static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
static_assert(static_cast<int>(absl::StatusCode::kOutOfRange) ==
              static_cast<int>(grpc::StatusCode::OUT_OF_RANGE));
static_assert(static_cast<int>(absl::StatusCode::kDataLoss) ==
              static_cast<int>(grpc::StatusCode::DATA_LOSS));
static_assert(static_cast<int>(absl::StatusCode::kUnauthenticated) ==
              static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Runs one call's body and records it under `method`.
template <typename Body>
grpc::Status Measured(const PageServerMetrics& metrics, std::string_view method, Body&& body) {
  MethodMetrics m = metrics.Grpc(method);
  m.requests->Increment();
  absl::Status status = body();
  if (!status.ok()) m.errors->Increment();
  return ToGrpcStatus(status);
}

void FillPage(const storage::PageVersion& version, GetPageResponse* response) {
  response->set_lsn(version.lsn.value());
  response->set_page_data(reinterpret_cast<const char*>(version.image.data()),
                          version.image.size());
  response->set_freed(version.freed);
  response->set_records_applied(version.records_applied);
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  int code = static_cast<int>(status.code());
  if (code < 0 || code > static_cast<int>(grpc::StatusCode::UNAUTHENTICATED)) {
    code = static_cast<int>(grpc::StatusCode::UNKNOWN);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(code), std::string(status.message()));
}

absl::StatusOr<storage::PageVersion> ReadPageMeasured(storage::Timeline& timeline,
                                                      PageServerMetrics& metrics, PageId id,
                                                      Lsn lsn, absl::Time deadline) {
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<storage::PageVersion> version = timeline.GetPage(id, lsn, deadline);
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  metrics.ObservePageRead(elapsed.count(), version.ok(),
                          version.ok() ? version->records_applied : 0);
  return version;
}

absl::StatusOr<storage::IngestResult> IngestWalMeasured(storage::Timeline& timeline,
                                                        PageServerMetrics& metrics,
                                                        uint64_t writer_generation, Lsn start,
                                                        std::span<const uint8_t> bytes) {
  const absl::Time began = absl::Now();
  absl::StatusOr<storage::IngestResult> result =
      timeline.IngestWalAs(writer_generation, start, bytes);
  if (result.ok()) metrics.ObserveWalStored(*result, absl::ToDoubleSeconds(absl::Now() - began));
  return result;
}

Lsn ResolveLatest(const storage::Timeline& timeline, Lsn lsn) {
  return lsn.value() != 0 ? lsn : timeline.Status().last_record_lsn;
}

PageService::PageService(tenant::TimelineResolver& timelines, PageServerMetrics& metrics,
                         ServiceOptions options)
    : timelines_(timelines), metrics_(metrics), options_(options) {}

absl::StatusOr<std::shared_ptr<storage::Timeline>> PageService::TimelineOf(
    const grpc::ServerContext& context, auth::Scope need) const {
  const auto& metadata = context.client_metadata();
  auto value = [&metadata](const char* key) {
    auto it = metadata.find(key);
    return it == metadata.end() ? std::string() : std::string(it->second.data(), it->second.size());
  };
  const std::string timeline = value(kTimelineMetadataKey);
  RETURN_IF_ERROR(
      CheckRequestToken(options_.auth, metrics_, "grpc", value(kAuthorizationKey), need, timeline));
  return timelines_.Get(timeline);
}

absl::Time PageService::ReadDeadline(const grpc::ServerContext& context) const {
  // gRPC reports "no deadline" as the time point's maximum.
  std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::Now() + options_.read_wait_limit;
  }
  return absl::FromChrono(deadline);
}

GetPageResponse PageService::ReadOne(storage::Timeline& timeline, const GetPageRequest& request,
                                     absl::Time deadline) {
  GetPageResponse response;
  response.set_space_id(request.space_id());
  response.set_page_no(request.page_no());
  PageId id{SpaceId(request.space_id()), PageNo(request.page_no())};
  absl::StatusOr<storage::PageVersion> version =
      ReadPageMeasured(timeline, metrics_, id, Lsn(request.lsn()), deadline);
  if (version.ok()) {
    FillPage(*version, &response);
  } else {
    response.set_lsn(request.lsn());
    response.mutable_error()->set_code(static_cast<int32_t>(version.status().code()));
    response.mutable_error()->set_message(std::string(version.status().message()));
  }
  return response;
}

grpc::Status PageService::GetPage(grpc::ServerContext* context, const GetPageRequest* request,
                                  GetPageResponse* response) {
  return Measured(metrics_, "GetPage", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline, TimelineOf(*context, kReadScope));
    PageId id{SpaceId(request->space_id()), PageNo(request->page_no())};
    ASSIGN_OR_RETURN(
        storage::PageVersion version,
        ReadPageMeasured(*timeline, metrics_, id, Lsn(request->lsn()), ReadDeadline(*context)));
    response->set_space_id(request->space_id());
    response->set_page_no(request->page_no());
    FillPage(version, response);
    return absl::OkStatus();
  });
}

grpc::Status PageService::GetPages(grpc::ServerContext* context, const GetPagesRequest* request,
                                   GetPagesResponse* response) {
  return Measured(metrics_, "GetPages", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline, TimelineOf(*context, kReadScope));
    // One deadline for the batch: the caller waits for all of it.
    absl::Time deadline = ReadDeadline(*context);
    response->mutable_pages()->Reserve(request->pages_size());
    for (const GetPageRequest& page : request->pages()) {
      *response->add_pages() = ReadOne(*timeline, page, deadline);
    }
    return absl::OkStatus();
  });
}

grpc::Status PageService::StreamGetPages(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<GetPageResponse, GetPageRequest>* stream) {
  return Measured(metrics_, "StreamGetPages", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline, TimelineOf(*context, kReadScope));
    GetPageRequest request;
    while (stream->Read(&request)) {
      // A stream lives long: without a call deadline each read gets its own wait limit.
      if (!stream->Write(ReadOne(*timeline, request, ReadDeadline(*context)))) {
        return absl::CancelledError("StreamGetPages: the client went away");
      }
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<storage::IngestResult> PageService::IngestBatch(
    storage::Timeline& timeline, uint64_t writer_generation, Lsn start,
    std::span<const uint8_t> bytes, std::span<const size_t> chunk_sizes) {
  absl::StatusOr<storage::IngestResult> whole =
      IngestWalMeasured(timeline, metrics_, writer_generation, start, bytes);
  // A fenced writer stores nothing, chunk by chunk neither.
  if (whole.ok() || chunk_sizes.size() <= 1 || absl::IsFailedPrecondition(whole.status())) {
    return whole;
  }
  // The timeline stored nothing of the batch; store the chunks before the bad one.
  storage::IngestResult total;
  Lsn lsn = start;
  size_t offset = 0;
  for (size_t size : chunk_sizes) {
    ASSIGN_OR_RETURN(
        storage::IngestResult one,
        IngestWalMeasured(timeline, metrics_, writer_generation, lsn, bytes.subspan(offset, size)));
    total.last_record_lsn = one.last_record_lsn;
    total.received_lsn = one.received_lsn;
    total.bytes_stored += one.bytes_stored;
    total.records_stored += one.records_stored;
    lsn = lsn + size;
    offset += size;
  }
  return total;
}

grpc::Status PageService::StreamWAL(grpc::ServerContext* context,
                                    grpc::ServerReader<WalChunk>* reader,
                                    StreamWalResponse* response) {
  return Measured(metrics_, "StreamWAL", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                     TimelineOf(*context, kComputeScope));
    std::vector<uint8_t> batch;
    std::vector<size_t> chunk_sizes;
    Lsn batch_start;
    std::optional<uint64_t> writer_generation;  // the call's, from its first chunk
    uint64_t bytes_stored = 0;
    bool ingested = false;
    storage::IngestResult last;
    auto flush = [&]() -> absl::Status {
      if (batch.empty()) return absl::OkStatus();
      ASSIGN_OR_RETURN(last,
                       IngestBatch(*timeline, writer_generation.value_or(storage::kNoWriterLease),
                                   batch_start, batch, chunk_sizes));
      ingested = true;
      bytes_stored += last.bytes_stored;
      batch.clear();
      chunk_sizes.clear();
      return absl::OkStatus();
    };

    WalChunk chunk;
    while (reader->Read(&chunk)) {
      const std::string& data = chunk.wal_data();
      metrics_.wal_received_bytes().Increment(data.size());
      if (chunk.source_end_lsn() != 0) {
        metrics_.source_end_lsn().Set(static_cast<double>(chunk.source_end_lsn()));
        metrics_.source_lag_seconds().Set(chunk.source_lag_seconds());
      }
      if (!writer_generation) writer_generation = chunk.writer_generation();
      if (chunk.writer_generation() != *writer_generation) {
        RETURN_IF_ERROR(flush());
        return absl::InvalidArgumentError(absl::StrFormat(
            "StreamWAL: a chunk at LSN %d carries writer generation %d, the call's first %d",
            chunk.start_lsn(), chunk.writer_generation(), *writer_generation));
      }
      if (data.empty()) continue;
      Lsn start(chunk.start_lsn());
      if (!batch.empty() && start != batch_start + batch.size()) RETURN_IF_ERROR(flush());
      if (batch.empty()) batch_start = start;
      batch.insert(batch.end(), data.begin(), data.end());
      chunk_sizes.push_back(data.size());
      if (batch.size() >= options_.wal_batch_bytes) RETURN_IF_ERROR(flush());
    }
    RETURN_IF_ERROR(flush());

    if (ingested) {
      response->set_last_record_lsn(last.last_record_lsn.value());
      response->set_received_lsn(last.received_lsn.value());
    } else {
      storage::TimelineStatus status = timeline->Status();
      response->set_last_record_lsn(status.last_record_lsn.value());
      response->set_received_lsn(status.received_lsn.value());
    }
    response->set_bytes_stored(bytes_stored);
    return absl::OkStatus();
  });
}

grpc::Status PageService::WalSession(
    grpc::ServerContext* context, grpc::ServerReaderWriter<StreamWalResponse, WalChunk>* stream) {
  return Measured(metrics_, "WalSession", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                     TimelineOf(*context, kComputeScope));
    return RunWalSession(*timeline, metrics_, *context, *stream);
  });
}

grpc::Status PageService::GetTablespaceSize(grpc::ServerContext* context,
                                            const TablespaceSizeRequest* request,
                                            TablespaceSizeResponse* response) {
  return Measured(metrics_, "GetTablespaceSize", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline, TimelineOf(*context, kReadScope));
    ASSIGN_OR_RETURN(storage::TablespaceInfo info,
                     timeline->GetTablespace(SpaceId(request->space_id()), Lsn(request->lsn()),
                                             ReadDeadline(*context)));
    response->set_space_id(request->space_id());
    response->set_pages(info.pages);
    return absl::OkStatus();
  });
}

grpc::Status PageService::ListTablespaces(grpc::ServerContext* context,
                                          const ListTablespacesRequest* request,
                                          ListTablespacesResponse* response) {
  return Measured(metrics_, "ListTablespaces", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline, TimelineOf(*context, kReadScope));
    Lsn lsn = ResolveLatest(*timeline, Lsn(request->lsn()));
    ASSIGN_OR_RETURN(std::vector<storage::TablespaceInfo> spaces,
                     timeline->ListTablespaces(lsn, ReadDeadline(*context)));
    response->set_lsn(lsn.value());
    for (const storage::TablespaceInfo& info : spaces) {
      Tablespace* out = response->add_tablespaces();
      out->set_space_id(info.space.value());
      out->set_path(info.path);
      out->set_flags(info.flags);
      out->set_pages(info.pages);
    }
    return absl::OkStatus();
  });
}

grpc::Status PageService::Import(grpc::ServerContext* context,
                                 grpc::ServerReader<ImportChunk>* reader,
                                 ImportResponse* response) {
  return Measured(metrics_, "Import", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                     TimelineOf(*context, kAdminScope));
    ImportChunk chunk;
    if (!reader->Read(&chunk)) {
      return absl::InvalidArgumentError(
          "Import: empty stream; the first message carries the catalog");
    }
    if (!chunk.has_catalog()) {
      return absl::InvalidArgumentError("Import: the first message has no catalog");
    }
    const ImportChunk::Catalog& catalog = chunk.catalog();
    std::vector<storage::TablespaceInfo> spaces;
    spaces.reserve(catalog.tablespaces_size());
    for (const Tablespace& t : catalog.tablespaces()) {
      spaces.push_back(
          storage::TablespaceInfo{SpaceId(t.space_id()), t.path(), t.flags(), t.pages()});
    }
    Lsn lsn(catalog.lsn());
    ASSIGN_OR_RETURN(std::unique_ptr<storage::ImportSession> session,
                     timeline->BeginImport(lsn, catalog.page_size(), std::move(spaces)));
    uint64_t pages = 0;
    bool first = true;
    do {
      if (!first && chunk.has_catalog()) {
        return absl::InvalidArgumentError("Import: a catalog after the first message (after " +
                                          std::to_string(pages) + " pages)");
      }
      first = false;
      for (const ImportChunk::Page& page : chunk.pages()) {
        RETURN_IF_ERROR(session->AddPage(PageId{SpaceId(page.space_id()), PageNo(page.page_no())},
                                         Bytes(page.page_data())));
        ++pages;
        metrics_.imported_pages().Increment();
      }
    } while (reader->Read(&chunk));
    RETURN_IF_ERROR(session->Finish());
    response->set_lsn(lsn.value());
    response->set_pages(pages);
    return absl::OkStatus();
  });
}

grpc::Status PageService::TruncateWal(grpc::ServerContext* context,
                                      const TruncateWalRequest* request,
                                      TruncateWalResponse* response) {
  return Measured(metrics_, "TruncateWal", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                     TimelineOf(*context, kComputeScope));
    ASSIGN_OR_RETURN(const Lsn at,
                     timeline->TruncateWal(Lsn(request->lsn()), request->writer_generation()));
    response->set_last_record_lsn(at.value());
    return absl::OkStatus();
  });
}

grpc::Status PageService::AcquireWriter(grpc::ServerContext* context,
                                        const AcquireWriterRequest* request,
                                        AcquireWriterResponse* response) {
  return Measured(metrics_, "AcquireWriter", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                     TimelineOf(*context, kComputeScope));
    if (request->holder().empty()) {
      return absl::InvalidArgumentError("AcquireWriter: the holder must name the writer");
    }
    ASSIGN_OR_RETURN(storage::WriterLease lease, timeline->AcquireWriter(request->holder()));
    response->set_generation(lease.generation);
    response->set_last_record_lsn(lease.granted_at.value());
    return absl::OkStatus();
  });
}

grpc::Status PageService::PutAuxFile(grpc::ServerContext* context, const PutAuxFileRequest* request,
                                     PutAuxFileResponse* /*response*/) {
  return Measured(metrics_, "PutAuxFile", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                     TimelineOf(*context, kComputeScope));
    const std::string& content = request->content();
    return timeline->PutAuxFile(
        request->path(), Lsn(request->lsn()),
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size()),
        request->deleted(), request->writer_generation());
  });
}

grpc::Status PageService::GetAuxFile(grpc::ServerContext* context, const GetAuxFileRequest* request,
                                     GetAuxFileResponse* response) {
  return Measured(metrics_, "GetAuxFile", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline, TimelineOf(*context, kReadScope));
    storage::AuxFileVersion version;
    ASSIGN_OR_RETURN(std::vector<uint8_t> content,
                     timeline->GetAuxFile(request->path(), Lsn(request->lsn()),
                                          ReadDeadline(*context), &version));
    response->set_path(version.path);
    response->set_lsn(version.lsn.value());
    response->set_content(content.data(), content.size());
    return absl::OkStatus();
  });
}

grpc::Status PageService::ListAuxFiles(grpc::ServerContext* context,
                                       const ListAuxFilesRequest* request,
                                       ListAuxFilesResponse* response) {
  return Measured(metrics_, "ListAuxFiles", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline, TimelineOf(*context, kReadScope));
    const Lsn at = ResolveLatest(*timeline, Lsn(request->lsn()));
    ASSIGN_OR_RETURN(std::vector<storage::AuxFileVersion> files,
                     timeline->ListAuxFiles(at, ReadDeadline(*context)));
    response->set_lsn(at.value());
    for (const storage::AuxFileVersion& f : files) {
      AuxFileEntry* e = response->add_files();
      e->set_path(f.path);
      e->set_lsn(f.lsn.value());
      e->set_size(f.size);
    }
    return absl::OkStatus();
  });
}

grpc::Status PageService::GetStatus(grpc::ServerContext* context, const StatusRequest* /*request*/,
                                    StatusResponse* response) {
  return Measured(metrics_, "GetStatus", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline, TimelineOf(*context, kReadScope));
    storage::TimelineStatus s = timeline->Status();
    response->set_base_lsn(s.base_lsn.value());
    response->set_last_record_lsn(s.last_record_lsn.value());
    response->set_durable_lsn(s.durable_lsn.value());
    response->set_received_lsn(s.received_lsn.value());
    response->set_disk_consistent_lsn(s.disk_consistent_lsn.value());
    response->set_image_layers(s.image_layers);
    response->set_delta_layers(s.delta_layers);
    response->set_in_memory_bytes(s.in_memory_bytes);
    response->set_tablespaces(s.tablespaces);
    response->set_remote_consistent_lsn(s.remote_consistent_lsn.value());
    response->set_wal_syncs(s.wal_syncs);
    response->set_gc_cutoff_lsn(s.gc_cutoff_lsn.value());
    if (s.writer) {
      response->set_writer_generation(s.writer->generation);
      response->set_writer_holder(s.writer->holder);
    }
    return absl::OkStatus();
  });
}

grpc::Status PageService::Ping(grpc::ServerContext* context, const PingRequest* /*request*/,
                               PingResponse* response) {
  return Measured(metrics_, "Ping", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline, TimelineOf(*context, kReadScope));
    response->set_last_record_lsn(timeline->Status().last_record_lsn.value());
    return absl::OkStatus();
  });
}

}  // namespace pageserver::service
