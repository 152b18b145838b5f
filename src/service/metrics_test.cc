#include "service/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "common/testing/temp_dir.h"
#include "remote/local_storage.h"
#include "remote/retrying_storage.h"
#include "remote/testing/fault_injecting_storage.h"
#include "remote/testing/forwarding_storage.h"
#include "service/testing/fake_timeline.h"

namespace pageserver::service {
namespace {

TEST(Metrics, CounterRendersHelpTypeAndValue) {
  Registry registry;
  Counter& c = registry.AddCounter("requests_total", "Requests served.");
  c.Increment();
  c.Increment(41);
  EXPECT_EQ(c.Value(), 42);
  EXPECT_EQ(registry.Render(),
            "# HELP requests_total Requests served.\n"
            "# TYPE requests_total counter\n"
            "requests_total 42\n");
}

TEST(Metrics, SeriesOfOneFamilyShareHelpAndType) {
  Registry registry;
  registry.AddCounter("calls_total", "Calls.", {{"method", "Get"}}).Increment(2);
  registry.AddCounter("calls_total", "Ignored help.", {{"method", "Put"}}).Increment(3);
  // One HELP and TYPE, then the series (in an order of prometheus-cpp's).
  const std::string text = registry.Render();
  EXPECT_EQ(text.rfind("# HELP calls_total Calls.\n# TYPE calls_total counter\n", 0), 0u) << text;
  EXPECT_NE(text.find("calls_total{method=\"Get\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("calls_total{method=\"Put\"} 3\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("# HELP", 1), std::string::npos) << text;
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  Registry registry;
  registry.AddGauge("g", "Back\\slash and\nnewline \"kept\".", {{"path", "a\\b\"c\nd"}}).Set(-2);
  EXPECT_EQ(registry.Render(),
            "# HELP g Back\\\\slash and\\nnewline \"kept\".\n"
            "# TYPE g gauge\n"
            "g{path=\"a\\\\b\\\"c\\nd\"} -2\n");
}

TEST(Metrics, RemoteStorageRetriesAndFailuresAreCounted) {
  pageserver::testing::TempDir dir("metrics_remote_test");
  auto bucket = remote::LocalStorage::Open((dir.path() / "bucket").string());
  ASSERT_TRUE(bucket.ok()) << bucket.status();
  remote::testing::FaultInjectingStorage faults(**bucket);
  remote::RetryOptions options;
  options.max_attempts = 3;
  options.sleep = [](absl::Duration) {};
  remote::RetryingStorage storage(std::make_unique<remote::testing::ForwardingStorage>(faults),
                                  options);
  PageServerMetrics metrics;
  metrics.AddRemoteStorageCounters(storage);
  faults.FailNext(2, remote::testing::Fault::kSlowDown);
  ASSERT_TRUE(storage.PutIfAbsent("a", std::vector<uint8_t>{1}).ok());
  faults.FailNext(3, remote::testing::Fault::kUnavailable);
  EXPECT_FALSE(storage.Get("a", {}).ok());
  const std::string text = metrics.Render();
  EXPECT_NE(text.find("pageserver_remote_storage_retries 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pageserver_remote_storage_failures 1\n"), std::string::npos) << text;
}

TEST(Metrics, GaugeCallbackIsReadAtEachRender) {
  Registry registry;
  double value = 1;
  registry.AddGaugeCallback("lag_bytes", "Lag.", [&value]() { return value; });
  EXPECT_NE(registry.Render().find("lag_bytes 1\n"), std::string::npos);
  value = 12345678901;
  EXPECT_NE(registry.Render().find("lag_bytes 12345678901\n"), std::string::npos);
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInclusiveBounds) {
  Registry registry;
  Histogram& h = registry.AddHistogram("latency_seconds", "Latency.", {0.5, 1, 2.5});
  for (double v : {0.25, 0.5, 1.0, 2.0, 100.0}) h.Observe(v);
  const std::string text = registry.Render();
  EXPECT_EQ(text.rfind("# HELP latency_seconds Latency.\n# TYPE latency_seconds histogram\n", 0),
            0u);
  for (const char* line :
       {"latency_seconds_bucket{le=\"0.5\"} 2\n", "latency_seconds_bucket{le=\"1\"} 3\n",
        "latency_seconds_bucket{le=\"2.5\"} 4\n", "latency_seconds_bucket{le=\"+Inf\"} 5\n",
        "latency_seconds_sum 103.75\n", "latency_seconds_count 5\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "in:\n" << text;
  }
}

TEST(Metrics, HistogramLabelsComeBeforeLe) {
  Registry registry;
  registry.AddHistogram("h", "H.", {1}, {{"op", "read"}}).Observe(3);
  const std::string text = registry.Render();
  for (const char* line :
       {"h_bucket{op=\"read\",le=\"1\"} 0\n", "h_bucket{op=\"read\",le=\"+Inf\"} 1\n",
        "h_sum{op=\"read\"} 3\n", "h_count{op=\"read\"} 1\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "in:\n" << text;
  }
}

TEST(Metrics, HistogramCountsEveryObservationFromManyThreads) {
  Registry registry;
  Histogram& h = registry.AddHistogram("h", "H.", {1, 10, 100});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t]() {
      for (int i = 0; i < 10000; ++i) h.Observe((i + t) % 200);
    });
  }
  for (auto& t : threads) t.join();
  // Values 0..199 equally often: 2/200 are <= 1, 11/200 <= 10, 101/200 <= 100.
  const std::string text = registry.Render();
  for (const char* line : {"h_bucket{le=\"1\"} 400\n", "h_bucket{le=\"10\"} 2200\n",
                           "h_bucket{le=\"100\"} 20200\n", "h_count 40000\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "in:\n" << text;
  }
}

TEST(MetricsDeathTest, InvalidNamesAbort) {
  Registry registry;
  EXPECT_DEATH(registry.AddCounter("has-dash", "X."), "has-dash");
  EXPECT_DEATH(registry.AddGaugeCallback("9lives", "X.", [] { return 0.0; }), "9lives");
  EXPECT_DEATH(registry.AddGaugeCallback("g", "X.", [] { return 0.0; }, {{"a:b", "v"}}), "a:b");
}

TEST(MetricsDeathTest, TypeClashAborts) {
  Registry registry;
  registry.AddCounter("x", "X.");
  EXPECT_DEATH(registry.AddGauge("x", "X."), "cannot register x");
}

TEST(PageServerMetrics, RendersEveryFamilyWithType) {
  PageServerMetrics metrics;
  testing::FakeTimeline timeline;
  storage::TimelineStatus status;
  status.base_lsn = Lsn(1000);
  status.last_record_lsn = Lsn(5000);
  status.received_lsn = Lsn(5100);
  status.disk_consistent_lsn = Lsn(3000);
  status.delta_layers = 3;
  status.delta_layer_bytes = 1 << 20;
  timeline.SetStatus(status);
  metrics.AddTimelineGauges(timeline);
  metrics.ObservePageRead(20e-6, true, 5);
  metrics.ObservePageRead(2, false, 0);
  metrics.wal_ingested_bytes().Increment(777);
  metrics.wal_store_latency().Observe(180e-6);
  metrics.Grpc("GetPage").requests->Increment();

  std::string text = metrics.Render();
  for (const char* line : {
           "# TYPE pageserver_wal_ingested_bytes_total counter\n",
           "pageserver_wal_ingested_bytes_total 777\n",
           "# TYPE pageserver_wal_ingested_records_total counter\n",
           "# TYPE pageserver_wal_store_seconds histogram\n",
           "pageserver_wal_store_seconds_bucket{le=\"0.00015\"} 0\n",
           "pageserver_wal_store_seconds_bucket{le=\"0.0002\"} 1\n",
           "pageserver_wal_store_seconds_count 1\n",
           "# TYPE pageserver_getpage_total counter\n",
           "pageserver_getpage_total 2\n",
           "pageserver_getpage_errors_total 1\n",
           "# TYPE pageserver_getpage_latency_seconds histogram\n",
           "pageserver_getpage_latency_seconds_bucket{le=\"5e-06\"} 0\n",
           "pageserver_getpage_latency_seconds_bucket{le=\"2.5e-05\"} 1\n",
           "pageserver_getpage_latency_seconds_bucket{le=\"1\"} 1\n",
           "pageserver_getpage_latency_seconds_count 2\n",
           "# TYPE pageserver_getpage_records_applied histogram\n",
           "pageserver_getpage_records_applied_bucket{le=\"8\"} 1\n",
           "pageserver_getpage_records_applied_count 1\n",
           "pageserver_grpc_requests_total{method=\"GetPage\"} 1\n",
           "pageserver_grpc_errors_total{method=\"Import\"} 0\n",
           "pageserver_http_requests_total{handler=\"get_page\"} 0\n",
           "# TYPE pageserver_last_record_lsn gauge\n",
           "pageserver_last_record_lsn 5000\n",
           "pageserver_disk_consistent_lsn 3000\n",
           "pageserver_wal_incomplete_tail_bytes 100\n",
           "pageserver_wal_not_in_layers_bytes 2000\n",
           "pageserver_delta_layers 3\n",
           "pageserver_delta_layer_bytes 1048576\n",
           "pageserver_image_layers 0\n",
           "pageserver_in_memory_layer_bytes 0\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "in:\n" << text;
  }
}

}  // namespace
}  // namespace pageserver::service
