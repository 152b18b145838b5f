// pageserver: serves the timelines of DIR/timelines (main and its branches; tenant/tenant.h) over
// gRPC (pageserver.PageServer) and HTTP (JSON API, timeline management, /metrics) until SIGTERM
// or SIGINT.
//
//   pageserver --data-dir DIR [--grpc-addr HOST:PORT] [--http-addr HOST:PORT] [--config FILE]
//              [--in-memory-layer-bytes N] [--image-chain-threshold N] [--wal-segment-bytes N]
//              [--read-wait-limit-ms N] [--remote URL [--local-disk-budget-bytes N]]
//              [--pitr-window-seconds N] [--pitr-window-bytes N]
//              [--auth-public-key PEM]... [--tls-cert PEM --tls-key PEM [--tls-ca PEM]]
//
// Auth and TLS (docs/auth.md): with public keys, every request needs a token they verify; with
// a certificate and key, both ports speak TLS only, and with a CA, only to clients whose
// certificate it signed (mTLS).
//
// With --remote (docs/remote_storage.md) the bucket is the durable home of the timeline: an empty
// data directory is restored from it, and the local layer files are a cache of it.
//
// The config file is JSON ({"data_dir": "...", "in_memory_layer_bytes": 1048576, ...}) or
// key=value lines ('#' starts a comment) with the same names as the flags, '_' or '-' alike;
// flags given on the command line win over the file. Unknown keys are refused, so that a typo
// does not silently leave a default in place.
//
// Shutdown rule: SIGTERM/SIGINT are blocked in every thread and taken by sigwait() in main, so
// no work runs in a signal handler. On one, both servers stop accepting and finish the calls in
// flight (gRPC gets kShutdownGrace, then cancels what remains); nothing needs flushing, since
// every acknowledged byte of WAL is already durable. Exit status 0.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "auth/tls.h"
#include "auth/token.h"
#include "common/file_io.h"
#include "common/malloc_tuning.h"
#include "nlohmann/json.hpp"
#include "remote/remote_storage.h"
#include "remote/retrying_storage.h"
#include "service/builtin_services_auth.h"
#include "service/http_api.h"
#include "service/metrics.h"
#include "service/page_service.h"
#include "storage/timeline.h"
#include "tenant/tenant.h"

