#include "client/page_server_client.h"

#include <grpcpp/grpcpp.h>

#include <deque>
#include <mutex>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/grpc_status.h"
#include "client/page_check.h"
#include "client/retry.h"
#include "common/status_macros.h"
#include "proto/page_service.grpc.pb.h"

namespace pageserver::client {
namespace {

// The generated messages and stub live in namespace pageserver, beside the client's own types.
namespace proto = ::pageserver;
using Stub = proto::PageServer::Stub;

double Jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

PageOrError ToPage(const PageRequest& request, proto::GetPageResponse& response,
                   uint32_t page_size) {
  if (response.has_error()) {
    absl::Status error = FromPageError(response.error().code(), response.error().message());
    if (!error.ok()) return error;
  }
  Page page;
  page.id = {SpaceId(response.space_id()), PageNo(response.page_no())};
  page.lsn = Lsn(response.lsn());
  const std::string& data = response.page_data();
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  page.data.assign(bytes, bytes + data.size());  // pointers of the element type: one memcpy
  page.freed = response.freed();
  page.records_applied = response.records_applied();
  return CheckPage(request, std::move(page), page_size);
}

proto::GetPageRequest ToRequest(const PageRequest& r) {
  proto::GetPageRequest request;
  request.set_space_id(r.id.space.value());
  request.set_page_no(r.id.page.value());
  request.set_lsn(r.lsn.value());
  return request;
}

Tablespace FromProto(const proto::Tablespace& t) {
  return {SpaceId(t.space_id()), t.path(), t.flags(), t.pages()};
}

// `context`, naming the options' timeline (none: the server's main) in its metadata
// (page_service.h), with their token (service/request_auth.h).
grpc::ClientContext* ForCall(grpc::ClientContext* context, const Options& options) {
  if (!options.timeline.empty()) context->AddMetadata("timeline", options.timeline);
  if (!options.token.empty()) context->AddMetadata("authorization", "Bearer " + options.token);
  return context;
}

class GrpcWalSession : public WalSession {
 public:
  GrpcWalSession(Stub& stub, uint64_t writer_generation, const Options& options)
      : writer_generation_(writer_generation),
        stream_(stub.WalSession(ForCall(&context_, options))) {}

  ~GrpcWalSession() override {
    if (finished_) return;
    context_.TryCancel();  // unanswered flushes interest no one once the writer drops the session
    stream_->Finish().ok();
  }

  absl::Status Send(Lsn start, std::span<const uint8_t> bytes) override {
    if (!status_.ok()) return status_;
    constexpr size_t kMaxMessage = size_t{1} << 20;
    proto::WalChunk message;
    message.set_writer_generation(writer_generation_);
    size_t sent = 0;
    do {  // an empty send is one empty message: the server says where it stands
      const size_t size = std::min(kMaxMessage, bytes.size() - sent);
      message.set_start_lsn((start + sent).value());
      message.set_wal_data(bytes.data() + sent, size);
      if (!stream_->Write(message)) return Broken(start);
      sent += size;
      ++unanswered_;
    } while (sent < bytes.size());
    last_sent_ = start;
    return absl::OkStatus();
  }

  absl::StatusOr<WalAck> AwaitAll() override {
    if (!status_.ok()) return status_;
    if (unanswered_ == 0) RETURN_IF_ERROR(Send(last_sent_, {}));
    proto::StreamWalResponse response;
    for (; unanswered_ > 0; --unanswered_) {
      if (!stream_->Read(&response)) return Broken(last_sent_);
    }
    WalAck ack{Lsn(response.last_record_lsn()), Lsn(response.received_lsn()),
               response.bytes_stored()};
    if (ack.last_record_lsn > ack.received_lsn) {
      status_ = absl::DataLossError(
          absl::StrFormat("WalSession answer: last_record_lsn %d is beyond received_lsn %d",
                          ack.last_record_lsn.value(), ack.received_lsn.value()));
      return status_;
    }
    return ack;
  }

  size_t unanswered() const override { return unanswered_; }

 private:
  // The stream is over: its status says why (Unavailable when it says nothing).
  absl::Status Broken(Lsn start) {
    finished_ = true;  // Finish may be called once
    status_ = FromGrpcStatus(stream_->Finish());
    if (status_.ok()) {
      status_ = absl::UnavailableError(absl::StrFormat(
          "the WAL session ended before the flush at LSN %d was acknowledged", start.value()));
    }
    return status_;
  }

