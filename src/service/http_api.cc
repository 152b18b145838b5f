#include "service/http_api.h"

#include <httplib.h>
#include <netinet/tcp.h>

#include <charconv>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "service/request_auth.h"

namespace pageserver::service {
namespace {

using nlohmann::json;

constexpr char kJsonType[] = "application/json";
// Bigger than any sensible stream_wal call (a few MiB of WAL in base64), small enough that a
// stray upload cannot exhaust memory.
constexpr size_t kMaxBodyBytes = size_t{64} << 20;

// Never throws: invalid UTF-8 (say, in a path from the catalog) is replaced, not an exception.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void SetError(httplib::Response& res, const absl::Status& status) {
  res.status = HttpStatusFor(status.code());
  json body = {{"error", std::string(status.message())},
               {"code", absl::StatusCodeToString(status.code())}};
  res.set_content(Dump(body), kJsonType);
}

// A decimal integer, all of `text`, at most `max`.
absl::StatusOr<uint64_t> ParseDecimal(std::string_view name, const std::string& text,
                                      uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return absl::InvalidArgumentError(std::string(name) + " must be a non-negative decimal " +
                                      "integer, not '" + text + "'");
  }
  if (value > max) {
    return absl::InvalidArgumentError(std::string(name) + " " + text + " is too large (max " +
                                      std::to_string(max) + ")");
  }
  return value;
}

// A field of a JSON object: absent or null is nullopt; otherwise a non-negative integer (a JSON
// number or a decimal string) no larger than `max`.
absl::StatusOr<std::optional<uint64_t>> OptionalUint(const json& body, const char* name,
                                                     uint64_t max) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (it->is_number_unsigned()) {
    uint64_t value = it->get<uint64_t>();
    if (value > max) {
      return absl::InvalidArgumentError(std::string(name) + " " + std::to_string(value) +
                                        " is too large (max " + std::to_string(max) + ")");
    }
    return value;
  }
  if (it->is_string()) return ParseDecimal(name, it->get<std::string>(), max);
  return absl::InvalidArgumentError(std::string(name) + " must be a non-negative integer, not " +
                                    Dump(*it));
}

absl::StatusOr<uint64_t> RequiredUint(const json& body, const char* name, uint64_t max) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> value, OptionalUint(body, name, max));
  if (!value.has_value()) return absl::InvalidArgumentError(std::string("missing field ") + name);
  return *value;
}

absl::StatusOr<json> ParseObject(const std::string& text) {
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return absl::InvalidArgumentError("the body is not valid JSON");
  if (!body.is_object()) return absl::InvalidArgumentError("the body must be a JSON object");
  return body;
}

absl::StatusOr<std::optional<uint64_t>> OptionalQueryUint(const httplib::Request& req,
                                                          const char* name, uint64_t max) {
  if (!req.has_param(name)) return std::nullopt;
  ASSIGN_OR_RETURN(uint64_t value, ParseDecimal(name, req.get_param_value(name), max));
  return value;
}

constexpr uint64_t kMaxU32 = 0xFFFFFFFFu;
constexpr uint64_t kMaxU64 = ~uint64_t{0};

// Status codes for httplib's own errors (unknown path, oversized body, unparsable request).
// The timeline a request names: `"timeline"` in its JSON body, else `?timeline=`; main without.
absl::StatusOr<std::shared_ptr<storage::Timeline>> TimelineOf(
    const tenant::TimelineResolver& timelines, const httplib::Request& req,
    const json* body = nullptr) {
  if (body != nullptr) {
    if (auto it = body->find("timeline"); it != body->end()) {
      if (!it->is_string()) return absl::InvalidArgumentError("timeline must be a string");
      return timelines.Get(it->get<std::string>());
    }
  }
  return timelines.Get(req.has_param("timeline") ? req.get_param_value("timeline") : "");
}