namespace pageserver::service {
namespace {

constexpr absl::Duration kShutdownGrace = absl::Seconds(5);
// Import batches and WAL chunks may be bigger than gRPC's 4 MiB default.
constexpr int kMaxMessageBytes = 64 << 20;

struct Config {
  std::string data_dir;
  std::string grpc_addr = "127.0.0.1:50051";
  std::string http_addr = "127.0.0.1:8080";
  storage::TimelineOptions timeline;
  uint64_t read_wait_limit_ms = 10000;
  std::string remote;  // --remote URL; empty: no remote storage
  // Auth (issue 12): PEM RSA public keys that verify tokens; none: auth off.
  std::vector<std::string> auth_public_keys;
  bool metrics_without_auth = false;
  bool health_without_auth = false;
  auth::TlsFiles tls;  // no certificate: plaintext
};

absl::StatusOr<uint64_t> ParseCount(const std::string& key, const std::string& text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return absl::InvalidArgumentError(key + ": '" + text + "' is not a non-negative integer");
  }
  return value;
}

// Sets one option of `config` from the file; `key` already normalised to '_'.
absl::Status SetOption(Config& config, const std::string& key, const std::string& value) {
  if (key == "data_dir") {
    config.data_dir = value;
    return absl::OkStatus();
  }
  if (key == "grpc_addr") {
    config.grpc_addr = value;
    return absl::OkStatus();
  }
  if (key == "http_addr") {
    config.http_addr = value;
    return absl::OkStatus();
  }
  if (key == "remote") {
    config.remote = value;
    return absl::OkStatus();
  }
  if (key == "auth_public_keys") {  // comma-separated paths
    config.auth_public_keys = absl::StrSplit(value, ',', absl::SkipWhitespace());
    return absl::OkStatus();
  }
  if (key == "tls_cert") {
    config.tls.cert_path = value;
    return absl::OkStatus();
  }
  if (key == "tls_key") {
    config.tls.key_path = value;
    return absl::OkStatus();
  }
  if (key == "tls_ca") {
    config.tls.ca_path = value;
    return absl::OkStatus();
  }
  if (key == "metrics_without_auth" || key == "health_without_auth") {
    if (value != "true" && value != "false") {
      return absl::InvalidArgumentError(key + ": true or false, not '" + value + "'");
    }
    (key == "metrics_without_auth" ? config.metrics_without_auth : config.health_without_auth) =
        value == "true";
    return absl::OkStatus();
  }
  const bool numeric = key == "in_memory_layer_bytes" || key == "wal_segment_bytes" ||
                       key == "image_chain_threshold" || key == "read_wait_limit_ms" ||
                       key == "remote_wal_upload_interval_ms" || key == "local_disk_budget_bytes" ||
                       key == "pitr_window_seconds" || key == "pitr_window_bytes" ||
                       key == "image_creation_delta_bytes" || key == "compaction_threshold" ||
                       key == "compaction_target_bytes" || key == "materialize_threshold" ||
                       key == "materialized_pages_bytes";
  if (!numeric) return absl::InvalidArgumentError("unknown option '" + key + "'");
  absl::StatusOr<uint64_t> n = ParseCount(key, value);
  if (!n.ok()) return n.status();
  if (key == "in_memory_layer_bytes") {
    config.timeline.in_memory_layer_bytes = *n;
  } else if (key == "wal_segment_bytes") {
    config.timeline.wal_segment_bytes = *n;
  } else if (key == "image_chain_threshold") {
    if (*n > 0xFFFFFFFFu) return absl::InvalidArgumentError(key + " is too large");
    config.timeline.image_chain_threshold = static_cast<uint32_t>(*n);
  } else if (key == "pitr_window_seconds") {
    config.timeline.pitr_window = absl::Seconds(*n);
  } else if (key == "pitr_window_bytes") {
    config.timeline.pitr_window_bytes = *n;
  } else if (key == "image_creation_delta_bytes") {
    config.timeline.image_creation_delta_bytes = *n;
  } else if (key == "compaction_threshold") {
    if (*n > 0xFFFFFFFFu) return absl::InvalidArgumentError(key + " is too large");
    config.timeline.compaction_threshold = static_cast<uint32_t>(*n);
  } else if (key == "compaction_target_bytes") {
    config.timeline.compaction_target_bytes = *n;
  } else if (key == "materialize_threshold") {
    if (*n > 0xFFFFFFFFu) return absl::InvalidArgumentError(key + " is too large");
    config.timeline.materialize_threshold = static_cast<uint32_t>(*n);
  } else if (key == "materialized_pages_bytes") {
    config.timeline.materialized_pages_bytes = *n;
  } else if (key == "local_disk_budget_bytes") {
    config.timeline.local_disk_budget_bytes = *n;
  } else if (key == "remote_wal_upload_interval_ms") {
    config.timeline.remote_wal_upload_interval = absl::Milliseconds(*n);
  } else {
    config.read_wait_limit_ms = *n;
  }
  return absl::OkStatus();
}

std::string Normalise(std::string key) {
  for (char& c : key) {
    if (c == '-') c = '_';
  }
  return key;
}

std::string Trim(const std::string& s) {
  size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  size_t end = s.find_last_not_of(" \t\r");
  std::string out = s.substr(begin, end - begin + 1);
  if (out.size() >= 2 && out.front() == '"' && out.back() == '"')
    out = out.substr(1, out.size() - 2);
  return out;
}

absl::Status LoadConfigFile(const std::string& path, Config& config) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read config file " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::InvalidArgumentError(path + ": not a JSON object");
    }
    for (const auto& [key, value] : j.items()) {
      std::string v;
      if (value.is_string()) {
        v = value.get<std::string>();
      } else if (value.is_number_unsigned()) {
        v = std::to_string(value.get<uint64_t>());
      } else {
        return absl::InvalidArgumentError(path + ": " + key + " must be a string or a " +
                                          "non-negative integer");
      }
      absl::Status s = SetOption(config, Normalise(key), v);
      if (!s.ok()) return absl::InvalidArgumentError(path + ": " + std::string(s.message()));
    }
    return absl::OkStatus();
  }
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    line = line.substr(0, line.find('#'));
    if (Trim(line).empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(path + ":" + std::to_string(number) +
                                        ": expected key=value");
    }
    absl::Status s =
        SetOption(config, Normalise(Trim(line.substr(0, eq))), Trim(line.substr(eq + 1)));
    if (!s.ok()) {
      return absl::InvalidArgumentError(path + ":" + std::to_string(number) + ": " +
                                        std::string(s.message()));
    }
  }
  return absl::OkStatus();
}

