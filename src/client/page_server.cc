#include "client/page_server.h"

#include <memory>
#include <mutex>

#include "common/status_macros.h"

namespace pageserver::page_server {
namespace {

struct State {
  std::mutex mu;
  std::shared_ptr<client::PageServerClient> client;
};

// Never destroyed: a client torn down by static destructors could outlive gRPC's own globals.
State& GlobalState() {
  static State* state = new State;
  return *state;
}

absl::StatusOr<std::shared_ptr<client::PageServerClient>> Current() {
  State& state = GlobalState();
  std::lock_guard lock(state.mu);
  if (!state.client) {
    return absl::FailedPreconditionError(
        "page_server: not initialised (call page_server::init first)");
  }
  return state.client;
}

}  // namespace

absl::Status init(const std::string& address, client::Options options) {
  options.address = address;
  State& state = GlobalState();
  std::lock_guard lock(state.mu);
  if (state.client) {
    return absl::FailedPreconditionError("page_server: already initialised for " +
                                         state.client->options().address +
                                         " (call page_server::shutdown first)");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<client::PageServerClient> created,
                   client::PageServerClient::Create(options));
  state.client = std::move(created);
  return absl::OkStatus();
}

void shutdown() {
  std::shared_ptr<client::PageServerClient> old;
  State& state = GlobalState();
  {
    std::lock_guard lock(state.mu);
    old = std::move(state.client);
  }
  // `old` is released here, outside the lock: destroying channels may take a while.
}

bool is_enabled() {
  State& state = GlobalState();
  std::lock_guard lock(state.mu);
  return state.client != nullptr;
}

absl::StatusOr<client::Page> get_page(SpaceId space, PageNo page, Lsn lsn) {
  ASSIGN_OR_RETURN(auto c, Current());
  return c->GetPage({space, page}, lsn);
}

absl::StatusOr<std::vector<client::PageOrError>> get_pages_batch(
    std::span<const client::PageRequest> requests) {
  ASSIGN_OR_RETURN(auto c, Current());
  return c->GetPages(requests);
}

absl::StatusOr<client::WalAck> stream_wal(Lsn start_lsn, std::span<const uint8_t> bytes,
                                          size_t chunk_bytes) {
  ASSIGN_OR_RETURN(auto c, Current());
  return c->StreamWal(start_lsn, bytes, chunk_bytes);
}

absl::StatusOr<Lsn> ping() {
  ASSIGN_OR_RETURN(auto c, Current());
  return c->Ping();
}

}  // namespace pageserver::page_server
