// What the clients of the page server's HTTP JSON API share: a connection, and reading its
// answers. An error answer is {"error": "...", "code": "OUT_OF_RANGE"} (the code's name or number); either field
// may be missing, and then the HTTP status gives the code. Numbers may come as JSON numbers or
// decimal strings.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "auth/tls.h"
#include "nlohmann/json.hpp"

namespace httplib {
class Client;
enum class Error;
}  // namespace httplib

namespace pageserver::client {

// A client of `address` ("host:port", "http://host:port" or "https://host:port"; `url` receives
// the full form) whose connect, send and receive are bounded by `timeout`, with keep-alive and
// TCP_NODELAY, and `token` (when given) in every request's "authorization: Bearer" header.
// With `tls` (auth/tls.h), HTTPS: the server's certificate checked against its CA and the
// host, and the client's certificate sent when given. InvalidArgument naming `who` for an empty
// or unusable address or TLS file.
absl::StatusOr<std::unique_ptr<httplib::Client>> ConnectHttp(const std::string& address,
                                                             absl::Duration timeout,
                                                             const std::string& who,
                                                             std::string* url,
                                                             const std::string& token = "",
                                                             const auth::TlsFiles& tls = {});

// What a request that got no answer ran into, for an error message: httplib's name of `error`,
// and for HTTPS what usually causes it (a wrong CA, a missing client certificate).
std::string DescribeHttpFailure(httplib::Error error, std::string_view url);

// An unsigned field that may be a JSON number or a decimal string; nullopt when absent or
// unusable.
std::optional<uint64_t> JsonUnsigned(const nlohmann::json& object, const char* name);

// OK for HTTP 200; otherwise the answer's error as a status whose message starts with `what`.
absl::Status StatusOfHttpAnswer(int http_status, std::string_view body, std::string_view what);

}  // namespace pageserver::client
