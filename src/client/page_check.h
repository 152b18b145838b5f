// Checks of a page answer against the request it answers, shared by the gRPC and the HTTP
// clients. An answer that does not fit is DataLoss naming the page and the LSN. Pure; thread-safe.
#pragma once

#include "absl/status/statusor.h"
#include "client/page_server_client.h"

namespace pageserver::client {

// `page` as decoded from the answer. Returns it when it is about request.id, was read at
// request.lsn (when one was asked; an LSN the server left out is taken to be the one asked) and
// holds page_size bytes (or none, for a freed page).
absl::StatusOr<Page> CheckPage(const PageRequest& request, Page page, uint32_t page_size);

}  // namespace pageserver::client
