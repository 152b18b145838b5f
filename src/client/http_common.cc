#include "client/http_common.h"

#include <httplib.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace pageserver::client {
namespace {

using nlohmann::json;

absl::StatusCode CodeForHttpStatus(int http_status) {
  switch (http_status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
    case 412:
      return absl::StatusCode::kFailedPrecondition;
    case 416:
      return absl::StatusCode::kOutOfRange;
    case 503:
      return absl::StatusCode::kUnavailable;
    case 504:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return absl::StatusCode::kUnknown;
  }
}

// The error's "code": a code name ("OUT_OF_RANGE", as absl::StatusCodeToString writes it) or a
// number; nullopt when absent or neither.
std::optional<absl::StatusCode> CodeNamed(const json& answer) {
  constexpr int kLastCode = static_cast<int>(absl::StatusCode::kUnauthenticated);
  if (auto number = JsonUnsigned(answer, "code"); number && *number <= kLastCode) {
    return static_cast<absl::StatusCode>(*number);
  }
  auto it = answer.find("code");
  if (it == answer.end() || !it->is_string()) return std::nullopt;
  for (int i = 0; i <= kLastCode; ++i) {
    const auto code = static_cast<absl::StatusCode>(i);
    if (absl::StatusCodeToString(code) == it->get<std::string>()) return code;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::unique_ptr<httplib::Client>> ConnectHttp(
    const std::string& address, absl::Duration timeout, const std::string& who, std::string* url,
    const std::string& token, const auth::TlsFiles& tls) {
  if (address.empty()) return absl::InvalidArgumentError(who + ": the address is empty");
  const bool https = !tls.empty();
  if (address.find("://") == std::string::npos) {
    *url = (https ? "https://" : "http://") + address;
  } else if (https && address.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: TLS files were given, but the address %s is not https://", who, address));
  } else {
    *url = address;
  }
  if (https || address.rfind("https://", 0) == 0) {
    // Checked here, so that a wrong file is named rather than found by a failed handshake.
    absl::StatusOr<auth::TlsPems> pems = auth::LoadClientTls(tls);
    if (!pems.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat("%s: %s", who, pems.status().message()));
    }
  }
  auto http = std::make_unique<httplib::Client>(*url, tls.cert_path, tls.key_path);
  if (!http->is_valid()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: cannot use the address %s", who, address));
  }
  if (https) {
    http->set_ca_cert_path(tls.ca_path.c_str());
    http->enable_server_certificate_verification(true);
  }
  const auto t = absl::ToChronoMicroseconds(timeout);
  const time_t seconds = static_cast<time_t>(t.count() / 1000000);
  const time_t micros = static_cast<time_t>(t.count() % 1000000);
  http->set_connection_timeout(seconds, micros);
  http->set_read_timeout(seconds, micros);
  http->set_write_timeout(seconds, micros);
  http->set_keep_alive(true);
  // Headers and body go out in two writes: without this, Nagle holds the body back until the
  // server acknowledges the headers (a 40 ms delayed ACK per request).
  http->set_tcp_nodelay(true);
  if (!token.empty()) http->set_bearer_token_auth(token);
  return http;
}

std::string DescribeHttpFailure(httplib::Error error, std::string_view url) {
  std::string text = httplib::to_string(error);
  const bool https = url.rfind("https://", 0) == 0;
  switch (error) {
    case httplib::Error::SSLServerVerification:
      return text +
             " (the server's certificate is not signed by the --tls-ca CA, or names "
             "another host)";
    case httplib::Error::SSLConnection:
      return text + " (the TLS handshake failed: is the server's port TLS?)";
    case httplib::Error::Read:
    case httplib::Error::Write:
      return text + (https ? " (the connection closed: a server that requires client "
                             "certificates refuses a client without one the CA signed)"
                           : " (the connection closed: is the server's port TLS? then use "
                             "--tls-ca)");
    default:
      return text;
  }
}

std::optional<uint64_t> JsonUnsigned(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer() && it->get<int64_t>() >= 0) {
    return static_cast<uint64_t>(it->get<int64_t>());
  }
  uint64_t value;
  if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &value)) return value;
  return std::nullopt;
}

absl::Status StatusOfHttpAnswer(int http_status, std::string_view body, std::string_view what) {
  if (http_status == 200) return absl::OkStatus();
  std::string message(body.substr(0, 200));
  absl::StatusCode code = CodeForHttpStatus(http_status);
  json answer = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_object()) {
    auto error = answer.find("error");
    if (error != answer.end() && error->is_string()) message = error->get<std::string>();
    if (auto named = CodeNamed(answer); named) code = *named;
  }
  if (code == absl::StatusCode::kOk) code = absl::StatusCode::kUnknown;
  return absl::Status(code, absl::StrFormat("%s: HTTP %d: %s", what, http_status, message));
}

}  // namespace pageserver::client