  const uint64_t writer_generation_;
  grpc::ClientContext context_;  // outlives stream_ (declared first)
  std::unique_ptr<grpc::ClientReaderWriter<proto::WalChunk, proto::StreamWalResponse>> stream_;
  bool finished_ = false;
  absl::Status status_;
  size_t unanswered_ = 0;
  Lsn last_sent_;  // where the last message sent started
};

class GrpcPageStream : public PageStream {
 public:
  GrpcPageStream(Stub& stub, uint32_t page_size, const Options& options)
      : page_size_(page_size), stream_(stub.StreamGetPages(ForCall(&context_, options))) {}

  ~GrpcPageStream() override {
    if (!finished_) {
      context_.TryCancel();
      Finish().IgnoreError();  // the owner dropped the stream: its outcome interests no one
    }
  }

  absl::Status Send(const PageRequest& request) override {
    {
      std::lock_guard lock(mu_);
      if (finished_) return absl::FailedPreconditionError("the page stream has ended");
      pending_.push_back(request);
    }
    if (!stream_->Write(ToRequest(request))) {
      return absl::UnavailableError(
          absl::StrFormat("the page stream broke sending %s at LSN %d; Finish gives the reason",
                          ToString(request.id), request.lsn.value()));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<PageOrError> Receive() override {
    PageRequest request;
    {
      std::lock_guard lock(mu_);
      if (finished_) return absl::FailedPreconditionError("the page stream has ended");
      if (pending_.empty()) {
        return absl::FailedPreconditionError("no request on the page stream awaits an answer");
      }
      request = pending_.front();
    }
    proto::GetPageResponse response;
    if (!stream_->Read(&response)) {
      // The call is over: the server closed it or it failed. Its status says why.
      std::lock_guard lock(mu_);
      finished_ = true;
      status_ = FromGrpcStatus(stream_->Finish());
      if (status_.ok()) {
        status_ = absl::DataLossError(absl::StrFormat(
            "the server ended the page stream with %d requests unanswered, the first %s at "
            "LSN %d",
            pending_.size(), ToString(request.id), request.lsn.value()));
      }
      return status_;
    }
    {
      std::lock_guard lock(mu_);
      pending_.pop_front();
    }
    return ToPage(request, response, page_size_);
  }

  absl::Status Finish() override {
    std::lock_guard lock(mu_);
    if (finished_) return status_;
    finished_ = true;
    stream_->WritesDone();
    proto::GetPageResponse dropped;
    while (stream_->Read(&dropped)) {
    }
    status_ = FromGrpcStatus(stream_->Finish());
    return status_;
  }

 private:
  const uint32_t page_size_;
  grpc::ClientContext context_;  // outlives stream_ (declared first)
  std::unique_ptr<grpc::ClientReaderWriter<proto::GetPageRequest, proto::GetPageResponse>> stream_;
  std::mutex mu_;
  std::deque<PageRequest> pending_;  // sent, not yet answered, oldest first
  bool finished_ = false;
  absl::Status status_;
};

class GrpcImportWriter : public ImportWriter {
 public:
  GrpcImportWriter(Stub& stub, const ImportCatalog& catalog, const Options& options)
      : catalog_lsn_(catalog.lsn),
        page_size_(catalog.page_size),
        writer_(stub.Import(ForCall(&context_, options), &response_)) {}

  ~GrpcImportWriter() override {
    if (!done_) {
      context_.TryCancel();
      (void)writer_->Finish();  // dropped unfinished: the server discards the import
    }
  }

  absl::Status Start(const ImportCatalog& catalog) {
    proto::ImportChunk chunk;
    auto* c = chunk.mutable_catalog();
    c->set_lsn(catalog.lsn.value());
    c->set_page_size(catalog.page_size);
    for (const Tablespace& t : catalog.tablespaces) {
      auto* out = c->add_tablespaces();
      out->set_space_id(t.space.value());
      out->set_path(t.path);
      out->set_flags(t.flags);
      out->set_pages(t.pages);
    }
    if (!writer_->Write(chunk)) return Broken();
    return absl::OkStatus();
  }

  absl::Status Write(std::span<const ImportPage> pages) override {
    if (done_) return absl::FailedPreconditionError("the import has ended");
    proto::ImportChunk chunk;
    for (const ImportPage& p : pages) {
      if (p.data.size() != page_size_) {
        return Abandon(absl::InvalidArgumentError(absl::StrFormat(
            "import %s: %d bytes, not a page of %d", ToString(p.id), p.data.size(), page_size_)));
      }
      if (any_page_ && p.id <= last_page_) {
        return Abandon(absl::InvalidArgumentError(
            absl::StrFormat("import: %s after %s; pages must come in ascending (space, page) "
                            "order",
                            ToString(p.id), ToString(last_page_))));
      }
      any_page_ = true;
      last_page_ = p.id;
      auto* out = chunk.add_pages();
      out->set_space_id(p.id.space.value());
      out->set_page_no(p.id.page.value());
      out->set_page_data(p.data.data(), p.data.size());
    }
    if (!writer_->Write(chunk)) return Broken();
    pages_sent_ += pages.size();
    return absl::OkStatus();
  }

  absl::StatusOr<ImportResult> Finish() override {
    if (done_) {
      if (!status_.ok()) return status_;
      return absl::FailedPreconditionError("the import has already been finished");
    }
    done_ = true;
    writer_->WritesDone();
    status_ = FromGrpcStatus(writer_->Finish());
    if (!status_.ok()) return status_;
    ImportResult result{Lsn(response_.lsn()), response_.pages()};
    if (result.lsn != catalog_lsn_ || result.pages != pages_sent_) {
      return absl::DataLossError(
          absl::StrFormat("the server acknowledged an import of %d pages at LSN %d; %d pages "
                          "at LSN %d were sent",
                          result.pages, result.lsn.value(), pages_sent_, catalog_lsn_.value()));
    }
    return result;
  }

 private:
  // The stream refused a message: the call has failed, and its status says why.
  absl::Status Broken() {
    done_ = true;
    status_ = FromGrpcStatus(writer_->Finish());
    if (status_.ok()) {
      status_ = absl::DataLossError(absl::StrFormat(
          "the server ended the import after %d pages without an error", pages_sent_));
    }
    return status_;
  }

  // A local error: cancel, so that the server stores nothing of this import.
  absl::Status Abandon(absl::Status error) {
    done_ = true;
    context_.TryCancel();
    (void)writer_->Finish();  // cancelled: `error` is the reason
    status_ = error;
    return error;
  }

  const Lsn catalog_lsn_;
  const uint32_t page_size_;
  grpc::ClientContext context_;
  proto::ImportResponse response_;
  std::unique_ptr<grpc::ClientWriter<proto::ImportChunk>> writer_;
  bool done_ = false;
  absl::Status status_;
  bool any_page_ = false;
  PageId last_page_{};
  uint64_t pages_sent_ = 0;
};

}  // namespace

struct PageServerClient::Channel {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<Stub> stub;
};

PageServerClient::PageServerClient(const Options& options) : options_(options) {}
PageServerClient::~PageServerClient() = default;

absl::StatusOr<std::unique_ptr<PageServerClient>> PageServerClient::Create(const Options& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("page server client: the address is empty");
  }
  if (options.channels < 1 || options.max_retries < 0 || options.deadline <= absl::ZeroDuration() ||
      options.initial_backoff < absl::ZeroDuration() ||
      options.max_backoff < options.initial_backoff || options.page_size == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "page server client for %s: unusable options (channels %d, max_retries %d, deadline %s, "
        "backoff %s..%s, page size %d)",
        options.address, options.channels, options.max_retries,
        absl::FormatDuration(options.deadline), absl::FormatDuration(options.initial_backoff),
        absl::FormatDuration(options.max_backoff), options.page_size));
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.tls.empty()) {
    absl::StatusOr<auth::TlsPems> pems = auth::LoadClientTls(options.tls);
    if (!pems.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat("page server client for %s: %s",
                                                        options.address, pems.status().message()));
    }
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pems->ca;
    ssl.pem_cert_chain = pems->cert;
    ssl.pem_private_key = pems->key;
    credentials = grpc::SslCredentials(ssl);
  }
  std::unique_ptr<PageServerClient> client(new PageServerClient(options));
  for (int i = 0; i < options.channels; ++i) {
    grpc::ChannelArguments args;
    // A subchannel pool of its own gives each channel its own connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // A batch of 256 pages is over gRPC's default limit of 4 MiB.
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    auto channel = std::make_unique<Channel>();
    channel->channel =
        grpc::CreateCustomChannel(options.address, credentials, args);
    channel->stub = proto::PageServer::NewStub(channel->channel);
    client->channels_.push_back(std::move(channel));
  }
  return client;
}

