// getpage_bench --server HOST:PORT --data-dir DIR: GetPage latency and throughput of a running
// pageserver next to their floors, measured in the same process:
//   1. raw loopback TCP round trip, 16-byte request, 16 KiB answer (the floor);
//   2. GetPage unary and over the bidirectional stream, p50/p99, for a page served straight from
//      an image and for pages with chains of 1, 10 and 100 records after their image;
//   3. GetPages batched, 2 client threads (the machine has 2 cores), pages per second, next to
//      the floor: 2 raw loopback TCP connections answering 256 x 16 KiB per request, each page
//      copied out once by the client;
//   4. durable ingest: StreamWAL of synthetic redo in 8 MiB calls, MB/s, next to the floor:
//      pwrite + fdatasync of the same bytes in the same sizes to a file in DIR;
//   5. with --http: GetPage on a branch five levels deep (each level a branch of the one above
//      at its last LSN, with 4 MiB of redo of its own on other pages), p50/p99 next to main,
//      for the pages of part 2, which every read finds in main's layers.
// The server must be empty (the bench imports its own base). Figures go to stdout.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "client/page_server_client.h"
#include "client/timelines_api_client.h"
#include "common/byte_order.h"
#include "common/file_io.h"
#include "common/malloc_tuning.h"
#include "redo/page_checksum.h"
#include "redo/page_format.h"
#include "wal/testing/mtr_builder.h"

namespace pageserver::bench {
namespace {

using Clock = std::chrono::steady_clock;
using wal::testing::Bytes;
using wal::testing::MtrBuilder;

constexpr size_t kPs = 16384;
constexpr SpaceId kSpace(1);
constexpr Lsn kBase(1'000'000);
constexpr uint32_t kBasePages = 4096;
// Synthetic redo (filler, ingest) touches pages from here on; pages 4.. below stay image-only.
constexpr uint32_t kFirstRedoPage = 2048;

struct Percentiles {
  double p50_us = 0, p99_us = 0;
};

Percentiles Summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

double Since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "getpage_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + std::string(s.message()));
}

// ---- 1. the floor: raw TCP, 16 B request, 16 KiB answer ----
// A loopback TCP server that answers each 16-byte request with `pages_per_request` pages of
// 16 KiB, one thread per connection: the floor of a GetPage (one page) or a GetPages batch.
class RawTcpServer {
 public:
  RawTcpServer(int connections, size_t pages_per_request) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    addr_.sin_family = AF_INET;
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr_);
    if (bind(listener_, reinterpret_cast<sockaddr*>(&addr_), len) != 0 ||
        listen(listener_, connections) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&addr_), &len) != 0) {
      Die("raw TCP: cannot listen");
    }
    for (int i = 0; i < connections; ++i) {
      threads_.emplace_back([this, pages_per_request] {
        const int fd = accept(listener_, nullptr, nullptr);
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        const std::vector<uint8_t> answer(kPs * pages_per_request, 0x5A);
        uint8_t req[16];
        for (;;) {
          if (!ReadFull(fd, req, sizeof(req))) break;
          size_t sent = 0;
          while (sent < answer.size()) {
            const ssize_t n = write(fd, answer.data() + sent, answer.size() - sent);
            if (n <= 0) break;
            sent += static_cast<size_t>(n);
          }
        }
        close(fd);
      });
    }
  }
  ~RawTcpServer() {
    for (auto& t : threads_) t.join();
    close(listener_);
  }
  // A connected client socket.
  int Connect() const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof(addr_)) != 0) {
      Die("raw TCP: connect");
    }
    return fd;
  }
  static bool ReadFull(int fd, uint8_t* out, size_t size) {
    for (size_t got = 0; got < size;) {
      const ssize_t n = read(fd, out + got, size - got);
      if (n <= 0) return false;
      got += static_cast<size_t>(n);
    }
    return true;
  }

 private:
  int listener_ = -1;
  sockaddr_in addr_{};
  std::vector<std::thread> threads_;
};

Percentiles RawTcpRoundTrip(int iterations) {
  RawTcpServer server(1, 1);
  const int fd = server.Connect();
  std::vector<uint8_t> buf(kPs);
  std::vector<double> us;
  uint8_t req[16] = {};
  for (int i = 0; i < iterations + 1000; ++i) {
    const auto t0 = Clock::now();
    if (write(fd, req, sizeof(req)) != sizeof(req)) Die("raw TCP: write");
    if (!RawTcpServer::ReadFull(fd, buf.data(), buf.size())) Die("raw TCP: read");
    if (i >= 1000) us.push_back(Since(t0));
  }
  close(fd);
  return Summarize(std::move(us));
}

