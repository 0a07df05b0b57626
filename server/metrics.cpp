#include "server/metrics.h"

#include <dirent.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "kernels/core/quota_observer.h"
#include "kernels/device_backend.h"
#include "kernels/schema/op_schema.h"
#include "server/build_info.h"

namespace tensord::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::Counter;
using prometheus::Histogram;
using prometheus::MetricFamily;
using prometheus::MetricType;

const auto g_process_start = std::chrono::steady_clock::now();

// Op latencies run from a microsecond (a tiny CPU op) to seconds (a large
// convolution); batches and fetches from tens of microseconds up.
const Histogram::BucketBoundaries kOpBuckets = {1e-6,   2.5e-6, 1e-5,   2.5e-5, 1e-4,
                                                2.5e-4, 1e-3,   2.5e-3, 1e-2,   2.5e-2,
                                                0.1,    0.25,   1.0,    2.5,    10.0};
const Histogram::BucketBoundaries kRequestBuckets = {1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2,
                                                     5e-2, 0.1,  0.5,  1.0,  5.0,  30.0};

std::string DeviceLabel(size_t slot) {
  return slot == 0 ? "cpu" : "cuda:" + std::to_string(slot - 1);
}

const char* GrpcCodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

ClientMetric Sample(double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  m.counter.value = value;
  return m;
}

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

// The process metrics every Prometheus client library exports (prometheus-cpp
// has none), read from /proc at scrape time.
void CollectProcess(std::vector<MetricFamily>& out) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start at field 3.
  std::vector<std::string> fields;
  if (auto close = stat.rfind(')'); close != std::string::npos) {
    std::istringstream rest(stat.substr(close + 2));
    for (std::string f; rest >> f;) fields.push_back(f);
  }
  auto field = [&](size_t n) { return n - 3 < fields.size() ? std::stod(fields[n - 3]) : 0.0; };
  if (fields.size() >= 22) {
    auto cpu = Family("process_cpu_seconds_total", "User and system CPU time spent in seconds.",
                      MetricType::Counter);
    cpu.metric.push_back(Sample((field(14) + field(15)) / ticks));
    out.push_back(std::move(cpu));
    double boot = 0;
    std::ifstream proc_stat("/proc/stat");
    for (std::string line; std::getline(proc_stat, line);) {
      if (line.rfind("btime ", 0) == 0) boot = std::stod(line.substr(6));
    }
    auto start =
        Family("process_start_time_seconds",
               "Start time of the process since unix epoch in seconds.", MetricType::Gauge);
    start.metric.push_back(Sample(boot + field(22) / ticks));
    out.push_back(std::move(start));
  }
  std::ifstream statm("/proc/self/statm");
  double virtual_pages = 0, resident_pages = 0;
  if (statm >> virtual_pages >> resident_pages) {
    auto rss = Family("process_resident_memory_bytes", "Resident memory size in bytes.",
                      MetricType::Gauge);
    rss.metric.push_back(Sample(resident_pages * page));
    out.push_back(std::move(rss));
    auto vms =
        Family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge);
    vms.metric.push_back(Sample(virtual_pages * page));
    out.push_back(std::move(vms));
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    int n = 0;
    while (dirent* e = readdir(dir)) n += e->d_name[0] != '.';
    closedir(dir);
    auto fds = Family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
    fds.metric.push_back(Sample(n - 1));  // less the one reading the directory
    out.push_back(std::move(fds));
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    auto max =
        Family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge);
    max.metric.push_back(Sample(static_cast<double>(limit.rlim_cur)));
    out.push_back(std::move(max));
  }
}