PageServerClient::Channel& PageServerClient::NextChannel() {
  return *channels_[next_channel_.fetch_add(1, std::memory_order_relaxed) % channels_.size()];
}

namespace {

// gRPC reports a refused TLS handshake as a connection failure ("failed to connect to all
// addresses; ... Socket closed"): add what usually causes one.
absl::Status WithConnectionHint(absl::Status status, const Options& options) {
  if (status.ok() ||
      status.message().find("failed to connect to all addresses") == absl::string_view::npos) {
    return status;
  }
  const char* hint =
      options.tls.empty()
          ? " (is the server up there? a server with TLS on needs --tls-ca)"
          : " (with TLS: is the port TLS, is the server's certificate signed by the --tls-ca CA "
            "and issued for this host, and, if the server requires client certificates, is "
            "--tls-cert one its CA signed?)";
  return absl::Status(status.code(), absl::StrCat(status.message(), hint));
}

}  // namespace

template <typename Attempt>
absl::Status PageServerClient::CallWithRetries(Attempt&& attempt) {
  const absl::Time deadline = absl::Now() + options_.deadline;
  for (int retry = 0;; ++retry) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    ForCall(&context, options_);
    absl::Status status = attempt(*NextChannel().stub, context);
    if (status.ok() || !IsRetryable(status.code()) || retry >= options_.max_retries) {
      return WithConnectionHint(std::move(status), options_);
    }
    const absl::Duration wait =
        BackoffDelay(retry, options_.initial_backoff, options_.max_backoff, Jitter());
    if (absl::Now() + wait >= deadline) return WithConnectionHint(std::move(status), options_);
    absl::SleepFor(wait);
  }
}