// A time as an operator writes it: "YYYY-MM-DD HH:MM:SS" in UTC, or RFC 3339.
absl::StatusOr<absl::Time> ParseWhen(const std::string& text) {
  absl::Time t;
  std::string error;
  if (absl::ParseTime("%Y-%m-%d %H:%M:%S", text, absl::UTCTimeZone(), &t, &error) ||
      absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return t;
  }
  return absl::InvalidArgumentError("at: \"" + text +
                                    "\" is no time (YYYY-MM-DD HH:MM:SS in UTC, or RFC 3339)");
}

absl::StatusCode CodeForHttpStatus(int status) {
  switch (status) {
    case 404:
      return absl::StatusCode::kNotFound;
    case 413:
      return absl::StatusCode::kResourceExhausted;
    case 405:
      return absl::StatusCode::kUnimplemented;
    default:
      return status < 500 ? absl::StatusCode::kInvalidArgument : absl::StatusCode::kInternal;
  }
}

}  // namespace

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:  // kDataLoss, kInternal, kUnknown, kCancelled
      return 500;
  }
}

HttpApi::HttpApi(tenant::TimelineResolver& timelines, PageServerMetrics& metrics,
                 ServiceOptions options, tenant::Tenant* tenant)
    : timelines_(timelines),
      tenant_(tenant),
      metrics_(metrics),
      options_(options),
      server_(std::make_unique<httplib::Server>()) {
  Configure();
}

absl::Status HttpApi::UseTls(const auth::TlsFiles& files) {
  absl::StatusOr<auth::TlsPems> checked = auth::LoadServerTls(files);
  if (!checked.ok()) return checked.status();
  auto tls = std::make_unique<httplib::SSLServer>(
      files.cert_path.c_str(), files.key_path.c_str(),
      files.ca_path.empty() ? nullptr : files.ca_path.c_str());
  if (!tls->is_valid()) {
    return absl::InvalidArgumentError("HTTP: OpenSSL refused the certificate " + files.cert_path +
                                      " or the key " + files.key_path);
  }
  server_ = std::move(tls);
  Configure();
  return absl::OkStatus();
}

void HttpApi::Configure() {
  server_->set_payload_max_length(kMaxBodyBytes);
  // httplib's default also sets SO_REUSEPORT, which lets a second server bind the same port
  // and share its connections; a page server must find the port busy instead.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    // Answers go out whole at once; without this, Nagle + delayed ACK add ~40 ms to each.
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  server_->set_tcp_nodelay(true);
  // httplib closes a kept-alive connection after 5 requests by default; with TLS every new
  // connection is a handshake (an RSA signature), which made HTTPS reads 10x slower.
  server_->set_keep_alive_max_count(10000);
  Route();
}

HttpApi::~HttpApi() { Stop(); }

// The followed MariaDB as its follower last reported it (pagectl follow), or null.
json HttpApi::SourceJson(const storage::TimelineStatus& s) const {
  const double end = metrics_.source_end_lsn().Value();
  if (end == 0) return nullptr;
  const uint64_t end_lsn = static_cast<uint64_t>(end);
  const uint64_t stored = s.last_record_lsn.value();
  return json{{"end_lsn", end_lsn},
              {"lag_bytes", end_lsn > stored ? end_lsn - stored : 0},
              {"lag_seconds", metrics_.source_lag_seconds().Value()}};
}

absl::Status HttpApi::CheckToken(const httplib::Request& req, auth::Scope need) const {
  if (options_.auth == nullptr) return absl::OkStatus();
  std::string timeline = req.has_param("timeline") ? req.get_param_value("timeline") : "";
  if (timeline.empty() && !req.body.empty()) {
    const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_object()) {
      auto it = body.find("timeline");
      if (it != body.end() && it->is_string()) timeline = it->get<std::string>();
    }
  }
  return CheckRequestToken(options_.auth, metrics_, "http", req.get_header_value(kAuthorizationKey),
                           need, timeline);
}