// Gauges of what the daemon holds now: asked of the daemon at each scrape
// rather than updated on every change, so the hot paths never touch them.
class StateCollector final : public prometheus::Collectable {
 public:
  StateCollector() {
    for (auto& bytes : reserved_) bytes.store(-1);
  }

  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;
    SnapshotSource source;
    int gpus = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      source = source_;
      gpus = gpus_;
    }
    auto sessions = Family("tensord_sessions", "Open sessions, by tenant.", MetricType::Gauge);
    auto queued =
        Family("tensord_queue_depth",
               "Client messages queued in sessions' executors, waiting to run, by tenant.",
               MetricType::Gauge);
    auto used = Family("tensord_memory_used_bytes",
                       "Bytes of live tensor storage, by device and tenant.", MetricType::Gauge);
    auto quota =
        Family("tensord_memory_quota_bytes",
               "The tenant's memory quota on the device (absent: no quota).", MetricType::Gauge);
    std::vector<TenantSnapshot> tenants;
    if (source) tenants = source();
    for (const TenantSnapshot& t : tenants) {
      sessions.metric.push_back(Sample(static_cast<double>(t.sessions), {{"tenant", t.tenant}}));
      queued.metric.push_back(Sample(static_cast<double>(t.queued_work), {{"tenant", t.tenant}}));
      for (size_t slot = 0; slot < MemoryQuota::kSlots; ++slot) {
        // The CPU always; a GPU slot once something lives there or is capped.
        if (slot == 0 || t.memory_bytes[slot] != 0 || t.quota_bytes[slot] != 0) {
          used.metric.push_back(Sample(static_cast<double>(t.memory_bytes[slot]),
                                       {{"device", DeviceLabel(slot)}, {"tenant", t.tenant}}));
        }
        if (t.quota_bytes[slot] > 0) {
          quota.metric.push_back(Sample(static_cast<double>(t.quota_bytes[slot]),
                                        {{"device", DeviceLabel(slot)}, {"tenant", t.tenant}}));
        }
      }
    }
    out.push_back(std::move(sessions));
    out.push_back(std::move(queued));
    out.push_back(std::move(used));
    // Families without samples are left out, as prometheus-cpp's own are.
    if (!quota.metric.empty()) out.push_back(std::move(quota));
    auto reserved = Family("tensord_device_memory_reserved_bytes",
                           "Bytes the GPU caching allocator holds from the driver (in use or "
                           "cached for reuse), by device.",
                           MetricType::Gauge);
    for (int d = 0; d < gpus; ++d) {
      const int64_t bytes = reserved_[d].load(std::memory_order_relaxed);
      if (bytes >= 0) {
        reserved.metric.push_back(
            Sample(static_cast<double>(bytes), {{"device", DeviceLabel(1 + d)}}));
      }
    }
    if (!reserved.metric.empty()) out.push_back(std::move(reserved));
    auto uptime =
        Family("tensord_uptime_seconds", "Seconds since the daemon started.", MetricType::Gauge);
    uptime.metric.push_back(Sample(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - g_process_start).count()));
    out.push_back(std::move(uptime));
    CollectProcess(out);
    return out;
  }

  void set_source(SnapshotSource source) {
    std::lock_guard<std::mutex> lock(mu_);
    source_ = std::move(source);
  }
  void set_gpus(int gpus) {
    std::lock_guard<std::mutex> lock(mu_);
    gpus_ = std::min(gpus, kMaxGpus);
  }
  int gpus() const {
    std::lock_guard<std::mutex> lock(mu_);
    return gpus_;
  }
  // -1 until read (or when the backend cannot say).
  void set_reserved(int device, int64_t bytes) { reserved_[device].store(bytes); }

  static constexpr int kMaxGpus = static_cast<int>(MemoryQuota::kSlots) - 1;

 private:
  mutable std::mutex mu_;
  SnapshotSource source_;
  int gpus_ = 0;
  std::array<std::atomic<int64_t>, kMaxGpus> reserved_{};
};

// One op's series on one device, created the first time it runs there.
struct OpSeries {
  Counter* count;
  Histogram* latency;
};

struct State {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<StateCollector> collector = std::make_shared<StateCollector>();
  std::unique_ptr<prometheus::Exposer> exposer;