absl::StatusOr<Page> PageServerClient::GetPage(PageId id, Lsn lsn) {
  const PageRequest page_request{id, lsn};
  const proto::GetPageRequest request = ToRequest(page_request);
  proto::GetPageResponse response;
  RETURN_IF_ERROR(CallWithRetries([&](Stub& stub, grpc::ClientContext& context) {
    response.Clear();
    return FromGrpcStatus(stub.GetPage(&context, request, &response));
  }));
  return ToPage(page_request, response, options_.page_size);
}

absl::StatusOr<std::vector<PageOrError>> PageServerClient::GetPages(
    std::span<const PageRequest> requests) {
  std::vector<PageOrError> pages;
  if (requests.empty()) return pages;
  proto::GetPagesRequest request;
  for (const PageRequest& r : requests) *request.add_pages() = ToRequest(r);
  proto::GetPagesResponse response;
  RETURN_IF_ERROR(CallWithRetries([&](Stub& stub, grpc::ClientContext& context) {
    response.Clear();
    return FromGrpcStatus(stub.GetPages(&context, request, &response));
  }));
  if (static_cast<size_t>(response.pages_size()) != requests.size()) {
    return absl::DataLossError(absl::StrFormat(
        "asked for %d pages (the first %s at LSN %d), the server answered %d", requests.size(),
        ToString(requests[0].id), requests[0].lsn.value(), response.pages_size()));
  }
  pages.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    pages.push_back(
        ToPage(requests[i], *response.mutable_pages(static_cast<int>(i)), options_.page_size));
  }
  return pages;
}

absl::StatusOr<std::unique_ptr<WalSession>> PageServerClient::OpenWalSession() {
  return std::unique_ptr<WalSession>(
      new GrpcWalSession(*NextChannel().stub, writer_generation_.load(), options_));
}

absl::StatusOr<std::unique_ptr<PageStream>> PageServerClient::OpenPageStream() {
  return std::make_unique<GrpcPageStream>(*NextChannel().stub, options_.page_size, options_);
}

absl::StatusOr<WalAck> PageServerClient::StreamWal(Lsn start, std::span<const uint8_t> bytes,
                                                   size_t chunk_bytes) {
  if (chunk_bytes == 0) return absl::InvalidArgumentError("StreamWal: chunk size 0");
  std::vector<WalChunkRef> chunks;
  for (size_t at = 0; at < bytes.size(); at += chunk_bytes) {
    chunks.push_back({start + at, bytes.subspan(at, std::min(chunk_bytes, bytes.size() - at))});
  }
  return StreamWal(chunks);
}

