// Metrics: the page server's set (PageServerMetrics), kept in a prometheus-cpp registry (Debian's
// prometheus-cpp-dev) and rendered by its text serializer in the Prometheus text exposition
// format 0.0.4, which `GET /metrics` serves.
//
// Registry adds to prometheus-cpp what the page server needs besides: gauges computed by a
// callback at each render (a timeline's LSNs and sizes, read from its status), and a one-call
// registration per series (the family is made by its first series, later series of the same name
// join it).
//
// Ownership: the Registry owns every metric it creates; the references it hands out stay valid
// for the registry's life. Gauge callbacks are called by Render() and must outlive the registry
// (or the registry must not be rendered after they die).
//
// Thread-safety: prometheus-cpp's: Counter and Gauge updates are atomic, a Histogram::Observe
// takes the histogram's own mutex (a few adds under it). Registration and Render may run from
// any thread; registration is meant for start-up.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/labels.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace prometheus {
class Registry;
}

namespace pageserver::remote {
class RetryingStorage;
}

namespace pageserver::storage {
class Timeline;
struct IngestResult;
}  // namespace pageserver::storage

namespace pageserver::service {

using Counter = prometheus::Counter;
using Gauge = prometheus::Gauge;
using Histogram = prometheus::Histogram;
// (name, value) pairs attached to one series, e.g. {{"method", "GetPage"}}.
using Labels = prometheus::Labels;

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each call adds one series. Calling again with the same name and type but other labels adds
  // a series to the same family (`help` of the first call is kept). An invalid metric or label
  // name, or a name registered with another type, is a programming error and aborts.
  Counter& AddCounter(const std::string& name, const std::string& help, Labels labels = {});
  Gauge& AddGauge(const std::string& name, const std::string& help, Labels labels = {});
  // A gauge whose value is computed by `value` at each render.
  void AddGaugeCallback(const std::string& name, const std::string& help,
                        std::function<double()> value, Labels labels = {});
  // `bounds`: the buckets' inclusive upper bounds (`le`), increasing; +Inf is added.
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, Labels labels = {});

  // Every family, as Prometheus text format 0.0.4.
  std::string Render() const;

 private:
  class CallbackGauges;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<CallbackGauges> callback_gauges_;
};

// The content type of Registry::Render()'s output.
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// The gRPC method names and HTTP handler names PageServerMetrics knows.
inline constexpr std::array<std::string_view, 15> kGrpcMethods = {
    "GetPage",           "GetPages",        "StreamGetPages", "StreamWAL",   "WalSession",
    "GetTablespaceSize", "ListTablespaces", "Import",         "TruncateWal", "AcquireWriter",
    "PutAuxFile",        "GetAuxFile",      "ListAuxFiles",   "GetStatus",   "Ping"};
inline constexpr std::array<std::string_view, 12> kHttpHandlers = {
    "get_page",      "stream_wal", "ping",       "status",    "tablespaces",     "tablespace_size",
    "wait_uploaded", "metrics",    "checkpoint", "timelines", "create_timeline", "delete_timeline"};

// Requests and errors of one API method (a gRPC method or an HTTP handler).
struct MethodMetrics {
  Counter* requests = nullptr;
  Counter* errors = nullptr;
};

// The page server's metrics, shared by the gRPC service and the HTTP API. Thread-safe as its
// members are; the struct itself is immutable after construction.
class PageServerMetrics {
 public:
  PageServerMetrics();
  PageServerMetrics(const PageServerMetrics&) = delete;
  PageServerMetrics& operator=(const PageServerMetrics&) = delete;

  // Gauges read from timeline.Status() at each render; `timeline` must outlive rendering.
  void AddTimelineGauges(const storage::Timeline& timeline);
  // Retries and final failures of remote storage calls, read at each render; `remote` must
  // outlive rendering.
  void AddRemoteStorageCounters(const remote::RetryingStorage& remote);

  // `method` is one of the names registered by the constructor (the gRPC method names and the
  // HTTP handler names above); an unknown one aborts, as it is a programming error.
  MethodMetrics Grpc(std::string_view method) const;
  MethodMetrics Http(std::string_view handler) const;

  // Records one request of redo stored durably: its bytes and records, and (when it stored
  // anything new) the time it took.
  void ObserveWalStored(const storage::IngestResult& stored, double seconds);
  // Records one page read: its latency and, when it succeeded, the records replayed.
  void ObservePageRead(double seconds, bool ok, uint32_t records_applied);

  Registry& registry() { return registry_; }
  std::string Render() const { return registry_.Render(); }

  // Counts a request refused for its token (`api`: "grpc" or "http"; `refusal` Unauthenticated
  // or PermissionDenied).
  void CountAuthRefusal(std::string_view api, const absl::Status& refusal);

  Counter& wal_received_bytes() { return *wal_received_bytes_; }
  Counter& wal_ingested_bytes() { return *wal_ingested_bytes_; }
  Counter& wal_ingested_records() { return *wal_ingested_records_; }
  Histogram& wal_store_latency() { return *wal_store_latency_; }
  Counter& getpage_total() { return *getpage_total_; }
  Counter& getpage_errors() { return *getpage_errors_; }
  Histogram& getpage_latency() { return *getpage_latency_; }
  Histogram& getpage_records_applied() { return *getpage_records_applied_; }
  Counter& imported_pages() { return *imported_pages_; }
  // The live source a follower reports (WalChunk.source_end_lsn / source_lag_seconds); 0 when
  // no follower has reported.
  Gauge& source_end_lsn() { return *source_end_lsn_; }
  Gauge& source_lag_seconds() { return *source_lag_seconds_; }

 private:
  Registry registry_;
  Counter* wal_received_bytes_;
  Counter* wal_ingested_bytes_;
  Counter* wal_ingested_records_;
  Histogram* wal_store_latency_;
  Counter* getpage_total_;
  Counter* getpage_errors_;
  Histogram* getpage_latency_;
  Histogram* getpage_records_applied_;
  Counter* imported_pages_;
  // [api: grpc, http][unauthenticated, permission_denied]
  Counter* auth_refusals_[2][2];
  Gauge* source_end_lsn_;
  Gauge* source_lag_seconds_;
  std::vector<std::pair<std::string_view, MethodMetrics>> grpc_methods_;
  std::vector<std::pair<std::string_view, MethodMetrics>> http_handlers_;
};

}  // namespace pageserver::service