  prometheus::Family<Counter>& ops =
      prometheus::BuildCounter()
          .Name("tensord_ops_total")
          .Help("Ops executed (successfully or not), by op and device.")
          .Register(*registry);
  prometheus::Family<Histogram>& op_latency =
      prometheus::BuildHistogram()
          .Name("tensord_op_duration_seconds")
          .Help(
              "Time an op takes on the session's executor, by op and device (for GPU ops: "
              "checking and launching; the kernel runs asynchronously).")
          .Register(*registry);
  Histogram& batch_latency =
      prometheus::BuildHistogram()
          .Name("tensord_batch_duration_seconds")
          .Help("Time to run one batch of op records (ops, fetches, releases).")
          .Register(*registry)
          .Add({}, kRequestBuckets);
  Histogram& fetch_latency =
      prometheus::BuildHistogram()
          .Name("tensord_fetch_duration_seconds")
          .Help("Time to answer a fetch: copy to host and queue the reply chunks.")
          .Register(*registry)
          .Add({}, kRequestBuckets);
  prometheus::Family<Counter>& fetched =
      prometheus::BuildCounter()
          .Name("tensord_fetched_bytes_total")
          .Help("Tensor bytes sent to clients, by transport (stream or shared_memory).")
          .Register(*registry);
  prometheus::Family<Counter>& uploaded =
      prometheus::BuildCounter()
          .Name("tensord_uploaded_bytes_total")
          .Help("Tensor bytes received from clients, by transport (stream or shared_memory).")
          .Register(*registry);
  std::array<Counter*, 2> fetched_by{&fetched.Add({{"transport", "stream"}}),
                                     &fetched.Add({{"transport", "shared_memory"}})};
  std::array<Counter*, 2> uploaded_by{&uploaded.Add({{"transport", "stream"}}),
                                      &uploaded.Add({{"transport", "shared_memory"}})};
  prometheus::Family<Counter>& errors =
      prometheus::BuildCounter()
          .Name("tensord_errors_total")
          .Help("Errors returned to clients, by gRPC status code.")
          .Register(*registry);
  prometheus::Family<Counter>& rejections =
      prometheus::BuildCounter()
          .Name("tensord_quota_rejections_total")
          .Help("Requests refused by a quota or limit, by its config key.")
          .Register(*registry);
  prometheus::Family<Counter>& sessions_opened = prometheus::BuildCounter()
                                                     .Name("tensord_sessions_opened_total")
                                                     .Help("Sessions opened, by tenant.")
                                                     .Register(*registry);
  Counter& backpressure =
      prometheus::BuildCounter()
          .Name("tensord_stream_backpressure_total")
          .Help("Times a session's stream stopped reading because its queue was full.")
          .Register(*registry)
          .Add({});
  prometheus::Family<prometheus::Gauge>& build_info =
      prometheus::BuildGauge()
          .Name("tensord_build_info")
          .Help(
              "Always 1; the labels say the version, the git commit and whether the CUDA "
              "backend is loaded.")
          .Register(*registry);
  prometheus::Gauge* build_info_sample = nullptr;

  std::mutex mu;  // creating series; the label families lock themselves too
  std::array<Counter*, 17> errors_by_code{};
  std::vector<std::atomic<OpSeries*>> op_series;

  explicit State(size_t op_count) : op_series(op_count * MemoryQuota::kSlots) {
    SetBuildInfo(false);
  }

  void SetBuildInfo(bool cuda) {
    std::lock_guard<std::mutex> lock(mu);
    if (build_info_sample) build_info.Remove(build_info_sample);
    build_info_sample = &build_info.Add({{"version", TENSORD_VERSION_STRING},
                                         {"git_hash", BuildGitHash()},
                                         {"cuda", cuda ? "yes" : "no"}});
    build_info_sample->Set(1);
  }

  OpSeries* CreateOpSeries(size_t op_index, size_t slot) {
    std::lock_guard<std::mutex> lock(mu);
    std::atomic<OpSeries*>& cell = op_series[op_index * MemoryQuota::kSlots + slot];
    if (OpSeries* s = cell.load()) return s;
    const prometheus::Labels labels{{"op", AllOps()[op_index].name}, {"device", DeviceLabel(slot)}};
    auto* s = new OpSeries{&ops.Add(labels), &op_latency.Add(labels, kOpBuckets)};
    cell.store(s, std::memory_order_release);
    return s;
  }
};

// Set once by Start and never freed: the daemon exits without static
// teardown, and recording threads may run until the very end.
std::atomic<State*> g_state{nullptr};

}  // namespace

std::string CheckAddress(const std::string& address) {
  // civetweb reads suffixes on the port ("9400s": TLS, "9400r": redirect)
  // and lists ("80,443"): only a plain HOST:PORT is ours to accept.
  const size_t colon = address.rfind(':');
  bool ok = colon != std::string::npos && colon > 0 && colon + 1 < address.size() &&
            address.find_first_of(", \t") == std::string::npos;
  if (ok) {
    int port = -1;
    const char* first = address.data() + colon + 1;
    const char* last = address.data() + address.size();
    auto [end, ec] = std::from_chars(first, last, port);
    ok = ec == std::errc() && end == last && port >= 0 && port <= 65535;
  }
  if (ok) return "";
  return "metrics_listen: expected HOST:PORT (e.g. 127.0.0.1:9400), or \"\" to disable; got '" +
         address + "'";
}

