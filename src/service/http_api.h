// HttpApi: the page server's HTTP JSON API (cpp-httplib) over the timelines of a tenant, for
// operators, scripts and Prometheus. The data plane proper is gRPC (page_service.h); this API
// offers the same reads and WAL ingest in JSON, page and WAL bytes in base64.
//
// Every route but /metrics and the management routes acts on one timeline: the `main` one, or
// the one named by `"timeline"` in a JSON body or `?timeline=` in the query (NOT_FOUND for an
// unknown name). The management routes (with a Tenant):
//   GET    /api/v1/timelines     -> {"timelines": [{"name", "timeline_id", "ancestor",
//                                    "ancestor_lsn", "last_record_lsn", "gc_cutoff_lsn",
//                                    "layer_bytes"}]}, ancestors before their branches
//   POST   /api/v1/timelines     {"name", "from"? (main), "lsn"? | "at"? ("YYYY-MM-DD HH:MM:SS",
//                                 UTC, or RFC 3339)} -> the new timeline as listed
//   DELETE /api/v1/timelines/NAME[?cascade=true] -> {"deleted": NAME}
//
//   POST /api/v1/get_page        {"space_id", "page_no", "lsn"?}  (lsn 0 or absent = latest)
//        -> {"space_id", "page_no", "lsn", "page_data" (base64), "freed", "records_applied"}
//   POST /api/v1/stream_wal      {"lsn", "wal_data" (base64)}
//        -> {"last_record_lsn", "received_lsn", "bytes_stored"}
//   GET  /api/v1/ping            -> {"status": "ok", "last_record_lsn"}
//   GET  /api/v1/status          -> the timeline's status (LSNs, layer counts and bytes, ...)
//   GET  /api/v1/tablespaces?lsn=N               -> {"lsn", "tablespaces": [{"space_id",
//                                                    "path", "flags", "pages"}]}
//   GET  /api/v1/tablespace_size?space_id=S&lsn=N -> {"space_id", "lsn", "pages"}
//   GET  /metrics                Prometheus text format 0.0.4
// Integers in requests may be JSON numbers or decimal strings (LSNs pass 2^53, where
// JavaScript numbers stop being exact); answers use JSON numbers.
//
// Errors: every failure answers a JSON body {"error": message, "code": "INVALID_ARGUMENT"}
// (the absl/gRPC code name) with the HTTP status of HttpStatusFor(): malformed JSON, a missing
// or ill-typed field, bad base64 are INVALID_ARGUMENT (400); OUT_OF_RANGE is 400 as well, as
// in Google's published gRPC-to-HTTP mapping (416 is about Range headers); NOT_FOUND 404;
// FAILED_PRECONDITION 409; DEADLINE_EXCEEDED 504; DATA_LOSS, INTERNAL and anything unexpected
// 500. An unknown path is 404 and an oversized body 413, with the same JSON body.
//
// Ownership: HttpApi owns its httplib::Server and the thread that runs it; it borrows the
// timelines and the metrics, which must outlive it. Thread-safety: requests are served
// concurrently by httplib's thread pool; Bind/Start/Stop are for one controlling thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "auth/tls.h"
#include "nlohmann/json.hpp"
#include "service/metrics.h"
#include "service/page_service.h"
#include "storage/timeline.h"
#include "tenant/tenant.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace pageserver::service {

// The HTTP status for an error code (see the header comment); 200 for OK.
int HttpStatusFor(absl::StatusCode code);

class HttpApi {
 public:
  // `tenant`, when given, serves the management routes (it is `timelines` then).
  HttpApi(tenant::TimelineResolver& timelines, PageServerMetrics& metrics,
          ServiceOptions options = {}, tenant::Tenant* tenant = nullptr);
  ~HttpApi();  // Stop()s
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Serves HTTPS with `files` (auth/tls.h; with a CA, clients must present a certificate it
  // signed). Before Bind(). InvalidArgument naming the file that is wrong.
  absl::Status UseTls(const auth::TlsFiles& files);
  // Binds host:port; port 0 takes any free port. Returns the bound port.
  absl::StatusOr<int> Bind(const std::string& host, int port);
  // Serves on a thread of its own until Stop(). Returns once the server accepts connections.
  void Start();
  // Stops accepting, waits for in-flight requests to finish and joins the thread. Idempotent.
  void Stop();

 private:
  // Limits, socket options and routes of server_.
  void Configure();
  void Route();
  // With auth on (ServiceOptions::auth), whether the request's token allows `need` on its
  // timeline (?timeline=, or "timeline" in a JSON body; main when neither).
  absl::Status CheckToken(const httplib::Request& req, auth::Scope need) const;
  nlohmann::json SourceJson(const storage::TimelineStatus& s) const;

  tenant::TimelineResolver& timelines_;
  tenant::Tenant* const tenant_;
  PageServerMetrics& metrics_;
  const ServiceOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
};

}  // namespace pageserver::service