absl::StatusOr<WalAck> PageServerClient::StreamWal(std::span<const WalChunkRef> chunks,
                                                   std::optional<SourcePosition> source) {
  proto::StreamWalResponse response;
  RETURN_IF_ERROR(CallWithRetries([&](Stub& stub, grpc::ClientContext& context) {
    response.Clear();
    // One flush is often one small chunk: the call's headers go with its first message, and the
    // end of the stream with its last, so that a call is one round trip, not three.
    context.set_initial_metadata_corked(true);
    auto writer = stub.StreamWAL(&context, &response);
    proto::WalChunk message;
    message.set_writer_generation(writer_generation_.load());
    if (source) {
      message.set_source_end_lsn(source->end_lsn.value());
      message.set_source_lag_seconds(source->lag_seconds);
    }
    size_t written = 0;
    bool done = false;  // the last Write carried the end of the stream
    for (const WalChunkRef& chunk : chunks) {
      message.set_start_lsn(chunk.start.value());
      message.set_wal_data(chunk.bytes.data(), chunk.bytes.size());
      if (written + 1 == chunks.size()) {
        // WriteLast reports nothing: a failed call shows in Finish (and `written` counts the
        // chunk only when the call succeeds, below).
        writer->WriteLast(message, grpc::WriteOptions());
        done = true;
      } else if (!writer->Write(message)) {
        break;  // the call has failed: Finish says why
      }
      ++written;
    }
    if (chunks.empty() && source) {  // the heartbeat
      writer->WriteLast(message, grpc::WriteOptions());
      done = true;
    }
    if (!done) writer->WritesDone();
    absl::Status status = FromGrpcStatus(writer->Finish());
    if (status.ok() && written < chunks.size()) {
      return absl::DataLossError(absl::StrFormat(
          "the server acknowledged StreamWAL after %d of %d chunks; the first not received "
          "starts at LSN %d",
          written, chunks.size(), chunks[written].start.value()));
    }
    return status;
  }));
  WalAck ack{Lsn(response.last_record_lsn()), Lsn(response.received_lsn()),
             response.bytes_stored()};
  if (ack.last_record_lsn > ack.received_lsn) {
    return absl::DataLossError(
        absl::StrFormat("StreamWAL answer: last_record_lsn %d is beyond received_lsn %d",
                        ack.last_record_lsn.value(), ack.received_lsn.value()));
  }
  return ack;
}

absl::StatusOr<uint32_t> PageServerClient::GetTablespaceSize(SpaceId space, Lsn lsn) {
  proto::TablespaceSizeRequest request;
  request.set_space_id(space.value());
  request.set_lsn(lsn.value());
  proto::TablespaceSizeResponse response;
  RETURN_IF_ERROR(CallWithRetries([&](Stub& stub, grpc::ClientContext& context) {
    response.Clear();
    return FromGrpcStatus(stub.GetTablespaceSize(&context, request, &response));
  }));
  if (response.space_id() != space.value()) {
    return absl::DataLossError(
        absl::StrFormat("asked for the size of tablespace %d at LSN %d, the server answered "
                        "about tablespace %d",
                        space.value(), lsn.value(), response.space_id()));
  }
  return response.pages();
}

absl::StatusOr<TablespaceList> PageServerClient::ListTablespaces(Lsn lsn) {
  proto::ListTablespacesRequest request;
  request.set_lsn(lsn.value());
  proto::ListTablespacesResponse response;
  RETURN_IF_ERROR(CallWithRetries([&](Stub& stub, grpc::ClientContext& context) {
    response.Clear();
    return FromGrpcStatus(stub.ListTablespaces(&context, request, &response));
  }));
  TablespaceList list{Lsn(response.lsn()), {}};
  for (const auto& t : response.tablespaces()) list.tablespaces.push_back(FromProto(t));
  return list;
}

absl::StatusOr<ServerStatus> PageServerClient::GetStatus() {
  proto::StatusResponse response;
  RETURN_IF_ERROR(CallWithRetries([&](Stub& stub, grpc::ClientContext& context) {
    response.Clear();
    return FromGrpcStatus(stub.GetStatus(&context, proto::StatusRequest(), &response));
  }));
  return ServerStatus{Lsn(response.base_lsn()),
                      Lsn(response.last_record_lsn()),
                      Lsn(response.durable_lsn()),
                      Lsn(response.received_lsn()),
                      Lsn(response.disk_consistent_lsn()),
                      response.image_layers(),
                      response.delta_layers(),
                      response.in_memory_bytes(),
                      response.tablespaces(),
                      response.writer_generation(),
                      response.writer_holder(),
                      Lsn(response.remote_consistent_lsn()),
                      response.wal_syncs(),
                      Lsn(response.gc_cutoff_lsn())};
}

