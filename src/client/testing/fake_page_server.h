// Test-only: an in-process pageserver.PageServer on a free localhost port whose answers the
// test scripts: pages made from their id, a number of UNAVAILABLE failures before answering,
// a fixed error, malformed answers. It records what it received. Header-only.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proto/page_service.grpc.pb.h"

namespace pageserver::client::testing {

// A recognisable page: every byte derived from (space, page, lsn).
inline std::string FakePageBytes(uint32_t space, uint32_t page, uint64_t lsn, size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<char>((space * 31 + page * 7 + lsn + i) & 0xFF);
  }
  return bytes;
}

class FakePageServer final : public ::pageserver::PageServer::Service {
 public:
  // Scripted behaviour, set before the calls.
  std::atomic<int> fail_unavailable{0};   // the next N calls fail with UNAVAILABLE
  grpc::Status error = grpc::Status::OK;  // then every call fails with this
  size_t page_size = 16384;               // size of the pages answered
  bool wrong_page = false;                // answer about page + 1
  int drop_batch_answers = 0;             // GetPages answers this many pages too few
  uint32_t tablespace_pages = 100;
  uint64_t last_record_lsn = 5000;

  // Observed.
  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<::pageserver::WalChunk> wal_chunks;
  std::vector<::pageserver::ImportChunk> import_chunks;

  FakePageServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakePageServer() override { server_->Shutdown(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  grpc::Status GetPage(grpc::ServerContext*, const ::pageserver::GetPageRequest* request,
                       ::pageserver::GetPageResponse* response) override {
    if (auto s = Begin(); !s.ok()) return s;
    Answer(*request, response);
    return grpc::Status::OK;
  }

  grpc::Status GetPages(grpc::ServerContext*, const ::pageserver::GetPagesRequest* request,
                        ::pageserver::GetPagesResponse* response) override {
    if (auto s = Begin(); !s.ok()) return s;
    for (int i = 0; i + drop_batch_answers < request->pages_size(); ++i) {
      const auto& r = request->pages(i);
      auto* out = response->add_pages();
      if (r.page_no() >= tablespace_pages) {
        out->mutable_error()->set_code(grpc::StatusCode::OUT_OF_RANGE);
        out->mutable_error()->set_message("page past the end");
        continue;
      }
      Answer(r, out);
    }
    return grpc::Status::OK;
  }

  grpc::Status StreamGetPages(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<::pageserver::GetPageResponse, ::pageserver::GetPageRequest>* stream)
      override {
    if (auto s = Begin(); !s.ok()) return s;
    ::pageserver::GetPageRequest request;
    while (stream->Read(&request)) {
      ::pageserver::GetPageResponse response;
      Answer(request, &response);
      if (!stream->Write(response)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status StreamWAL(grpc::ServerContext*, grpc::ServerReader<::pageserver::WalChunk>* reader,
                         ::pageserver::StreamWalResponse* response) override {
    if (auto s = Begin(); !s.ok()) return s;
    ::pageserver::WalChunk chunk;
    uint64_t end = 0, bytes = 0;
    while (reader->Read(&chunk)) {
      end = chunk.start_lsn() + chunk.wal_data().size();
      bytes += chunk.wal_data().size();
      std::lock_guard lock(mu);
      wal_chunks.push_back(chunk);
    }
    response->set_received_lsn(end);
    response->set_last_record_lsn(end);
    response->set_bytes_stored(bytes);
    return grpc::Status::OK;
  }

  grpc::Status GetTablespaceSize(grpc::ServerContext*,
                                 const ::pageserver::TablespaceSizeRequest* request,
                                 ::pageserver::TablespaceSizeResponse* response) override {
    if (auto s = Begin(); !s.ok()) return s;
    response->set_space_id(request->space_id());
    response->set_pages(tablespace_pages);
    return grpc::Status::OK;
  }

  grpc::Status Import(grpc::ServerContext*, grpc::ServerReader<::pageserver::ImportChunk>* reader,
                      ::pageserver::ImportResponse* response) override {
    if (auto s = Begin(); !s.ok()) return s;
    ::pageserver::ImportChunk chunk;
    uint64_t pages = 0, lsn = 0;
    while (reader->Read(&chunk)) {
      if (chunk.has_catalog()) lsn = chunk.catalog().lsn();
      pages += chunk.pages_size();
      std::lock_guard lock(mu);
      import_chunks.push_back(chunk);
    }
    response->set_lsn(lsn);
    response->set_pages(pages);
    return grpc::Status::OK;
  }

  grpc::Status GetStatus(grpc::ServerContext*, const ::pageserver::StatusRequest*,
                         ::pageserver::StatusResponse* response) override {
    if (auto s = Begin(); !s.ok()) return s;
    response->set_last_record_lsn(last_record_lsn);
    response->set_received_lsn(last_record_lsn);
    return grpc::Status::OK;
  }

  grpc::Status Ping(grpc::ServerContext*, const ::pageserver::PingRequest*,
                    ::pageserver::PingResponse* response) override {
    if (auto s = Begin(); !s.ok()) return s;
    response->set_last_record_lsn(last_record_lsn);
    return grpc::Status::OK;
  }

 private:
  grpc::Status Begin() {
    ++calls;
    if (fail_unavailable.load() > 0) {
      --fail_unavailable;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "scripted failure");
    }
    return error;
  }

  void Answer(const ::pageserver::GetPageRequest& r, ::pageserver::GetPageResponse* out) const {
    const uint32_t page = r.page_no() + (wrong_page ? 1 : 0);
    out->set_space_id(r.space_id());
    out->set_page_no(page);
    out->set_lsn(r.lsn() ? r.lsn() : last_record_lsn);
    out->set_page_data(FakePageBytes(r.space_id(), page, out->lsn(), page_size));
    out->set_records_applied(3);
  }

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace pageserver::client::testing