// The batched floor: `threads` clients, each asking for `batch` pages per request over its own
// loopback connection and copying the answer out once (as a client must), for `seconds`.
double RawTcpPagesPerSecond(int threads, size_t batch, double seconds) {
  RawTcpServer server(threads, batch);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> pages{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&] {
      const int fd = server.Connect();
      std::vector<uint8_t> buf(kPs * batch);
      std::vector<uint8_t> page(kPs);
      uint8_t req[16] = {};
      while (!stop) {
        if (write(fd, req, sizeof(req)) != sizeof(req)) Die("raw TCP: write");
        if (!RawTcpServer::ReadFull(fd, buf.data(), buf.size())) Die("raw TCP: read");
        for (size_t i = 0; i < batch; ++i) std::memcpy(page.data(), &buf[i * kPs], kPs);
        pages += batch;
      }
      close(fd);
    });
  }
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& c : clients) c.join();
  return static_cast<double>(pages.load()) / (Since(t0) / 1e6);
}

// ---- data: a base of kBasePages pages, then chains on pages 1, 2, 3 ----
Bytes BasePage(uint32_t page) {
  Bytes p(kPs, 0);
  WriteBe32(&p[redo::kFilPageOffset], page);
  WriteBe32(&p[redo::kFilPageSpaceId], kSpace.value());
  if (page == 0) {
    WriteBe32(&p[redo::kFspSpaceFlags], 0x15);
    WriteBe32(&p[redo::kFspSize], kBasePages);
  }
  for (size_t i = 100; i < 16000; ++i) p[i] = static_cast<uint8_t>(page + i);
  redo::PrepareForWrite(p, PageId{kSpace, PageNo(page)}, true);
  return p;
}

// One mini-transaction: a WRITE of `n` bytes to `page`.
Bytes WriteMtr(uint32_t page, uint32_t offset, size_t n, uint8_t value) {
  MtrBuilder b;
  b.Write(PageId{kSpace, PageNo(page)}, offset, Bytes(n, value));
  return b.Build(1);
}

void Prepare(client::PageServerClient& c) {
  client::ImportCatalog catalog{kBase, kPs, {{kSpace, "bench/t.ibd", 0x15, kBasePages}}};
  auto writer = c.Import(catalog);
  Check(writer.status(), "import");
  std::vector<Bytes> pages;
  for (uint32_t p = 0; p < kBasePages; p += 64) {
    pages.clear();
    std::vector<client::ImportPage> batch;
    for (uint32_t q = p; q < p + 64; ++q) pages.push_back(BasePage(q));
    for (uint32_t q = 0; q < 64; ++q) batch.push_back({PageId{kSpace, PageNo(p + q)}, pages[q]});
    Check((*writer)->Write(batch), "import write");
  }
  Check((*writer)->Finish().status(), "import finish");
  // Chains: page 1 gets 1 record, page 2 gets 10, page 3 gets 100; page 0 none. Interleaved, as
  // a real log interleaves pages.
  Bytes redo;
  for (int i = 0; i < 100; ++i) {
    for (uint32_t page : {1u, 2u, 3u}) {
      const int chain = page == 1 ? 1 : page == 2 ? 10 : 100;
      if (i >= chain) continue;
      const Bytes m =
          WriteMtr(page, 200 + 8 * static_cast<uint32_t>(i), 8, static_cast<uint8_t>(i));
      redo.insert(redo.end(), m.begin(), m.end());
    }
  }
  Check(c.StreamWal(kBase, redo).status(), "stream chains");
}

Bytes SyntheticRedo(size_t bytes);

// Redo on other pages, so that the chains above leave the in-memory layer for delta layer files
// (the server runs with a small in_memory_layer_bytes for this part).
void PushFiller(client::PageServerClient& c, size_t bytes) {
  auto status = c.GetStatus();
  Check(status.status(), "status");
  Check(c.StreamWal(status->last_record_lsn, SyntheticRedo(bytes)).status(), "filler");
}

struct Row {
  const char* what;
  Percentiles unary, streamed;
};

Percentiles Unary(client::PageServerClient& c, uint32_t page, int n) {
  std::vector<double> us;
  for (int i = 0; i < n + 200; ++i) {
    const auto t0 = Clock::now();
    auto p = c.GetPage(PageId{kSpace, PageNo(page)}, Lsn(0));
    Check(p.status(), "GetPage");
    if (i >= 200) us.push_back(Since(t0));
  }
  return Summarize(std::move(us));
}

