#include "service/metrics.h"

#include <prometheus/check_names.h>
#include <prometheus/family.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>

#include "remote/retrying_storage.h"
#include "storage/timeline.h"

namespace pageserver::service {
namespace {

// Registration mistakes are bugs in this program, found by its first run; they are not data.
[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "metrics: %s\n", what.c_str());
  std::abort();
}

// Runs one prometheus-cpp registration, which throws on an invalid name or a type clash.
template <typename F>
auto Registering(const std::string& name, F&& add) -> decltype(add()) {
  try {
    return add();
  } catch (const std::exception& e) {
    Die("cannot register " + name + ": " + e.what());
  }
}

// HELP text as the text format needs it: backslash and newline escaped (prometheus-cpp 1.0
// writes HELP as given, and a raw newline would end the line).
std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Bytes from `from` to `to`; 0 rather than a wrapped-around number if a status were ever
// inconsistent.
double LsnDistance(Lsn to, Lsn from) { return to > from ? static_cast<double>(to - from) : 0; }

}  // namespace

// The gauges computed at render time, as a prometheus-cpp Collectable of their own.
class Registry::CallbackGauges {
 public:
  void Add(const std::string& name, const std::string& help, std::function<double()> value,
           Labels labels) {
    std::lock_guard<std::mutex> lock(mu_);  // guards families_
    for (Family& f : families_) {
      if (f.name != name) continue;
      f.series.push_back({std::move(labels), std::move(value)});
      return;
    }
    families_.push_back({name, EscapeHelp(help), {{std::move(labels), std::move(value)}}});
  }

  std::vector<prometheus::MetricFamily> Collect() const {
    std::lock_guard<std::mutex> lock(mu_);  // guards families_
    std::vector<prometheus::MetricFamily> out;
    for (const Family& f : families_) {
      prometheus::MetricFamily family{f.name, f.help, prometheus::MetricType::Gauge, {}};
      for (const auto& [labels, value] : f.series) {
        prometheus::ClientMetric metric;
        for (const auto& [label, label_value] : labels)
          metric.label.push_back({label, label_value});
        metric.gauge.value = value();
        family.metric.push_back(std::move(metric));
      }
      out.push_back(std::move(family));
    }
    return out;
  }

 private:
  struct Family {
    std::string name;
    std::string help;
    std::vector<std::pair<Labels, std::function<double()>>> series;
  };
  mutable std::mutex mu_;
  std::vector<Family> families_;
};

Registry::Registry()
    : registry_(std::make_shared<prometheus::Registry>()),
      callback_gauges_(std::make_shared<CallbackGauges>()) {}
Registry::~Registry() = default;

Counter& Registry::AddCounter(const std::string& name, const std::string& help, Labels labels) {
  return Registering(name, [&]() -> Counter& {
    return prometheus::BuildCounter()
        .Name(name)
        .Help(EscapeHelp(help))
        .Register(*registry_)
        .Add(labels);
  });
}

Gauge& Registry::AddGauge(const std::string& name, const std::string& help, Labels labels) {
  return Registering(name, [&]() -> Gauge& {
    return prometheus::BuildGauge()
        .Name(name)
        .Help(EscapeHelp(help))
        .Register(*registry_)
        .Add(labels);
  });
}

void Registry::AddGaugeCallback(const std::string& name, const std::string& help,
                                std::function<double()> value, Labels labels) {
  // The names prometheus-cpp accepts for its own metrics.
  if (!prometheus::CheckMetricName(name)) Die("invalid metric name '" + name + "'");
  for (const auto& [label, unused] : labels) {
    if (!prometheus::CheckLabelName(label)) Die("invalid label name '" + label + "' on " + name);
  }
  callback_gauges_->Add(name, help, std::move(value), std::move(labels));
}

Histogram& Registry::AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds, Labels labels) {
  return Registering(name, [&]() -> Histogram& {
    return prometheus::BuildHistogram()
        .Name(name)
        .Help(EscapeHelp(help))
        .Register(*registry_)
        .Add(labels, prometheus::Histogram::BucketBoundaries(std::move(bounds)));
  });
}

std::string Registry::Render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<prometheus::MetricFamily> computed = callback_gauges_->Collect();
  families.insert(families.end(), std::make_move_iterator(computed.begin()),
                  std::make_move_iterator(computed.end()));
  return prometheus::TextSerializer().Serialize(families);
}