// "host:port", "[v6]:port" -> host (brackets removed) and port.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError("address '" + addr + "' is not HOST:PORT");
  }
  std::string host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  absl::StatusOr<uint64_t> port = ParseCount("port", addr.substr(colon + 1));
  if (!port.ok() || *port > 65535) {
    return absl::InvalidArgumentError("address '" + addr + "' has no valid port");
  }
  return std::make_pair(host, static_cast<int>(*port));
}

// `addr` with its port replaced by `port` (the one actually bound, when 0 was asked).
std::string WithPort(const std::string& addr, int port) {
  return addr.substr(0, addr.rfind(':') + 1) + std::to_string(port);
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "pageserver: %s\n", what.c_str());
  return 1;
}

int Run(int argc, char** argv) {
  CLI::App app{"pageserver: serves MariaDB InnoDB pages at any LSN over gRPC and HTTP"};
  std::string data_dir, grpc_addr, http_addr, config_path;
  uint64_t in_memory_layer_bytes = 0, wal_segment_bytes = 0, read_wait_limit_ms = 0;
  uint32_t image_chain_threshold = 0;
  auto* data_dir_opt = app.add_option("--data-dir", data_dir, "Data directory");
  auto* grpc_opt =
      app.add_option("--grpc-addr", grpc_addr, "gRPC listen address (default 127.0.0.1:50051)");
  auto* http_opt =
      app.add_option("--http-addr", http_addr, "HTTP listen address (default 127.0.0.1:8080)");
  app.add_option("--config", config_path, "JSON or key=value file with these options")
      ->check(CLI::ExistingFile);
  auto* memory_opt = app.add_option("--in-memory-layer-bytes", in_memory_layer_bytes,
                                    "Freeze threshold of the in-memory layer");
  auto* chain_opt =
      app.add_option("--image-chain-threshold", image_chain_threshold,
                     "Records since a page's image that trigger a new image at flush (0: never)");
  auto* segment_opt =
      app.add_option("--wal-segment-bytes", wal_segment_bytes, "Size of a WAL log segment");
  auto* wait_opt = app.add_option("--read-wait-limit-ms", read_wait_limit_ms,
                                  "How long a read without a deadline waits for its LSN");
  std::string remote_url;
  auto* remote_opt = app.add_option(
      "--remote", remote_url,
      "Remote storage, the durable home of the timeline: everything stored is uploaded there, "
      "and an empty data directory is restored from it. file:///PATH or "
      "s3://BUCKET/PREFIX?endpoint=http://HOST:PORT&region=R (AWS_ACCESS_KEY_ID, "
      "AWS_SECRET_ACCESS_KEY)");
  uint64_t local_disk_budget_bytes = 0;
  auto* budget_opt = app.add_option(
      "--local-disk-budget-bytes", local_disk_budget_bytes,
      "With --remote: keep the local layer files within this many bytes, evicting the least "
      "recently read to the bucket (0: no limit)");
  uint64_t pitr_window_seconds = 0, pitr_window_bytes = 0, image_creation_delta_bytes = 0;
  auto* image_opt = app.add_option(
      "--image-creation-delta-bytes", image_creation_delta_bytes,
      "Write a full image set once the delta layers since the last one hold this many bytes");
  uint32_t compaction_threshold = 0;
  uint64_t compaction_target_bytes = 0;
  auto* compaction_opt = app.add_option(
      "--compaction-threshold", compaction_threshold,
      "Merge the level-0 delta layers (one per flush) into key-partitioned level-1 layers once "
      "this many stand (default 10)");
  auto* compaction_bytes_opt =
      app.add_option("--compaction-target-bytes", compaction_target_bytes,
                     "Size of the level-1 delta layers compaction writes (default 128 MiB)");
  uint32_t materialize_threshold = 0;
  auto* materialize_opt = app.add_option(
      "--materialize-threshold", materialize_threshold,
      "Reconstruct a page in the background once it has this many records since its newest "
      "image, so that reads replay fewer (default 16; 0: never)");
  uint64_t materialized_pages_bytes = 0;
  auto* materialized_bytes_opt = app.add_option(
      "--materialized-pages-bytes", materialized_pages_bytes,
      "Memory for the images of hot pages reconstructed in the background (default 64 MiB)");
  auto* pitr_time_opt = app.add_option(
      "--pitr-window-seconds", pitr_window_seconds,
      "Keep every page's history readable for this long; older history is garbage-collected "
      "(default: keep everything)");
  auto* pitr_bytes_opt =
      app.add_option("--pitr-window-bytes", pitr_window_bytes,
                     "Keep every page's history readable for this many bytes of redo (with "
                     "--pitr-window-seconds, the larger window wins)");
  std::vector<std::string> auth_public_keys;
  auto* auth_opt = app.add_option(
      "--auth-public-key", auth_public_keys,
      "A PEM RSA public key that verifies tokens (repeatable: several during a key rotation). "
      "With one, every request needs a valid token (authorization: Bearer); pagectl token mints "
      "them");
  bool metrics_without_auth = false;
  app.add_flag("--metrics-without-auth", metrics_without_auth,
               "With auth on, serve /metrics without a token too");
  bool health_without_auth = false;
  app.add_flag("--health-without-auth", health_without_auth,
               "With auth on, answer the gRPC health service (grpc.health.v1) without a token too, "
               "for load balancers and probes that cannot send one");
  auth::TlsFiles tls;
  auto* tls_cert_opt = app.add_option(
      "--tls-cert", tls.cert_path,
      "The server's certificate (PEM, a chain leaf first): both ports speak TLS only");
  auto* tls_key_opt = app.add_option("--tls-key", tls.key_path, "The private key of --tls-cert");
  auto* tls_ca_opt = app.add_option(
      "--tls-ca", tls.ca_path,
      "With --tls-cert: a CA certificate (PEM); every client must then present a certificate it "
      "signed (mTLS)");
  bool no_sync = false;
  app.add_flag("--no-sync", no_sync,
               "UNSAFE: acknowledge redo and write layers without syncing them to disk; a crash "
               "of the machine loses acknowledged commits. For measuring what the syncs cost");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  Config config;
  if (!config_path.empty()) {
    absl::Status s = LoadConfigFile(config_path, config);
    if (!s.ok()) return Fail(std::string(s.message()));
  }
  if (data_dir_opt->count() > 0) config.data_dir = data_dir;
  if (grpc_opt->count() > 0) config.grpc_addr = grpc_addr;
  if (http_opt->count() > 0) config.http_addr = http_addr;
  if (memory_opt->count() > 0) config.timeline.in_memory_layer_bytes = in_memory_layer_bytes;
  if (chain_opt->count() > 0) config.timeline.image_chain_threshold = image_chain_threshold;
  if (segment_opt->count() > 0) config.timeline.wal_segment_bytes = wal_segment_bytes;
  if (wait_opt->count() > 0) config.read_wait_limit_ms = read_wait_limit_ms;
  if (remote_opt->count() > 0) config.remote = remote_url;
  if (auth_opt->count() > 0) config.auth_public_keys = auth_public_keys;
  if (metrics_without_auth) config.metrics_without_auth = true;
  if (health_without_auth) config.health_without_auth = true;
  if (tls_cert_opt->count() > 0) config.tls.cert_path = tls.cert_path;
  if (tls_key_opt->count() > 0) config.tls.key_path = tls.key_path;
  if (tls_ca_opt->count() > 0) config.tls.ca_path = tls.ca_path;
  if (budget_opt->count() > 0) config.timeline.local_disk_budget_bytes = local_disk_budget_bytes;
  if (image_opt->count() > 0) {
    config.timeline.image_creation_delta_bytes = image_creation_delta_bytes;
  }
  if (materialize_opt->count() > 0) config.timeline.materialize_threshold = materialize_threshold;
  if (materialized_bytes_opt->count() > 0) {
    config.timeline.materialized_pages_bytes = materialized_pages_bytes;
  }
  if (compaction_opt->count() > 0) config.timeline.compaction_threshold = compaction_threshold;
  if (compaction_bytes_opt->count() > 0) {
    config.timeline.compaction_target_bytes = compaction_target_bytes;
  }
  if (pitr_time_opt->count() > 0) config.timeline.pitr_window = absl::Seconds(pitr_window_seconds);
  if (pitr_bytes_opt->count() > 0) config.timeline.pitr_window_bytes = pitr_window_bytes;
  if (no_sync) {
    config.timeline.sync = false;
    std::fprintf(stderr,
                 "pageserver: --no-sync: nothing is synced to disk; acknowledged redo does not "
                 "survive a crash of the machine\n");
  }
  if (config.data_dir.empty()) return Fail("--data-dir (or data_dir in --config) is required");
  absl::StatusOr<std::pair<std::string, int>> http_host_port = SplitHostPort(config.http_addr);
  if (!http_host_port.ok()) return Fail(std::string(http_host_port.status().message()));
  if (!SplitHostPort(config.grpc_addr).ok()) {
    return Fail("address '" + config.grpc_addr + "' is not HOST:PORT");
  }

  // Before any thread exists, so that every thread inherits the mask and only sigwait() below
  // sees these signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client that hangs up mid-answer must not kill the server.
  signal(SIGPIPE, SIG_IGN);

  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(config.data_dir) / "timelines", ec);
  if (ec) return Fail("cannot create " + config.data_dir + "/timelines: " + ec.message());
  std::unique_ptr<remote::RetryingStorage> remote_storage;  // outlives the timeline
  if (!config.remote.empty()) {
    absl::StatusOr<std::unique_ptr<remote::RemoteStorage>> opened =
        remote::OpenRemoteStorage(config.remote);
    if (!opened.ok()) return Fail(std::string(opened.status().message()));
    remote_storage = std::make_unique<remote::RetryingStorage>(std::move(*opened));
    config.timeline.remote = remote_storage.get();
    config.timeline.remote_prefix = "timelines";  // the tenant adds "/<name>"
  }
  absl::StatusOr<std::unique_ptr<tenant::Tenant>> opened =
      tenant::Tenant::Open(config.data_dir, config.timeline);
  if (!opened.ok()) {
    return Fail("cannot open the timelines in " + config.data_dir + ": " +
                std::string(opened.status().message()));
  }
  std::unique_ptr<tenant::Tenant> tenant = std::move(*opened);
  std::shared_ptr<storage::Timeline> timeline = *tenant->Get(tenant::kMainTimeline);

  ServiceOptions options;
  options.read_wait_limit = absl::Milliseconds(config.read_wait_limit_ms);
  std::unique_ptr<auth::TokenVerifier> verifier;  // outlives the services
  if (!config.auth_public_keys.empty()) {
    std::vector<std::string> keys;
    for (const std::string& path : config.auth_public_keys) {
      absl::StatusOr<std::vector<uint8_t>> pem = ReadWholeFile(path);
      if (!pem.ok())
        return Fail("--auth-public-key " + path + ": " + std::string(pem.status().message()));
      keys.emplace_back(pem->begin(), pem->end());
    }
    absl::StatusOr<std::unique_ptr<auth::TokenVerifier>> made =
        auth::TokenVerifier::Create(std::move(keys));
    if (!made.ok()) return Fail("--auth-public-key: " + std::string(made.status().message()));
    verifier = std::move(*made);
    options.auth = verifier.get();
    options.metrics_without_auth = config.metrics_without_auth;
  }
  std::shared_ptr<grpc::ServerCredentials> grpc_credentials = grpc::InsecureServerCredentials();
  if (!config.tls.empty()) {
    absl::StatusOr<auth::TlsPems> pems = auth::LoadServerTls(config.tls);
    if (!pems.ok()) return Fail(std::string(pems.status().message()));
    grpc::SslServerCredentialsOptions ssl(
        pems->ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                         : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = pems->ca;
    ssl.pem_key_cert_pairs.push_back({pems->key, pems->cert});
    grpc_credentials = grpc::SslServerCredentials(ssl);
  }
  PageServerMetrics metrics;
  metrics.AddTimelineGauges(*timeline);  // of main
  if (remote_storage) metrics.AddRemoteStorageCounters(*remote_storage);
  PageService service(*tenant, metrics, options);
  HttpApi http(*tenant, metrics, options, tenant.get());
  if (!config.tls.empty()) {
    if (absl::Status s = http.UseTls(config.tls); !s.ok()) return Fail(std::string(s.message()));
  }

  absl::StatusOr<int> http_port = http.Bind(http_host_port->first, http_host_port->second);
  if (!http_port.ok()) return Fail(std::string(http_port.status().message()));

  int grpc_port = 0;
  // The conventions operators' tools expect: the standard health service (grpc.health.v1) for
  // load balancers and probes, and server reflection, so that `grpcurl HOST:PORT list` works.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.grpc_addr, grpc_credentials, &grpc_port);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  // gRPC sets SO_REUSEPORT by default: a second server would share the port, not fail.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&service);
  if (verifier) {  // health and reflection need a token too (service/builtin_services_auth.h)
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(
        MakeBuiltinServicesAuthInterceptorFactory(*verifier, metrics, config.health_without_auth));
    builder.experimental().SetInterceptorCreators(std::move(factories));
  }
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || grpc_port == 0) {
    return Fail("cannot serve gRPC on " + config.grpc_addr);
  }
  http.Start();
  grpc_server->GetHealthCheckService()->SetServingStatus(
      pageserver::PageServer::service_full_name(), true);

  const char* security = config.tls.empty()           ? ""
                         : config.tls.ca_path.empty() ? " (TLS)"
                                                      : " (TLS, client certificates required)";
  std::printf("pageserver: serving gRPC on %s, HTTP on %s%s%s, data in %s, last_record_lsn %llu\n",
              WithPort(config.grpc_addr, grpc_port).c_str(),
              WithPort(config.http_addr, *http_port).c_str(), security,
              verifier ? ", tokens required" : "", config.data_dir.c_str(),
              static_cast<unsigned long long>(timeline->Status().last_record_lsn.value()));
  std::fflush(stdout);

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  std::fprintf(stderr, "pageserver: signal %d, shutting down\n", signal_number);
  grpc_server->GetHealthCheckService()->Shutdown();  // NOT_SERVING from here on
  grpc_server->Shutdown(absl::ToChronoTime(absl::Now() + kShutdownGrace));
  http.Stop();
  grpc_server->Wait();
  std::fprintf(stderr, "pageserver: stopped\n");
  return 0;
}

}  // namespace
}  // namespace pageserver::service

int main(int argc, char** argv) {
  pageserver::KeepLargeBuffersInHeap();
  return pageserver::service::Run(argc, argv);
}
