#include "service/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "remote/retrying_storage.h"
#include "storage/timeline.h"

namespace pageserver::service {
namespace {

enum MetricType { kCounterType, kGaugeType, kHistogramType };

const char* TypeName(int type) {
  switch (type) {
    case kCounterType:
      return "counter";
    case kGaugeType:
      return "gauge";
    default:
      return "histogram";
  }
}

// Registration mistakes are bugs in this program, found by its first run; they are not data.
[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "metrics: %s\n", what.c_str());
  std::abort();
}

// HELP text escapes backslash and newline; label values also escape the double quote.
std::string Escape(const std::string& text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}` with `extra` (the histogram's le) last; empty when there are no labels.
std::string LabelText(const Labels& labels, const std::string& extra_name = "",
                      const std::string& extra_value = "") {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  auto add = [&](const std::string& name, const std::string& value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += Escape(value, /*quote=*/true);
    out += '"';
  };
  for (const auto& [name, value] : labels) add(name, value);
  if (!extra_name.empty()) add(extra_name, extra_value);
  out += '}';
  return out;
}

bool IsNameChar(char c, bool first, bool allow_colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (allow_colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool IsValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, allow_colon)) return false;
  }
  return true;
}

// Bytes from `from` to `to`; 0 rather than a wrapped-around number if a status were ever
// inconsistent.
double LsnDistance(Lsn to, Lsn from) { return to > from ? static_cast<double>(to - from) : 0; }

}  // namespace

std::string FormatPrometheusValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integral values (counts, bytes, LSNs) print as integers, as people read them; 2^53 is
  // where a double stops holding every integer.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buf[64];
  // Shortest round-trip digits in %g style, as Go's client formats `le` ("0.0001", "1e-05"),
  // so that bucket labels read the same as other exporters'.
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::general);
  if (ec != std::errc()) return "NaN";  // cannot happen with 64 bytes
  return std::string(buf, end);
}

bool IsValidMetricName(const std::string& name) { return IsValidName(name, true); }
bool IsValidLabelName(const std::string& name) { return IsValidName(name, false); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && !(bounds_[i - 1] < bounds_[i]))) {
      Die("histogram bounds must be finite and strictly increasing");
    }
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // The first bound >= value: `le` is inclusive. NaN belongs to no finite bucket.
  size_t bucket = std::isnan(value)
                      ? bounds_.size()
                      : std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

uint64_t Histogram::Count() const { return CumulativeCounts().back(); }

struct Registry::Series {
  Labels labels;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::function<double()> callback;
  std::unique_ptr<Histogram> histogram;
};

struct Registry::Family {
  std::string name;
  std::string help;
  int type;
  std::vector<std::unique_ptr<Series>> series;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Series& Registry::AddSeries(const std::string& name, const std::string& help, int type,
                                      Labels labels) {
  if (!IsValidMetricName(name)) Die("invalid metric name '" + name + "'");
  for (const auto& [label, value] : labels) {
    if (!IsValidLabelName(label) || label == "le") {
      Die("invalid label name '" + label + "' on " + name);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Family* family = nullptr;
  for (auto& f : families_) {
    if (f->name == name) family = f.get();
  }
  if (family == nullptr) {
    families_.push_back(std::make_unique<Family>(Family{name, help, type, {}}));
    family = families_.back().get();
  } else if (family->type != type) {
    Die("metric " + name + " registered with two types");
  }
  for (const auto& s : family->series) {
    if (s->labels == labels) Die("metric " + name + " registered twice with the same labels");
  }
  family->series.push_back(std::make_unique<Series>());
  family->series.back()->labels = std::move(labels);
  return *family->series.back();
}

Counter& Registry::AddCounter(const std::string& name, const std::string& help, Labels labels) {
  Series& s = AddSeries(name, help, kCounterType, std::move(labels));
  s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& Registry::AddGauge(const std::string& name, const std::string& help, Labels labels) {
  Series& s = AddSeries(name, help, kGaugeType, std::move(labels));
  s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

void Registry::AddGaugeCallback(const std::string& name, const std::string& help,
                                std::function<double()> value, Labels labels) {
  Series& s = AddSeries(name, help, kGaugeType, std::move(labels));
  s.callback = std::move(value);
}

Histogram& Registry::AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds, Labels labels) {
  Series& s = AddSeries(name, help, kHistogramType, std::move(labels));
  s.histogram = std::make_unique<Histogram>(std::move(bounds));
  return *s.histogram;
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& family : families_) {
    const std::string& name = family->name;
    out += "# HELP " + name + " " + Escape(family->help, /*quote=*/false) + "\n";
    out += "# TYPE " + name + " " + TypeName(family->type) + "\n";
    for (const auto& s : family->series) {
      if (s->histogram != nullptr) {
        const Histogram& h = *s->histogram;
        std::vector<uint64_t> counts = h.CumulativeCounts();
        for (size_t i = 0; i < h.bounds().size(); ++i) {
          out += name + "_bucket" +
                 LabelText(s->labels, "le", FormatPrometheusValue(h.bounds()[i])) + " " +
                 std::to_string(counts[i]) + "\n";
        }
        out += name + "_bucket" + LabelText(s->labels, "le", "+Inf") + " " +
               std::to_string(counts.back()) + "\n";
        out += name + "_sum" + LabelText(s->labels) + " " + FormatPrometheusValue(h.Sum()) + "\n";
        out += name + "_count" + LabelText(s->labels) + " " + std::to_string(counts.back()) + "\n";
        continue;
      }
      std::string value;
      if (s->counter != nullptr) {
        value = std::to_string(s->counter->Value());
      } else if (s->gauge != nullptr) {
        value = FormatPrometheusValue(s->gauge->Value());
      } else {
        value = FormatPrometheusValue(s->callback());
      }
      out += name + LabelText(s->labels) + " " + value + "\n";
    }
  }
  return out;
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
