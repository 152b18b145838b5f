// Metrics: a small registry of counters, gauges and histograms rendered in the Prometheus text
// exposition format 0.0.4 (what `GET /metrics` serves), plus PageServerMetrics, the page
// server's own set.
//
// Written by hand because prometheus-cpp is not packaged in Debian 12; it implements only what
// the page server uses: one metric family per name, with optional constant labels per series,
// and no timestamps.
//
// Ownership: the Registry owns every metric it creates; the references it hands out stay valid
// for the registry's life. Gauge callbacks are called by Render() and must outlive the registry
// (or the registry must not be rendered after they die).
//
// Thread-safety: Counter, Gauge and Histogram updates are lock-free (relaxed atomics; one
// Histogram::Observe is a few atomic adds, cheap enough for every GetPage). Registration and
// Render take the registry's mutex; registration is meant for start-up. A render taken during
// updates may see a histogram's buckets and sum from slightly different instants, which
// Prometheus tolerates; `_count` is always the `+Inf` bucket.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace pageserver::remote {
class RetryingStorage;
}

namespace pageserver::storage {
class Timeline;
struct IngestResult;
}

namespace pageserver::service {

// (name, value) pairs attached to one series, e.g. {{"method", "GetPage"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count.
class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down, set by its owner.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets. `bounds` are the buckets' inclusive upper bounds
// (Prometheus's `le`), strictly increasing; a `+Inf` bucket is always added.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound, then the +Inf bucket (== count); bounds().size() + 1 entries.
  std::vector<uint64_t> CumulativeCounts() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t Count() const;

 private:
  std::vector<double> bounds_;
  // Per bucket, not cumulative: one add per Observe. The last one counts values above every
  // bound.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each call adds one series. Calling again with the same name and type but other labels adds
  // a series to the same family (`help` of the first call is kept). Names and label names must
  // be valid Prometheus names and (name, labels) must be new: these are programming errors and
  // abort.
  Counter& AddCounter(const std::string& name, const std::string& help, Labels labels = {});
  Gauge& AddGauge(const std::string& name, const std::string& help, Labels labels = {});
  // A gauge whose value is computed by `value` at each render.
  void AddGaugeCallback(const std::string& name, const std::string& help,
                        std::function<double()> value, Labels labels = {});
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, Labels labels = {});

  // Every family in registration order, as Prometheus text format 0.0.4.
  std::string Render() const;

 private:
  struct Family;
  struct Series;
  Series& AddSeries(const std::string& name, const std::string& help, int type, Labels labels);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
};

// The content type of Registry::Render()'s output.
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// A number as the text format writes it: integers without a fraction, "+Inf", "-Inf", "NaN",
// otherwise the shortest text that reads back as the same double, in %g style.
std::string FormatPrometheusValue(double value);

// Whether `name` matches [a-zA-Z_:][a-zA-Z0-9_:]* (metric) or [a-zA-Z_][a-zA-Z0-9_]* (label).
bool IsValidMetricName(const std::string& name);
bool IsValidLabelName(const std::string& name);

// The gRPC method names and HTTP handler names PageServerMetrics knows.
inline constexpr std::array<std::string_view, 15> kGrpcMethods = {
    "GetPage",         "GetPages",   "StreamGetPages", "StreamWAL",    "WalSession",
    "GetTablespaceSize",
    "ListTablespaces", "Import",     "TruncateWal",    "AcquireWriter", "PutAuxFile",
    "GetAuxFile",      "ListAuxFiles", "GetStatus",    "Ping"};
inline constexpr std::array<std::string_view, 12> kHttpHandlers = {
    "get_page",        "stream_wal",    "ping",      "status",          "tablespaces",
    "tablespace_size", "wait_uploaded", "metrics",   "checkpoint",      "timelines",
    "create_timeline", "delete_timeline"};

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
