#include "client/timelines_api_client.h"

#include <httplib.h>

#include <cstring>

#include "absl/strings/str_format.h"
#include "client/http_common.h"
#include "nlohmann/json.hpp"

namespace pageserver::client {
namespace {

using nlohmann::json;

absl::StatusOr<json> ParseObject(const std::string& body, const std::string& what) {
  json answer = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object()) {
    return absl::DataLossError(absl::StrFormat("%s: the answer is not a JSON object", what));
  }
  return answer;
}

absl::StatusOr<TimelineDescription> Describe(const json& t, const std::string& what) {
  auto text = [&t](const char* name) {
    auto it = t.find(name);
    return it != t.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  TimelineDescription d;
  d.name = text("name");
  d.timeline_id = text("timeline_id");
  d.ancestor = text("ancestor");
  d.ancestor_lsn = Lsn(JsonUnsigned(t, "ancestor_lsn").value_or(0));
  d.base_lsn = Lsn(JsonUnsigned(t, "base_lsn").value_or(0));
  d.last_record_lsn = Lsn(JsonUnsigned(t, "last_record_lsn").value_or(0));
  d.gc_cutoff_lsn = Lsn(JsonUnsigned(t, "gc_cutoff_lsn").value_or(0));
  d.layer_bytes = JsonUnsigned(t, "layer_bytes").value_or(0);
  if (d.name.empty() || d.timeline_id.empty()) {
    return absl::DataLossError(absl::StrFormat("%s: a timeline without a name or an id", what));
  }
  return d;
}

}  // namespace

TimelinesApiClient::TimelinesApiClient(std::string url) : url_(std::move(url)) {}
TimelinesApiClient::~TimelinesApiClient() = default;

absl::StatusOr<std::unique_ptr<TimelinesApiClient>> TimelinesApiClient::Create(
    const std::string& address, const std::string& token, const auth::TlsFiles& tls,
    absl::Duration timeout) {
  std::string url;
  auto http = ConnectHttp(address, timeout, "timelines API", &url, token, tls);
  if (!http.ok()) return http.status();
  std::unique_ptr<TimelinesApiClient> client(new TimelinesApiClient(url));
  client->http_ = *std::move(http);
  return client;
}

absl::StatusOr<std::string> TimelinesApiClient::Call(const char* method, const std::string& path,
                                                     const std::string& body) {
  const std::string what = absl::StrFormat("%s %s%s", method, url_, path);
  httplib::Result r = std::strcmp(method, "GET") == 0      ? http_->Get(path)
                      : std::strcmp(method, "DELETE") == 0 ? http_->Delete(path)
                                                           : http_->Post(path, body, "application/json");
  if (!r) {
    return absl::UnavailableError(
        absl::StrFormat("%s: %s", what, DescribeHttpFailure(r.error(), url_)));
  }
  if (absl::Status s = StatusOfHttpAnswer(r->status, r->body, what); !s.ok()) return s;
  return r->body;
}

absl::StatusOr<TimelineDescription> TimelinesApiClient::CreateBranch(const NewBranch& branch) {
  json body = {{"name", branch.name}, {"from", branch.from}};
  if (branch.lsn.value() != 0) body["lsn"] = branch.lsn.value();
  if (!branch.at.empty()) body["at"] = branch.at;
  const std::string what = "creating timeline " + branch.name;
  absl::StatusOr<std::string> answer = Call("POST", "/api/v1/timelines", body.dump());
  if (!answer.ok()) return answer.status();
  absl::StatusOr<json> made = ParseObject(*answer, what);
  if (!made.ok()) return made.status();
  return Describe(*made, what);
}

absl::StatusOr<std::vector<TimelineDescription>> TimelinesApiClient::List() {
  const std::string what = "listing timelines";
  absl::StatusOr<std::string> answer = Call("GET", "/api/v1/timelines");
  if (!answer.ok()) return answer.status();
  absl::StatusOr<json> listed = ParseObject(*answer, what);
  if (!listed.ok()) return listed.status();
  auto timelines = listed->find("timelines");
  if (timelines == listed->end() || !timelines->is_array()) {
    return absl::DataLossError(what + ": the answer has no \"timelines\" array");
  }
  std::vector<TimelineDescription> out;
  for (const json& t : *timelines) {
    absl::StatusOr<TimelineDescription> d = Describe(t, what);
    if (!d.ok()) return d.status();
    out.push_back(*std::move(d));
  }
  return out;
}

absl::Status TimelinesApiClient::Delete(const std::string& name, bool cascade) {
  return Call("DELETE", "/api/v1/timelines/" + name + (cascade ? "?cascade=true" : "?cascade=false"))
      .status();
}

}  // namespace pageserver::client