Percentiles Streamed(client::PageServerClient& c, uint32_t page, int n) {
  auto stream = c.OpenPageStream();
  Check(stream.status(), "open stream");
  std::vector<double> us;
  for (int i = 0; i < n + 200; ++i) {
    const auto t0 = Clock::now();
    Check((*stream)->Send({PageId{kSpace, PageNo(page)}, Lsn(0)}), "stream send");
    auto p = (*stream)->Receive();
    Check(p.status(), "stream receive");
    if (i >= 200) us.push_back(Since(t0));
  }
  Check((*stream)->Finish(), "stream finish");
  return Summarize(std::move(us));
}

double BatchedPagesPerSecond(client::PageServerClient& c, int threads, double seconds) {
  std::atomic<uint64_t> pages{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<client::PageRequest> batch;
      uint32_t next = static_cast<uint32_t>(t) * 1000;
      while (!stop.load()) {
        batch.clear();
        for (int i = 0; i < 256; ++i) {
          batch.push_back({PageId{kSpace, PageNo(4 + next++ % (kFirstRedoPage - 4))}, Lsn(0)});
        }
        auto r = c.GetPages(batch);
        Check(r.status(), "GetPages");
        pages += batch.size();
      }
    });
  }
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  return static_cast<double>(pages.load()) / (Since(t0) / 1e6);
}

// Synthetic redo like an OLTP log: mini-transactions of 1..6 records on pages all over the base.
Bytes SyntheticRedo(size_t bytes) {
  Bytes redo;
  uint32_t x = 12345;
  while (redo.size() < bytes) {
    MtrBuilder b;
    const int records = 1 + static_cast<int>(x % 6);
    for (int r = 0; r < records; ++r) {
      x = x * 1103515245 + 12345;
      b.Write(PageId{kSpace, PageNo(kFirstRedoPage + (x >> 8) % (kBasePages - kFirstRedoPage))},
              200 + (x >> 4) % 15000, Bytes(8 + x % 120, static_cast<uint8_t>(x)));
    }
    const Bytes m = b.Build(1);
    redo.insert(redo.end(), m.begin(), m.end());
  }
  return redo;
}

// Part 5: branches depth-1 .. depth-`depth`, each of the one before (main first), each with
// `own_bytes` of redo of its own; returns the deepest one's name.
std::string MakeBranchChain(const std::string& server, const std::string& http, int depth,
                            size_t own_bytes) {
  auto api = client::TimelinesApiClient::Create(http);
  Check(api.status(), "timelines API");
  std::string from = "main";
  for (int d = 1; d <= depth; ++d) {
    const std::string name = "depth-" + std::to_string(d);
    auto made = (*api)->CreateBranch({.name = name, .from = from});
    Check(made.status(), "create branch");
    client::Options options;
    options.address = server;
    options.timeline = name;
    auto c = client::PageServerClient::Create(options);
    Check(c.status(), "connect to a branch");
    PushFiller(**c, own_bytes);
    from = name;
  }
  return from;
}

// Part 6: the same data on `plain` and on `secure` (TLS, client certificates and tokens on):
// GetPage unary and GetPages batched on each, side by side.
void CompareSecure(client::PageServerClient& plain, client::PageServerClient& secure,
                   int iterations, double batched_seconds) {
  for (client::PageServerClient* c : {&plain, &secure}) {
    Prepare(*c);
    PushFiller(*c, 16 << 20);
  }
  const struct {
    const char* name;
    uint32_t page;
  } pages[] = {{"image only", 0}, {"chain of 10", 2}};
  for (const auto& p : pages) {  // a round not counted: connections and handshakes made
    Unary(plain, p.page, iterations / 5);
    Unary(secure, p.page, iterations / 5);
  }
  std::printf(
      "GetPage unary, plaintext next to TLS with client certificates and a token "
      "checked on every call (%d requests each)\n",
      iterations);
  std::printf("  %-34s %9s %9s %11s %11s\n", "", "p50 us", "p99 us", "p50 / plain", "p99 / plain");
  for (const auto& p : pages) {
    const Percentiles a = Unary(plain, p.page, iterations);
    const Percentiles b = Unary(secure, p.page, iterations);
    std::printf("  %-34s %9.1f %9.1f %11s %11s\n", (std::string("plaintext   ") + p.name).c_str(),
                a.p50_us, a.p99_us, "1.0x", "1.0x");
    std::printf("  %-34s %9.1f %9.1f %10.2fx %10.2fx\n",
                (std::string("TLS + auth  ") + p.name).c_str(), b.p50_us, b.p99_us,
                b.p50_us / a.p50_us, b.p99_us / a.p99_us);
  }
  const double plain_pps = BatchedPagesPerSecond(plain, 2, batched_seconds);
  const double secure_pps = BatchedPagesPerSecond(secure, 2, batched_seconds);
  std::printf("GetPages batched (256 per call, 2 client threads, image pages)\n");
  std::printf("  %-34s %9.0f pages/s\n", "plaintext", plain_pps);
  std::printf("  %-34s %9.0f pages/s  (%.2fx plaintext)\n", "TLS + auth", secure_pps,
              secure_pps / plain_pps);
}

}  // namespace
}  // namespace pageserver::bench

