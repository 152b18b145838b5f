// page_server: the original client interface of the page server (init, shutdown, is_enabled,
// get_page, get_pages_batch, stream_wal, ping), kept for the code written against it. Each
// function works on one process-wide PageServerClient (client/page_server_client.h, which
// says how calls are pooled, timed and retried): init creates it, shutdown destroys it. Before
// init, or after shutdown, every call fails with FailedPrecondition.
//
// Thread-safety: every function may be called from any thread. A call already running when
// shutdown is called finishes on the client it started with; the client is destroyed when the
// last such call returns.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/page_server_client.h"
#include "common/types.h"

namespace pageserver::page_server {

// Creates the process-wide client for `address` ("host:port"; overrides options.address). Does
// not wait for the server: use ping() for that. FailedPrecondition when already initialised;
// InvalidArgument for unusable options (and then is_enabled() stays false).
absl::Status init(const std::string& address, client::Options options = {});
// Destroys the process-wide client; does nothing when there is none.
void shutdown();
// Whether init succeeded and shutdown has not been called since.
bool is_enabled();

absl::StatusOr<client::Page> get_page(SpaceId space, PageNo page, Lsn lsn);
// The outer status is the call's; each answer carries its page's own error.
absl::StatusOr<std::vector<client::PageOrError>> get_pages_batch(
    std::span<const client::PageRequest> requests);
// Redo bytes whose first byte is at `start_lsn`, in chunks of at most `chunk_bytes`.
absl::StatusOr<client::WalAck> stream_wal(Lsn start_lsn, std::span<const uint8_t> bytes,
                                          size_t chunk_bytes = size_t{1} << 20);
// The server's last_record_lsn.
absl::StatusOr<Lsn> ping();

}  // namespace pageserver::page_server
