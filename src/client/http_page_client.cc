#include "client/http_page_client.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "client/http_common.h"
#include "client/page_check.h"

namespace pageserver::client {

using nlohmann::json;

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
  if (absl::Status s = StatusOfHttpAnswer(http_status, body, what); !s.ok()) return s;
  json answer = json::parse(body, nullptr, /*allow_exceptions=*/false);
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
  const auto space = JsonUnsigned(answer, "space_id");
  const auto page_no = JsonUnsigned(answer, "page_no");
  if (!space || !page_no || *space > UINT32_MAX || *page_no > UINT32_MAX) {
    return absl::DataLossError(
        absl::StrFormat("%s: the answer lacks a valid \"space_id\" and \"page_no\"", what));
  }
  Page page;
  page.id = {SpaceId(static_cast<uint32_t>(*space)), PageNo(static_cast<uint32_t>(*page_no))};
  page.lsn = Lsn(JsonUnsigned(answer, "lsn").value_or(0));
  page.data.assign(bytes.begin(), bytes.end());
  auto freed = answer.find("freed");
  page.freed = freed != answer.end() && freed->is_boolean() && freed->get<bool>();
  page.records_applied = static_cast<uint32_t>(
      std::min<uint64_t>(JsonUnsigned(answer, "records_applied").value_or(0), UINT32_MAX));
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
                                                                       uint32_t page_size,
                                                                       const std::string& token,
                                                                       const auth::TlsFiles& tls) {
  std::string url;
  auto http = ConnectHttp(address, timeout, "HTTP page client", &url, token, tls);
  if (!http.ok()) return http.status();
  std::unique_ptr<HttpPageClient> client(new HttpPageClient(url, page_size));
  client->http_ = *std::move(http);
  return client;
}

absl::StatusOr<Page> HttpPageClient::GetPage(PageId id, Lsn lsn) {
  const PageRequest request{id, lsn};
  auto result = http_->Post("/api/v1/get_page", GetPageRequestJson(request), "application/json");
  if (!result) {
    return absl::UnavailableError(absl::StrFormat("HTTP get_page %s at LSN %d from %s: %s",
                                                  ToString(id), lsn.value(), address_,
                                                  DescribeHttpFailure(result.error(), address_)));
  }
  return ParseGetPageAnswer(result->status, result->body, request, page_size_);
}

}  // namespace pageserver::client
