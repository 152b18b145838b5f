// HttpPageClient: reads pages through the page server's HTTP JSON API instead of gRPC, for tools
// that check that API gives the same bytes.
//
//   POST /api/v1/get_page  {"space_id": S, "page_no": P, "lsn": L}
//   200 -> {"space_id": S, "page_no": P, "lsn": L, "page_data": "<base64>", "freed": false,
//           "records_applied": N}
//   otherwise -> {"error": "...", "code": "OUT_OF_RANGE"} (the code's name or number; either
//                field may be missing, and then the HTTP status gives the code)
// LSNs may be JSON numbers or decimal strings. Answers are checked as the gRPC client checks
// them (client/page_check.h).
//
// Thread-safety: one HttpPageClient per thread (cpp-httplib's client is not shared safely).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/page_server_client.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace pageserver::client {

class HttpPageClient {
 public:
  // `address`: "host:port", "http://host:port" or "https://host:port". `timeout` bounds
  // connect, send and receive. `token` and `tls` as in client/http_common.h.
  static absl::StatusOr<std::unique_ptr<HttpPageClient>> Create(
      const std::string& address, absl::Duration timeout = absl::Seconds(30),
      uint32_t page_size = kDefaultPageSize, const std::string& token = "",
      const auth::TlsFiles& tls = {});
  ~HttpPageClient();

  absl::StatusOr<Page> GetPage(PageId id, Lsn lsn);

 private:
  HttpPageClient(std::string address, uint32_t page_size);

  std::string address_;
  uint32_t page_size_;
  std::unique_ptr<httplib::Client> http_;
};

// The request body for `request`.
std::string GetPageRequestJson(const PageRequest& request);
// Decodes a get_page answer: `http_status` and `body`, for `request`.
absl::StatusOr<Page> ParseGetPageAnswer(int http_status, std::string_view body,
                                        const PageRequest& request, uint32_t page_size);

}  // namespace pageserver::client