PageServerMetrics::PageServerMetrics() {
  Registry& r = registry_;
  source_end_lsn_ = &r.AddGauge("pageserver_source_end_lsn",
                                "End of the valid redo log in the followed MariaDB, as its "
                                "follower last reported (0: no follower).");
  source_lag_seconds_ = &r.AddGauge("pageserver_source_lag_seconds",
                                    "How long the oldest redo the follower has not had "
                                    "acknowledged has waited, as it last reported.");
  wal_received_bytes_ = &r.AddCounter("pageserver_wal_received_bytes_total",
                                      "Bytes of redo received (gRPC StreamWAL and HTTP), before "
                                      "the timeline judged them.");
  wal_ingested_bytes_ =
      &r.AddCounter("pageserver_wal_ingested_bytes_total",
                    "Bytes of whole mini-transactions newly stored (durable) by the timeline.");
  wal_ingested_records_ = &r.AddCounter("pageserver_wal_ingested_records_total",
                                        "Redo records newly indexed by the timeline.");
  // 50 us (a sync of a zeroed-ahead WAL segment on a fast disk) to 1 s.
  wal_store_latency_ = &r.AddHistogram(
      "pageserver_wal_store_seconds",
      "Time for the timeline to store one request of redo durably (decode, write, sync, index): "
      "what each acknowledgement of a writer's flush waits for on the page server.",
      {5e-5, 1e-4, 1.5e-4, 2e-4, 3e-4, 5e-4, 7.5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 0.1, 1});
  getpage_total_ = &r.AddCounter("pageserver_getpage_total",
                                 "Pages requested (GetPage, GetPages, StreamGetPages, HTTP).");
  getpage_errors_ =
      &r.AddCounter("pageserver_getpage_errors_total", "Page requests that ended in an error.");
  // 5 us (a cached image) to 1 s (a long chain, or a wait for the LSN).
  getpage_latency_ = &r.AddHistogram("pageserver_getpage_latency_seconds",
                                     "Time to serve one page, waiting for its LSN included.",
                                     {5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3,
                                      5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1});
  getpage_records_applied_ =
      &r.AddHistogram("pageserver_getpage_records_applied",
                      "Redo records replayed onto the base image to serve one page.",
                      {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
  imported_pages_ =
      &r.AddCounter("pageserver_imported_pages_total", "Pages received by Import calls.");
  for (int api = 0; api < 2; ++api) {
    for (int code = 0; code < 2; ++code) {
      auth_refusals_[api][code] = &r.AddCounter(
          "pageserver_auth_refusals_total",
          "Requests refused for their token: none, malformed, forged, expired or signed by no "
          "configured key (unauthenticated), or of the wrong scope or timeline "
          "(permission_denied).",
          {{"api", api == 0 ? "grpc" : "http"},
           {"code", code == 0 ? "unauthenticated" : "permission_denied"}});
    }
  }
  for (std::string_view method : kGrpcMethods) {
    Labels labels = {{"method", std::string(method)}};
    MethodMetrics m;
    m.requests = &r.AddCounter("pageserver_grpc_requests_total", "gRPC calls received.", labels);
    m.errors = &r.AddCounter("pageserver_grpc_errors_total",
                             "gRPC calls that ended with a status other than OK.", labels);
    grpc_methods_.emplace_back(method, m);
  }
  for (std::string_view handler : kHttpHandlers) {
    Labels labels = {{"handler", std::string(handler)}};
    MethodMetrics m;
    m.requests = &r.AddCounter("pageserver_http_requests_total", "HTTP requests received.", labels);
    m.errors = &r.AddCounter("pageserver_http_errors_total",
                             "HTTP requests answered with a 4xx or 5xx status.", labels);
    http_handlers_.emplace_back(handler, m);
  }
}

MethodMetrics PageServerMetrics::Grpc(std::string_view method) const {
  for (const auto& [name, m] : grpc_methods_) {
    if (name == method) return m;
  }
  Die("unknown gRPC method " + std::string(method));
}

MethodMetrics PageServerMetrics::Http(std::string_view handler) const {
  for (const auto& [name, m] : http_handlers_) {
    if (name == handler) return m;
  }
  Die("unknown HTTP handler " + std::string(handler));
}

void PageServerMetrics::ObservePageRead(double seconds, bool ok, uint32_t records_applied) {
  getpage_total_->Increment();
  getpage_latency_->Observe(seconds);
  if (ok) {
    getpage_records_applied_->Observe(records_applied);
  } else {
    getpage_errors_->Increment();
  }
}

void PageServerMetrics::ObserveWalStored(const storage::IngestResult& stored, double seconds) {
  if (stored.bytes_stored > 0) wal_store_latency_->Observe(seconds);
  wal_ingested_bytes_->Increment(stored.bytes_stored);
  wal_ingested_records_->Increment(stored.records_stored);
}

void PageServerMetrics::CountAuthRefusal(std::string_view api, const absl::Status& refusal) {
  auth_refusals_[api == "grpc" ? 0 : 1][absl::IsPermissionDenied(refusal) ? 1 : 0]->Increment();
}

void PageServerMetrics::AddRemoteStorageCounters(const remote::RetryingStorage& remote) {
  const remote::RetryingStorage* r = &remote;
  registry_.AddGaugeCallback("pageserver_remote_storage_retries",
                             "Remote storage calls repeated after an error that may pass (5xx, "
                             "SlowDown, timeouts, broken connections).",
                             [r]() { return static_cast<double>(r->retries()); });
  registry_.AddGaugeCallback("pageserver_remote_storage_failures",
                             "Remote storage calls that failed after every retry.",
                             [r]() { return static_cast<double>(r->failures()); });
}

void PageServerMetrics::AddTimelineGauges(const storage::Timeline& timeline) {
  Registry& r = registry_;
  const storage::Timeline* t = &timeline;
  auto gauge = [&](const char* name, const char* help,
                   std::function<double(const storage::TimelineStatus&)> field) {
    r.AddGaugeCallback(name, help, [t, field]() { return field(t->Status()); });
  };
  using S = storage::TimelineStatus;
  gauge("pageserver_base_lsn", "LSN of the imported base.",
        [](const S& s) { return static_cast<double>(s.base_lsn.value()); });
  gauge("pageserver_last_record_lsn", "End of the last complete mini-transaction stored.",
        [](const S& s) { return static_cast<double>(s.last_record_lsn.value()); });
  gauge("pageserver_disk_consistent_lsn", "Everything up to this LSN is in layer files.",
        [](const S& s) { return static_cast<double>(s.disk_consistent_lsn.value()); });
  gauge("pageserver_wal_incomplete_tail_bytes",
        "received_lsn - last_record_lsn: bytes of an incomplete mini-transaction held in memory.",
        [](const S& s) { return LsnDistance(s.received_lsn, s.last_record_lsn); });
  gauge("pageserver_wal_not_in_layers_bytes",
        "last_record_lsn - disk_consistent_lsn: stored redo not yet written to layer files.",
        [](const S& s) { return LsnDistance(s.last_record_lsn, s.disk_consistent_lsn); });
  const Gauge* source_end = source_end_lsn_;
  r.AddGaugeCallback("pageserver_source_lag_bytes",
                     "source_end_lsn - last_record_lsn: redo in the followed MariaDB's log not "
                     "yet stored here (0 when no follower reports).",
                     [t, source_end]() {
                       const double end = source_end->Value();
                       const double stored =
                           static_cast<double>(t->Status().last_record_lsn.value());
                       return end > stored ? end - stored : 0.0;
                     });
  gauge("pageserver_remote_consistent_lsn",
        "Everything up to this LSN is in remote storage (0 without one, or before its first "
        "upload).",
        [](const S& s) { return static_cast<double>(s.remote_consistent_lsn.value()); });
  gauge("pageserver_gc_cutoff_lsn",
        "Reads below this LSN are refused: garbage collection removed the history before it "
        "(0: none yet).",
        [](const S& s) { return static_cast<double>(s.gc_cutoff_lsn.value()); });
  gauge("pageserver_local_layer_bytes",
        "Layer files on the local disk; with remote storage and a disk budget, the rest are "
        "evicted to the bucket and downloaded again on demand.",
        [](const S& s) { return static_cast<double>(s.local_layer_bytes); });
  gauge("pageserver_layer_downloads", "Layer files downloaded from remote storage since start.",
        [](const S& s) { return static_cast<double>(s.layer_downloads); });
  gauge("pageserver_layer_remote_reads",
        "Reads of evicted layers served from remote storage without downloading them again "
        "(their working set exceeds the disk budget).",
        [](const S& s) { return static_cast<double>(s.layer_remote_reads); });
  gauge("pageserver_layer_evictions",
        "Local layer files evicted to keep within local_disk_budget_bytes since start.",
        [](const S& s) { return static_cast<double>(s.layer_evictions); });
  gauge("pageserver_wal_syncs",
        "fdatasyncs of the WAL log since the timeline was opened; fewer than the requests stored "
        "when requests written during one sync share the next (group commit).",
        [](const S& s) { return static_cast<double>(s.wal_syncs); });
  gauge("pageserver_image_layers", "Image layer files.",
        [](const S& s) { return static_cast<double>(s.image_layers); });
  gauge("pageserver_delta_layers", "Delta layer files.",
        [](const S& s) { return static_cast<double>(s.delta_layers); });
  gauge("pageserver_level1_delta_layers",
        "Of the delta layer files, the level-1 ones compaction wrote (key-partitioned).",
        [](const S& s) { return static_cast<double>(s.level1_delta_layers); });
  gauge("pageserver_materialized_pages",
        "Hot pages whose newest image is kept in memory, so that reads replay only what follows.",
        [](const S& s) { return static_cast<double>(s.materialized_pages); });
  gauge("pageserver_materializations",
        "Hot pages reconstructed in the background since the timeline was opened.",
        [](const S& s) { return static_cast<double>(s.materializations); });
  gauge("pageserver_compactions",
        "Compactions of level-0 delta layers since the timeline was opened.",
        [](const S& s) { return static_cast<double>(s.compactions); });
  gauge("pageserver_image_layer_bytes", "Bytes of image layer files.",
        [](const S& s) { return static_cast<double>(s.image_layer_bytes); });
  gauge("pageserver_delta_layer_bytes", "Bytes of delta layer files.",
        [](const S& s) { return static_cast<double>(s.delta_layer_bytes); });
  gauge("pageserver_in_memory_layer_bytes", "Bytes held by the in-memory layer.",
        [](const S& s) { return static_cast<double>(s.in_memory_bytes); });
  gauge("pageserver_tablespaces", "Tablespaces in the catalog at last_record_lsn.",
        [](const S& s) { return static_cast<double>(s.tablespaces); });
}

}  // namespace pageserver::service