absl::StatusOr<Lsn> PageServerClient::TruncateWal(Lsn lsn) {
  proto::TruncateWalRequest request;
  request.set_writer_generation(writer_generation_.load());
  request.set_lsn(lsn.value());
  proto::TruncateWalResponse response;
  RETURN_IF_ERROR(CallWithRetries([&](Stub& stub, grpc::ClientContext& context) {
    response.Clear();
    return FromGrpcStatus(stub.TruncateWal(&context, request, &response));
  }));
  return Lsn(response.last_record_lsn());
}

absl::StatusOr<WriterGrant> PageServerClient::AcquireWriter(const std::string& holder) {
  proto::AcquireWriterRequest request;
  request.set_holder(holder);
  proto::AcquireWriterResponse response;
  // Retried like every call: a retry after a lost answer takes one more generation, which fences
  // the lost one; the client keeps the last generation it was granted.
  RETURN_IF_ERROR(CallWithRetries([&](Stub& stub, grpc::ClientContext& context) {
    response.Clear();
    return FromGrpcStatus(stub.AcquireWriter(&context, request, &response));
  }));
  writer_generation_.store(response.generation());
  return WriterGrant{response.generation(), Lsn(response.last_record_lsn())};
}

absl::Status PageServerClient::PutAuxFile(const std::string& path, Lsn lsn,
                                          std::span<const uint8_t> content) {
  return PutAuxVersion(path, lsn, content, /*deleted=*/false);
}

absl::Status PageServerClient::DeleteAuxFile(const std::string& path, Lsn lsn) {
  return PutAuxVersion(path, lsn, {}, /*deleted=*/true);
}

absl::Status PageServerClient::PutAuxVersion(const std::string& path, Lsn lsn,
                                             std::span<const uint8_t> content, bool deleted) {
  proto::PutAuxFileRequest request;
  request.set_path(path);
  request.set_lsn(lsn.value());
  request.set_content(content.data(), content.size());
  request.set_deleted(deleted);
  request.set_writer_generation(writer_generation_.load());
  proto::PutAuxFileResponse response;
  return CallWithRetries([&](Stub& stub, grpc::ClientContext& context) {
    return FromGrpcStatus(stub.PutAuxFile(&context, request, &response));
  });
}

absl::StatusOr<AuxFile> PageServerClient::GetAuxFile(const std::string& path, Lsn lsn) {
  proto::GetAuxFileRequest request;
  request.set_path(path);
  request.set_lsn(lsn.value());
  proto::GetAuxFileResponse response;
  RETURN_IF_ERROR(CallWithRetries([&](Stub& stub, grpc::ClientContext& context) {
    response.Clear();
    return FromGrpcStatus(stub.GetAuxFile(&context, request, &response));
  }));
  const std::string& c = response.content();
  return AuxFile{response.path(), Lsn(response.lsn()), c.size(),
                 std::vector<uint8_t>(c.begin(), c.end())};
}

absl::StatusOr<std::vector<AuxFile>> PageServerClient::ListAuxFiles(Lsn lsn) {
  proto::ListAuxFilesRequest request;
  request.set_lsn(lsn.value());
  proto::ListAuxFilesResponse response;
  RETURN_IF_ERROR(CallWithRetries([&](Stub& stub, grpc::ClientContext& context) {
    response.Clear();
    return FromGrpcStatus(stub.ListAuxFiles(&context, request, &response));
  }));
  std::vector<AuxFile> out;
  for (const proto::AuxFileEntry& e : response.files()) {
    out.push_back(AuxFile{e.path(), Lsn(e.lsn()), e.size(), {}});
  }
  return out;
}

absl::StatusOr<Lsn> PageServerClient::Ping() {
  proto::PingResponse response;
  RETURN_IF_ERROR(CallWithRetries([&](Stub& stub, grpc::ClientContext& context) {
    response.Clear();
    return FromGrpcStatus(stub.Ping(&context, proto::PingRequest(), &response));
  }));
  return Lsn(response.last_record_lsn());
}

absl::StatusOr<std::unique_ptr<ImportWriter>> PageServerClient::Import(
    const ImportCatalog& catalog) {
  if (catalog.page_size == 0) return absl::InvalidArgumentError("import: page size 0");
  auto writer = std::make_unique<GrpcImportWriter>(*NextChannel().stub, catalog, options_);
  RETURN_IF_ERROR(writer->Start(catalog));
  return writer;
}

}  // namespace pageserver::client