int main(int argc, char** argv) {
  using namespace pageserver;
  using namespace pageserver::bench;
  KeepLargeBuffersInHeap();  // as the server does: the load generator's cost is not the server's
  CLI::App app{"getpage_bench: GetPage latency/throughput and durable ingest against floors"};
  std::string server, data_dir;
  int iterations = 5000;
  size_t ingest_mb = 256;
  bool latency = true, ingest = true;
  std::string http;
  double batched_seconds = 3.0;
  app.add_option("--server", server, "pageserver gRPC address")->required();
  app.add_option("--data-dir", data_dir, "directory on the same disk as the server's data")
      ->required();
  app.add_option("--iterations", iterations, "timed requests per latency figure");
  app.add_option("--ingest-mb", ingest_mb, "synthetic redo for the ingest figure, MB");
  app.add_option("--batched-seconds", batched_seconds, "how long the GetPages throughput runs");
  app.add_flag("!--no-latency", latency, "skip the latency and throughput part");
  app.add_flag("!--no-ingest", ingest, "skip the ingest part");
  app.add_option("--http", http,
                 "the server's HTTP address: also GetPage on a branch five levels deep (part 5)");
  std::string secure_server, token;
  auth::TlsFiles tls;
  app.add_option("--secure-server", secure_server,
                 "only part 6: a second, empty server with TLS and auth on, compared with "
                 "--server (plaintext)");
  app.add_option("--tls-ca", tls.ca_path, "part 6: the CA of the secure server's certificate");
  app.add_option("--tls-cert", tls.cert_path, "part 6: the client certificate");
  app.add_option("--tls-key", tls.key_path, "part 6: its key");
  app.add_option("--token", token, "part 6: an admin token");
  CLI11_PARSE(app, argc, argv);

  client::Options options;
  options.address = server;
  options.channels = 2;
  auto c = client::PageServerClient::Create(options);
  Check(c.status(), "connect");
  if (!secure_server.empty()) {
    client::Options secure_options = options;
    secure_options.address = secure_server;
    secure_options.tls = tls;
    secure_options.token = token;
    auto secure = client::PageServerClient::Create(secure_options);
    Check(secure.status(), "connect to the secure server");
    CompareSecure(**c, **secure, iterations, batched_seconds);
    return 0;
  }
  if (latency) {
    Prepare(**c);
    PushFiller(**c, 16 << 20);
    auto st = (*c)->GetStatus();
    Check(st.status(), "status");
    std::printf("server: %u image layers, %u delta layers, %llu bytes in memory\n",
                st->image_layers, st->delta_layers,
                static_cast<unsigned long long>(st->in_memory_bytes));

    const Percentiles tcp = RawTcpRoundTrip(iterations * 4);
    std::printf("GetPage latency (loopback, one request in flight, %d requests each)\n",
                iterations);
    std::printf("  %-34s %9s %9s %11s %11s\n", "", "p50 us", "p99 us", "p50 / TCP", "p99 / TCP");
    std::printf("  %-34s %9.1f %9.1f %11s %11s\n", "raw TCP, 16 KiB answer (floor)", tcp.p50_us,
                tcp.p99_us, "1.0x", "1.0x");
    const struct {
      const char* name;
      uint32_t page;
    } pages[] = {{"image only", 0}, {"chain of 1", 1}, {"chain of 10", 2}, {"chain of 100", 3}};
    for (const auto& p : pages) {
      const Percentiles u = Unary(**c, p.page, iterations);
      const Percentiles s = Streamed(**c, p.page, iterations);
      std::printf("  %-34s %9.1f %9.1f %10.1fx %10.1fx\n",
                  (std::string("unary    ") + p.name).c_str(), u.p50_us, u.p99_us,
                  u.p50_us / tcp.p50_us, u.p99_us / tcp.p99_us);
      std::printf("  %-34s %9.1f %9.1f %10.1fx %10.1fx\n",
                  (std::string("streamed ") + p.name).c_str(), s.p50_us, s.p99_us,
                  s.p50_us / tcp.p50_us, s.p99_us / tcp.p99_us);
    }
    if (!http.empty()) {
      constexpr int kDepth = 5;
      client::Options deep_options = options;
      deep_options.timeline = MakeBranchChain(server, http, kDepth, 4 << 20);
      auto deep = client::PageServerClient::Create(deep_options);
      Check(deep.status(), "connect to the deepest branch");
      // A round not counted first: the branches' flushes and compactions settle meanwhile.
      for (const auto& p : pages) {
        Unary(**c, p.page, iterations / 5);
        Unary(**deep, p.page, iterations / 5);
      }
      std::printf(
          "GetPage unary on a branch %d levels deep (each with 4 MiB of redo of its own), "
          "next to main\n",
          kDepth);
      std::printf("  %-34s %9s %9s %11s %11s\n", "", "p50 us", "p99 us", "p50 / main",
                  "p99 / main");
      for (const auto& p : pages) {
        const Percentiles m = Unary(**c, p.page, iterations);
        const Percentiles b = Unary(**deep, p.page, iterations);
        std::printf("  %-34s %9.1f %9.1f %11s %11s\n", (std::string("main     ") + p.name).c_str(),
                    m.p50_us, m.p99_us, "1.0x", "1.0x");
        std::printf("  %-34s %9.1f %9.1f %10.2fx %10.2fx\n",
                    (std::string("depth 5  ") + p.name).c_str(), b.p50_us, b.p99_us,
                    b.p50_us / m.p50_us, b.p99_us / m.p99_us);
      }
    }
    const double floor_pps = RawTcpPagesPerSecond(2, 256, batched_seconds);
    const double pps = BatchedPagesPerSecond(**c, 2, batched_seconds);
    std::printf("GetPages batched (256 per call, 2 client threads, image pages)\n");
    std::printf("  %-34s %9.0f pages/s\n", "raw TCP, 256 x 16 KiB answers (floor)", floor_pps);
    std::printf("  %-34s %9.0f pages/s  (%.2fx the floor)\n", "pageserver GetPages", pps,
                pps / floor_pps);
  }
  if (!ingest) return 0;
  if (!latency) Prepare(**c);

  // Durable ingest against the disk's own write + fdatasync rate, same sizes.
  const Bytes redo = SyntheticRedo(ingest_mb << 20);
  constexpr size_t kCall = 8 << 20;
  auto status = (*c)->GetStatus();
  Check(status.status(), "status");
  Lsn at = status->last_record_lsn;
  auto t0 = Clock::now();
  for (size_t off = 0; off < redo.size(); off += kCall) {
    const size_t n = std::min(kCall, redo.size() - off);
    Check((*c)->StreamWal(at, std::span<const uint8_t>(redo).subspan(off, n), 1 << 20).status(),
          "ingest");
    at = at + n;
  }
  const double ingest_s = Since(t0) / 1e6;
  const std::string path = data_dir + "/disk_floor.bin";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) Die("cannot create " + path);
  t0 = Clock::now();
  for (size_t off = 0; off < redo.size(); off += kCall) {
    const size_t n = std::min(kCall, redo.size() - off);
    Check(WriteFully(fd, off, redo.data() + off, n, path), "disk floor write");
    if (fdatasync(fd) != 0) Die("fdatasync");
  }
  const double disk_s = Since(t0) / 1e6;
  close(fd);
  unlink(path.c_str());
  const double mb = static_cast<double>(redo.size()) / 1e6;
  std::printf("Durable ingest of %.0f MB of synthetic redo in 8 MiB StreamWAL calls\n", mb);
  std::printf("  %-34s %9.1f MB/s\n", "pwrite + fdatasync (floor)", mb / disk_s);
  std::printf("  %-34s %9.1f MB/s  (%.2fx the floor)\n", "pageserver StreamWAL", mb / ingest_s,
              (mb / ingest_s) / (mb / disk_s));
  return 0;
}