std::string Start(const std::string& address, int* port) {
  if (std::string err = CheckAddress(address); !err.empty()) return err;
  auto state = std::make_unique<State>(AllOps().size());
  try {
    state->exposer = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return "cannot serve metrics on " + address + " (in use, or not permitted): " + e.what();
  }
  state->exposer->RegisterCollectable(state->registry);
  state->exposer->RegisterCollectable(state->collector);
  const std::vector<int> ports = state->exposer->GetListeningPorts();
  *port = ports.empty() ? 0 : ports.front();
  g_state.store(state.release(), std::memory_order_release);
  SetMemoryQuotaRejectionObserver([](const Device& device) {
    QuotaRejected(device.is_cpu() ? "quotas.memory_bytes.cpu" : "quotas.memory_bytes.cuda");
  });
  return "";
}

bool Enabled() { return g_state.load(std::memory_order_relaxed) != nullptr; }

void SetSnapshotSource(SnapshotSource source) {
  if (State* s = g_state.load(std::memory_order_acquire))
    s->collector->set_source(std::move(source));
}

void SetCudaBackend(bool loaded, int gpu_count) {
  if (State* s = g_state.load(std::memory_order_acquire)) {
    s->SetBuildInfo(loaded);
    s->collector->set_gpus(loaded ? gpu_count : 0);
  }
}

void RefreshDeviceMemory() {
  State* s = g_state.load(std::memory_order_acquire);
  const TensordCudaBackend* cuda = CudaBackend();
  if (!s || !cuda) return;
  for (int d = 0; d < s->collector->gpus(); ++d) {
    TensordCudaAllocatorStats stats{};
    const bool ok = cuda->allocator_stats(d, &stats) == 0;
    s->collector->set_reserved(d, ok ? static_cast<int64_t>(stats.bytes_reserved) : -1);
  }
}

void OpExecuted(int op_index, const Device& device, double seconds) {
  State* s = g_state.load(std::memory_order_acquire);
  if (!s || op_index < 0 || static_cast<size_t>(op_index) >= AllOps().size()) return;
  const size_t slot = MemoryQuota::Slot(device);
  OpSeries* series =
      s->op_series[op_index * MemoryQuota::kSlots + slot].load(std::memory_order_acquire);
  if (!series) series = s->CreateOpSeries(op_index, slot);
  series->count->Increment();
  series->latency->Observe(seconds);
}

void BatchExecuted(double seconds) {
  if (State* s = g_state.load(std::memory_order_acquire)) s->batch_latency.Observe(seconds);
}

void Fetched(uint64_t bytes, Transport transport, double seconds) {
  if (State* s = g_state.load(std::memory_order_acquire)) {
    s->fetched_by[transport == Transport::kSharedMemory]->Increment(static_cast<double>(bytes));
    s->fetch_latency.Observe(seconds);
  }
}

void Uploaded(uint64_t bytes, Transport transport) {
  if (State* s = g_state.load(std::memory_order_acquire)) {
    s->uploaded_by[transport == Transport::kSharedMemory]->Increment(static_cast<double>(bytes));
  }
}

void ErrorReturned(int grpc_code) {
  State* s = g_state.load(std::memory_order_acquire);
  if (!s || grpc_code == 0) return;
  const int code = grpc_code > 0 && grpc_code <= 16 ? grpc_code : 2;  // else UNKNOWN
  Counter* counter;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    Counter*& cell = s->errors_by_code[code];
    if (!cell) cell = &s->errors.Add({{"code", GrpcCodeName(code)}});
    counter = cell;
  }
  counter->Increment();
}

void QuotaRejected(const std::string& quota) {
  if (State* s = g_state.load(std::memory_order_acquire))
    s->rejections.Add({{"quota", quota}}).Increment();
}

void SessionOpened(const std::string& tenant) {
  if (State* s = g_state.load(std::memory_order_acquire)) {
    s->sessions_opened.Add({{"tenant", tenant}}).Increment();
  }
}

void StreamBackpressure() {
  if (State* s = g_state.load(std::memory_order_acquire)) s->backpressure.Increment();
}

}  // namespace tensord::metrics
