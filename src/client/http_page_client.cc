#include "client/http_page_client.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "client/page_check.h"

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

// An unsigned field that may be a JSON number or a decimal string; nullopt when absent or
// unusable.
std::optional<uint64_t> Unsigned(const json& object, const char* name) {
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

// The error's "code": a code name ("OUT_OF_RANGE", as absl::StatusCodeToString writes it) or a
// number; nullopt when absent or neither.
std::optional<absl::StatusCode> CodeNamed(const json& answer) {
  constexpr int kLastCode = static_cast<int>(absl::StatusCode::kUnauthenticated);
  if (auto number = Unsigned(answer, "code"); number && *number <= kLastCode) {
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

std::string GetPageRequestJson(const PageRequest& request) {
  return json{{"space_id", request.id.space.value()},
              {"page_no", request.id.page.value()},
              {"lsn", request.lsn.value()}}
      .dump();
}

absl::StatusOr<Page> ParseGetPageAnswer(int http_status, std::string_view body,
                                        const PageRequest& request, uint32_t page_size) {
  const std::string what =
      absl::StrFormat("HTTP get_page %s at LSN %d", ToString(request.id), request.lsn.value());
  json answer = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (http_status != 200) {
    std::string message = std::string(body.substr(0, 200));
    absl::StatusCode code = CodeForHttpStatus(http_status);
    if (answer.is_object()) {
      auto error = answer.find("error");
      if (error != answer.end() && error->is_string()) message = error->get<std::string>();
      if (auto named = CodeNamed(answer); named) code = *named;
    }
    if (code == absl::StatusCode::kOk) code = absl::StatusCode::kUnknown;
    return absl::Status(code, absl::StrFormat("%s: HTTP %d: %s", what, http_status, message));
  }
  if (!answer.is_object()) {
    return absl::DataLossError(absl::StrFormat("%s: the answer is not a JSON object", what));
  }
  auto data = answer.find("page_data");
  if (data == answer.end() || !data->is_string()) {
    return absl::DataLossError(absl::StrFormat("%s: the answer has no \"page_data\" string", what));
  }
  std::string bytes;
  if (!absl::Base64Unescape(data->get<std::string>(), &bytes)) {
    return absl::DataLossError(absl::StrFormat("%s: \"page_data\" is not base64", what));
  }
  const auto space = Unsigned(answer, "space_id");
  const auto page_no = Unsigned(answer, "page_no");
  if (!space || !page_no || *space > UINT32_MAX || *page_no > UINT32_MAX) {
    return absl::DataLossError(
        absl::StrFormat("%s: the answer lacks a valid \"space_id\" and \"page_no\"", what));
  }
  Page page;
  page.id = {SpaceId(static_cast<uint32_t>(*space)), PageNo(static_cast<uint32_t>(*page_no))};
  page.lsn = Lsn(Unsigned(answer, "lsn").value_or(0));
  page.data.assign(bytes.begin(), bytes.end());
  auto freed = answer.find("freed");
  page.freed = freed != answer.end() && freed->is_boolean() && freed->get<bool>();
  page.records_applied = static_cast<uint32_t>(
      std::min<uint64_t>(Unsigned(answer, "records_applied").value_or(0), UINT32_MAX));
  auto checked = CheckPage(request, std::move(page), page_size);
  if (!checked.ok()) {
    return absl::Status(checked.status().code(),
                        absl::StrFormat("HTTP: %s", checked.status().message()));
  }
  return checked;
}

HttpPageClient::HttpPageClient(std::string address, uint32_t page_size)
    : address_(std::move(address)), page_size_(page_size) {}
HttpPageClient::~HttpPageClient() = default;

absl::StatusOr<std::unique_ptr<HttpPageClient>> HttpPageClient::Create(const std::string& address,
                                                                       absl::Duration timeout,
                                                                       uint32_t page_size) {
  if (address.empty()) return absl::InvalidArgumentError("HTTP page client: the address is empty");
  std::string url = address.find("://") == std::string::npos ? "http://" + address : address;
  std::unique_ptr<HttpPageClient> client(new HttpPageClient(url, page_size));
  client->http_ = std::make_unique<httplib::Client>(url);
  if (!client->http_->is_valid()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("HTTP page client: cannot use the address %s", address));
  }
  const auto t = absl::ToChronoMicroseconds(timeout);
  const time_t seconds = static_cast<time_t>(t.count() / 1000000);
  const time_t micros = static_cast<time_t>(t.count() % 1000000);
  client->http_->set_connection_timeout(seconds, micros);
  client->http_->set_read_timeout(seconds, micros);
  client->http_->set_write_timeout(seconds, micros);
  client->http_->set_keep_alive(true);
  // Headers and body go out in two writes: without this, Nagle holds the body back until the
  // server acknowledges the headers (a 40 ms delayed ACK per request).
  client->http_->set_tcp_nodelay(true);
  return client;
}

absl::StatusOr<Page> HttpPageClient::GetPage(PageId id, Lsn lsn) {
  const PageRequest request{id, lsn};
  auto result = http_->Post("/api/v1/get_page", GetPageRequestJson(request), "application/json");
  if (!result) {
    return absl::UnavailableError(absl::StrFormat("HTTP get_page %s at LSN %d from %s: %s",
                                                  ToString(id), lsn.value(), address_,
                                                  httplib::to_string(result.error())));
  }
  return ParseGetPageAnswer(result->status, result->body, request, page_size_);
}

}  // namespace pageserver::client