void HttpApi::Route() {
  using Body = std::function<absl::StatusOr<json>(const httplib::Request&)>;
  // Counts the request, runs `body` and writes its answer or its error as JSON. Nothing a
  // client sends may take the server down, so an exception (a bug) is a 500, not a crash.
  // `need`: what the request's token must allow on its timeline, with auth on.
  auto json_handler = [this](std::string_view name, auth::Scope need,
                             Body body) -> httplib::Server::Handler {
    MethodMetrics m = metrics_.Http(name);
    return [this, m, need, body = std::move(body)](const httplib::Request& req,
                                                   httplib::Response& res) {
      m.requests->Increment();
      try {
        absl::Status allowed = CheckToken(req, need);
        absl::StatusOr<json> answer = allowed.ok() ? body(req) : allowed;
        if (answer.ok()) {
          res.status = 200;
          res.set_content(Dump(*answer), kJsonType);
        } else {
          SetError(res, answer.status());
        }
      } catch (const std::exception& e) {
        SetError(res, absl::InternalError(std::string("unexpected exception: ") + e.what()));
      }
      if (res.status >= 400) m.errors->Increment();
    };
  };
  auto deadline = [this]() { return absl::Now() + options_.read_wait_limit; };

  server_->Post(
      "/api/v1/get_page",
      json_handler(
          "get_page", auth::Scope::kRead,
          [this, deadline](const httplib::Request& req) -> absl::StatusOr<json> {
            ASSIGN_OR_RETURN(json body, ParseObject(req.body));
            ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                             TimelineOf(timelines_, req, &body));
            ASSIGN_OR_RETURN(uint64_t space, RequiredUint(body, "space_id", kMaxU32));
            ASSIGN_OR_RETURN(uint64_t page, RequiredUint(body, "page_no", kMaxU32));
            ASSIGN_OR_RETURN(std::optional<uint64_t> lsn, OptionalUint(body, "lsn", kMaxU64));
            PageId id{SpaceId(static_cast<uint32_t>(space)), PageNo(static_cast<uint32_t>(page))};
            ASSIGN_OR_RETURN(
                storage::PageVersion version,
                ReadPageMeasured(*timeline, metrics_, id, Lsn(lsn.value_or(0)), deadline()));
            std::string data;
            absl::Base64Escape(
                absl::string_view(reinterpret_cast<const char*>(version.image.data()),
                                  version.image.size()),
                &data);
            return json{{"space_id", space},          {"page_no", page},
                        {"lsn", version.lsn.value()}, {"page_data", std::move(data)},
                        {"freed", version.freed},     {"records_applied", version.records_applied}};
          }));

  server_->Post(
      "/api/v1/stream_wal",
      json_handler(
          "stream_wal", auth::Scope::kCompute,
          [this](const httplib::Request& req) -> absl::StatusOr<json> {
            ASSIGN_OR_RETURN(json body, ParseObject(req.body));
            ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                             TimelineOf(timelines_, req, &body));
            ASSIGN_OR_RETURN(uint64_t lsn, RequiredUint(body, "lsn", kMaxU64));
            auto it = body.find("wal_data");
            if (it == body.end() || !it->is_string()) {
              return absl::InvalidArgumentError("missing field wal_data (a base64 string)");
            }
            const std::string& encoded = it->get_ref<const std::string&>();
            std::string wal;
            if (!absl::Base64Unescape(absl::string_view(encoded.data(), encoded.size()), &wal)) {
              return absl::InvalidArgumentError("wal_data is not valid base64 (at LSN " +
                                                std::to_string(lsn) + ")");
            }
            metrics_.wal_received_bytes().Increment(wal.size());
            ASSIGN_OR_RETURN(
                storage::IngestResult result,
                IngestWalMeasured(*timeline, metrics_, storage::kNoWriterLease, Lsn(lsn),
                                  std::span<const uint8_t>(
                                      reinterpret_cast<const uint8_t*>(wal.data()), wal.size())));
            return json{{"last_record_lsn", result.last_record_lsn.value()},
                        {"received_lsn", result.received_lsn.value()},
                        {"bytes_stored", result.bytes_stored}};
          }));

  server_->Get("/api/v1/ping",
               json_handler("ping", auth::Scope::kRead,
                            [this](const httplib::Request& req) -> absl::StatusOr<json> {
                              ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                                               TimelineOf(timelines_, req));
                              return json{
                                  {"status", "ok"},
                                  {"last_record_lsn", timeline->Status().last_record_lsn.value()}};
                            }));

  // Until everything stored so far is in remote storage (the event a test or an operator waits
  // for before a restore): timeout_ms (default 600000) bounds the wait, 504 when it runs out;
  // OK at once without remote storage.
  server_->Get("/api/v1/wait_uploaded",
               json_handler("wait_uploaded", auth::Scope::kAdmin,
                            [this](const httplib::Request& req) -> absl::StatusOr<json> {
                              ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                                               TimelineOf(timelines_, req));
                              ASSIGN_OR_RETURN(std::optional<uint64_t> timeout_ms,
                                               OptionalQueryUint(req, "timeout_ms", kMaxU32));
                              RETURN_IF_ERROR(timeline->WaitUntilUploaded(
                                  absl::Now() + absl::Milliseconds(timeout_ms.value_or(600000))));
                              return json{{"remote_consistent_lsn",
                                           timeline->Status().remote_consistent_lsn.value()}};
                            }));

  // Flushes what the timeline holds in memory to layer files and waits for the background work
  // that follows (compaction, full image sets, GC), as Neon's timeline checkpoint does: for an
  // operator before a backup or a restart, and for tests, which wait for it instead of polling.
  server_->Put("/api/v1/checkpoint",
               json_handler("checkpoint", auth::Scope::kAdmin,
                            [this](const httplib::Request& req) -> absl::StatusOr<json> {
                              ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                                               TimelineOf(timelines_, req));
                              RETURN_IF_ERROR(timeline->Flush());
                              const storage::TimelineStatus s = timeline->Status();
                              return json{{"disk_consistent_lsn", s.disk_consistent_lsn.value()},
                                          {"gc_cutoff_lsn", s.gc_cutoff_lsn.value()},
                                          {"compactions", s.compactions}};
                            }));

  server_->Get("/api/v1/status",
               json_handler("status", auth::Scope::kRead,
                            [this](const httplib::Request& req) -> absl::StatusOr<json> {
                              ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                                               TimelineOf(timelines_, req));
                              storage::TimelineStatus s = timeline->Status();
                              return json{
                                  {"has_base", s.has_base},
                                  {"base_lsn", s.base_lsn.value()},
                                  {"last_record_lsn", s.last_record_lsn.value()},
                                  {"durable_lsn", s.durable_lsn.value()},
                                  {"received_lsn", s.received_lsn.value()},
                                  {"disk_consistent_lsn", s.disk_consistent_lsn.value()},
                                  {"remote_consistent_lsn", s.remote_consistent_lsn.value()},
                                  {"gc_cutoff_lsn", s.gc_cutoff_lsn.value()},
                                  {"full_image_sets", s.full_image_sets},
                                  {"wal_syncs", s.wal_syncs},
                                  {"image_layers", s.image_layers},
                                  {"delta_layers", s.delta_layers},
                                  {"level1_delta_layers", s.level1_delta_layers},
                                  {"compactions", s.compactions},
                                  {"materialized_pages", s.materialized_pages},
                                  {"materializations", s.materializations},
                                  {"image_layer_bytes", s.image_layer_bytes},
                                  {"delta_layer_bytes", s.delta_layer_bytes},
                                  {"layer_bytes", s.image_layer_bytes + s.delta_layer_bytes},
                                  {"local_layer_bytes", s.local_layer_bytes},
                                  {"layer_downloads", s.layer_downloads},
                                  {"layer_evictions", s.layer_evictions},
                                  {"layer_remote_reads", s.layer_remote_reads},
                                  {"in_memory_bytes", s.in_memory_bytes},
                                  {"tablespaces", s.tablespaces},
                                  {"writer",
                                   s.writer ? json{{"generation", s.writer->generation},
                                                   {"holder", s.writer->holder},
                                                   {"granted_at_lsn", s.writer->granted_at.value()}}
                                            : json(nullptr)},
                                  {"source", SourceJson(s)}};
                            }));

  server_->Get("/api/v1/tablespaces",
               json_handler("tablespaces", auth::Scope::kRead,
                            [this, deadline](const httplib::Request& req) -> absl::StatusOr<json> {
                              ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                                               TimelineOf(timelines_, req));
                              ASSIGN_OR_RETURN(std::optional<uint64_t> asked,
                                               OptionalQueryUint(req, "lsn", kMaxU64));
                              Lsn lsn = ResolveLatest(*timeline, Lsn(asked.value_or(0)));
                              ASSIGN_OR_RETURN(std::vector<storage::TablespaceInfo> spaces,
                                               timeline->ListTablespaces(lsn, deadline()));
                              json list = json::array();
                              for (const storage::TablespaceInfo& t : spaces) {
                                list.push_back({{"space_id", t.space.value()},
                                                {"path", t.path},
                                                {"flags", t.flags},
                                                {"pages", t.pages}});
                              }
                              return json{{"lsn", lsn.value()}, {"tablespaces", std::move(list)}};
                            }));

  server_->Get(
      "/api/v1/tablespace_size",
      json_handler("tablespace_size", auth::Scope::kRead,
                   [this, deadline](const httplib::Request& req) -> absl::StatusOr<json> {
                     ASSIGN_OR_RETURN(std::shared_ptr<storage::Timeline> timeline,
                                      TimelineOf(timelines_, req));
                     ASSIGN_OR_RETURN(std::optional<uint64_t> space,
                                      OptionalQueryUint(req, "space_id", kMaxU32));
                     if (!space.has_value()) {
                       return absl::InvalidArgumentError("missing query parameter space_id");
                     }
                     ASSIGN_OR_RETURN(std::optional<uint64_t> asked,
                                      OptionalQueryUint(req, "lsn", kMaxU64));
                     Lsn lsn = ResolveLatest(*timeline, Lsn(asked.value_or(0)));
                     ASSIGN_OR_RETURN(storage::TablespaceInfo info,
                                      timeline->GetTablespace(
                                          SpaceId(static_cast<uint32_t>(*space)), lsn, deadline()));
                     return json{{"space_id", *space}, {"lsn", lsn.value()}, {"pages", info.pages}};
                   }));

  if (tenant_ != nullptr) {
    // Management: timelines listed, branched and deleted (tenant.h).
    auto listed = [](const tenant::TimelineInfo& t) {
      const storage::TimelineStatus& s = t.status;
      return json{{"name", t.name},
                  {"timeline_id", t.identity.id},
                  {"ancestor", t.ancestor_name.empty() ? json(nullptr) : json(t.ancestor_name)},
                  {"ancestor_lsn", t.identity.ancestor_lsn.value()},
                  {"base_lsn", s.base_lsn.value()},
                  {"last_record_lsn", s.last_record_lsn.value()},
                  {"gc_cutoff_lsn", s.gc_cutoff_lsn.value()},
                  {"layer_bytes", s.image_layer_bytes + s.delta_layer_bytes}};
    };
    server_->Get("/api/v1/timelines",
                 json_handler("timelines", auth::Scope::kAdmin,
                              [this, listed](const httplib::Request&) -> absl::StatusOr<json> {
                                json list = json::array();
                                for (const tenant::TimelineInfo& t : tenant_->List())
                                  list.push_back(listed(t));
                                return json{{"timelines", std::move(list)}};
                              }));
    server_->Post(
        "/api/v1/timelines",
        json_handler("create_timeline", auth::Scope::kAdmin,
                     [this, listed](const httplib::Request& req) -> absl::StatusOr<json> {
                       ASSIGN_OR_RETURN(json body, ParseObject(req.body));
                       tenant::BranchRequest branch;
                       auto name = body.find("name");
                       if (name == body.end() || !name->is_string()) {
                         return absl::InvalidArgumentError("missing field name (a string)");
                       }
                       branch.name = name->get<std::string>();
                       if (auto from = body.find("from"); from != body.end()) {
                         if (!from->is_string()) {
                           return absl::InvalidArgumentError("from must be a timeline name");
                         }
                         branch.from = from->get<std::string>();
                       }
                       ASSIGN_OR_RETURN(std::optional<uint64_t> lsn,
                                        OptionalUint(body, "lsn", kMaxU64));
                       if (auto at = body.find("at"); at != body.end()) {
                         if (lsn) return absl::InvalidArgumentError("give lsn or at, not both");
                         if (!at->is_string()) return absl::InvalidArgumentError("at: a string");
                         ASSIGN_OR_RETURN(branch.at, ParseWhen(at->get<std::string>()));
                       }
                       branch.lsn = Lsn(lsn.value_or(0));
                       ASSIGN_OR_RETURN(tenant::TimelineInfo made, tenant_->CreateBranch(branch));
                       return listed(made);
                     }));
    server_->Delete(
        R"(/api/v1/timelines/([^/]+))",
        json_handler("delete_timeline", auth::Scope::kAdmin,
                     [this](const httplib::Request& req) -> absl::StatusOr<json> {
                       const std::string name = req.matches[1];
                       const std::string cascade =
                           req.has_param("cascade") ? req.get_param_value("cascade") : "false";
                       if (cascade != "true" && cascade != "false") {
                         return absl::InvalidArgumentError("cascade must be true or false");
                       }
                       RETURN_IF_ERROR(tenant_->Delete(name, cascade == "true"));
                       return json{{"deleted", name}};
                     }));
  }

  MethodMetrics metrics_handler = metrics_.Http("metrics");
  server_->Get(
      "/metrics", [this, metrics_handler](const httplib::Request& req, httplib::Response& res) {
        metrics_handler.requests->Increment();
        // Any valid token may read the metrics, whatever its scope and timeline.
        if (options_.auth != nullptr && !options_.metrics_without_auth) {
          absl::Status s =
              options_.auth->VerifyHeader(req.get_header_value(kAuthorizationKey), absl::Now())
                  .status();
          if (!s.ok()) {
            metrics_.CountAuthRefusal("http", s);
            SetError(res, s);
            metrics_handler.errors->Increment();
            return;
          }
        }
        res.status = 200;
        res.set_content(metrics_.Render(), kPrometheusContentType);
      });

  // httplib's own refusals (unknown path, oversized body, unparsable request) get the same
  // JSON error body as ours; answers that already have a body are left alone.
  server_->set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request& req, httplib::Response& res) -> httplib::Server::HandlerResponse {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        absl::StatusCode code = CodeForHttpStatus(res.status);
        std::string error =
            "HTTP " + std::to_string(res.status) + " for " + req.method + " " + req.path;
        if (res.status == 400 && (req.method == "PUT" || req.method == "POST") &&
            !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
          error +=
              ": a PUT or POST needs a Content-Length (send a body, even an empty one: "
              "curl -d '')";
        }
        json body = {{"error", error}, {"code", absl::StatusCodeToString(code)}};
        res.set_content(Dump(body), kJsonType);
        return httplib::Server::HandlerResponse::Handled;
      }));
}

absl::StatusOr<int> HttpApi::Bind(const std::string& host, int port) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError("HTTP port " + std::to_string(port) + " is out of range");
  }
  if (port == 0) {
    int bound = server_->bind_to_any_port(host);
    if (bound < 0) return absl::UnavailableError("cannot bind HTTP to " + host + ":0");
    return bound;
  }
  if (!server_->bind_to_port(host, port)) {
    return absl::UnavailableError("cannot bind HTTP to " + host + ":" + std::to_string(port));
  }
  return port;
}

void HttpApi::Start() {
  listen_returned_ = false;
  thread_ = std::thread([this]() {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  // stop() before the server runs would be lost (it acts only on a running server), so wait
  // for it to run (or to have given up, when nothing was bound).
  while (!server_->is_running() && !listen_returned_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void HttpApi::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace pageserver::service
