// tensord: the tensor execution daemon.
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>
#include <sys/sysinfo.h>

#include <CLI/CLI.hpp>
#include <omp.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <limits>
#include <thread>

#include "kernels/cpu/parallel.h"
#include "kernels/device_backend.h"
#include "kernels/kernel.h"
#include "scheduler/autograd/autograd_ops.h"
#include "server/admin_service.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/cuda_loader.h"
#include "server/health.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/runtime_service.h"
#include "server/tenants.h"
#include "server/transport_security.h"

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

void OnSignal(int sig) { g_stop_signal = sig; }

// The compute thread count for `threads: 0`, and where it came from (for
// the ready line, so an operator sees whether OMP_NUM_THREADS took effect).
int DefaultThreads(const char** source) {
  if (const char* v = std::getenv("OMP_NUM_THREADS"); v && std::atoi(v) > 0) {
    *source = "OMP_NUM_THREADS";
    return std::atoi(v);
  }
  *source = "cores";
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

// `tensord hash-token`: the token on stdin (one trailing newline dropped),
// its SHA-256 in hex on stdout, for a tenants file's token_sha256.
int HashToken() {
  std::string token(std::istreambuf_iterator<char>(std::cin), {});
  if (!token.empty() && token.back() == '\n') token.pop_back();
  if (!token.empty() && token.back() == '\r') token.pop_back();
  if (token.empty()) {
    std::fprintf(stderr, "tensord hash-token: no token on stdin (e.g. `openssl rand -hex 32 | "
                         "tee token | tensord hash-token`)\n");
    return 2;
  }
  std::printf("%s\n", tensord::ToHex(tensord::Sha256(token)).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tensord;
  CLI::App app{"tensord: the tensor execution daemon"};
  app.set_version_flag("--version", std::string("tensord ") + TENSORD_VERSION_STRING);
  std::string config_path;
  std::vector<std::string> listen;
  int threads = -1;
  std::string log_level, log_format;
  std::string metrics_listen;
  app.add_option("--config", config_path, "YAML config file (env TENSORD_CONFIG)");
  app.add_option("--listen", listen,
                 "address to serve on: HOST:PORT or unix:PATH; repeat for several "
                 "(default 127.0.0.1:7070; env TENSORD_LISTEN, comma-separated)");
  app.add_option("--threads", threads, "compute threads (default: OMP_NUM_THREADS, else cores; env TENSORD_THREADS)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error (env TENSORD_LOG_LEVEL)");
  app.add_option("--log-format", log_format,
                 "text (default) or json: one JSON object per line (env TENSORD_LOG_FORMAT)");
  std::string tenants_file, tls_cert, tls_key, tls_client_ca;
  bool insecure = false;
  app.add_option("--tenants", tenants_file,
                 "tenants file: tokens (as SHA-256), weights, quotas; every call then needs a "
                 "token (env TENSORD_TENANTS)");
  app.add_option("--tls-cert", tls_cert, "PEM certificate chain: serve TLS (config tls.cert)");
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert (config tls.key)");
  app.add_option("--tls-client-ca", tls_client_ca,
                 "PEM CA that client certificates must chain to (config tls.client_ca)");
  app.add_flag("--insecure", insecure,
               "allow non-loopback addresses without a tenants file or TLS (trusted networks "
               "only; config insecure)");
  CLI::App* hash_token =
      app.add_subcommand("hash-token", "read a token on stdin, print its SHA-256 (hex) for "
                                       "a tenants file's token_sha256");
  CLI::Option* metrics_flag = app.add_option(
      "--metrics-listen", metrics_listen,
      "HOST:PORT of the Prometheus /metrics endpoint; \"\" disables it (default 127.0.0.1:9400; "
      "env TENSORD_METRICS_LISTEN)");
  app.footer("Precedence: flags > environment > config file > defaults.");
  CLI11_PARSE(app, argc, argv);
  if (hash_token->parsed()) return HashToken();

  Config config;
  if (config_path.empty()) {
    if (const char* v = std::getenv("TENSORD_CONFIG"); v && *v) config_path = v;
  }
  if (!config_path.empty()) {
    if (std::string err = LoadConfigFile(config_path, config); !err.empty()) {
      std::fprintf(stderr, "tensord: %s\n", err.c_str());
      return 2;
    }
  }
  if (std::string err = ApplyEnvironment(config); !err.empty()) {
    std::fprintf(stderr, "tensord: %s\n", err.c_str());
    return 2;
  }
  if (!listen.empty()) config.listen = listen;
  if (threads >= 0) config.threads = threads;
  if (!log_level.empty()) config.log_level = log_level;
  if (!log_format.empty()) config.log_format = log_format;
  if (!tenants_file.empty()) config.tenants_file = tenants_file;
  if (!tls_cert.empty()) config.tls.cert = tls_cert;
  if (!tls_key.empty()) config.tls.key = tls_key;
  if (!tls_client_ca.empty()) config.tls.client_ca = tls_client_ca;
  if (insecure) config.insecure = true;

  std::shared_ptr<const TenantRegistry> tenants;
  if (!config.tenants_file.empty()) {
    std::string err;
    tenants = TenantRegistry::Load(config.tenants_file, &err);
    if (!tenants) {
      std::fprintf(stderr, "tensord: %s\n", err.c_str());
      return 2;
    }
  }
  if (std::string err = CheckListenSecurity(config); !err.empty()) {
    std::fprintf(stderr, "tensord: %s\n", err.c_str());
    return 2;
  }
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (std::string err = MakeServerCredentials(config.tls, &credentials); !err.empty()) {
    std::fprintf(stderr, "tensord: %s\n", err.c_str());
    return 2;
  }
  if (metrics_flag->count() > 0) config.metrics_listen = metrics_listen;

  if (!config.metrics_listen.empty()) {
    if (std::string err = metrics::CheckAddress(config.metrics_listen); !err.empty()) {
      std::fprintf(stderr, "tensord: %s\n", err.c_str());
      return 2;
    }
  }
  const auto level = spdlog::level::from_str(config.log_level);
  if (level == spdlog::level::off && config.log_level != "off") {
    std::fprintf(stderr, "tensord: unknown log level '%s' (trace, debug, info, warn, error, critical, off)\n",
                 config.log_level.c_str());
    return 2;
  }
  LogFormat format;
  if (!ParseLogFormat(config.log_format, &format)) {
    std::fprintf(stderr, "tensord: unknown log format '%s' (text, json)\n", config.log_format.c_str());
    return 2;
  }
  ConfigureLogging(format, level);
  // Protobuf logs parse complaints (a string that is not UTF-8) itself, on
  // stderr: those are a client's fault, so debug level, or a hostile client
  // could flood the log. The stream's own warning says what happened.
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char* file, int line, const std::string& message) {
        spdlog::debug("protobuf {}:{}: {}", file, line, message);
      });
  const char* threads_source = "threads setting";
  SetComputeThreads(config.threads > 0 ? config.threads : DefaultThreads(&threads_source));
  // oneDNN runs its GEMMs on OpenMP: give it the same thread count, so the
  // daemon's compute stays within its configured threads.
  omp_set_num_threads(ComputeThreads());

  // Metrics listen before the CUDA backend loads: a taken port fails the
  // start at once, like a taken --listen address.
  if (!config.metrics_listen.empty()) {
    int port = 0;
    if (std::string err = metrics::Start(config.metrics_listen, &port); !err.empty()) {
      spdlog::critical("{}", err);
      return 1;
    }
    const std::string host = config.metrics_listen.substr(0, config.metrics_listen.rfind(':'));
    spdlog::info("metrics on http://{}:{}/metrics", host, port);
  }

  RegisterCpuKernels();
  autograd::RegisterAutogradKernels();
  if (auto missing = KernelRegistry::Get().Missing(Device::Kind::kCPU); !missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += " " + m;
    spdlog::critical("ops listed for cpu in the schema have no CPU kernel:{}", list);
    return 3;
  }

  std::vector<v1::DeviceInfo> devices;
  {
    v1::DeviceInfo cpu;
    cpu.set_kind("cpu");
    cpu.set_index(0);
    cpu.set_name("cpu (" + std::to_string(ComputeThreads()) + " compute threads)");
    struct sysinfo si {};
    if (sysinfo(&si) == 0) cpu.set_total_memory(static_cast<uint64_t>(si.totalram) * si.mem_unit);
    devices.push_back(cpu);
  }
  CudaBackendStatus cuda = LoadCudaBackend(config.cuda_library);
  if (cuda.backend) {
    InstallCudaBackend(cuda.backend, static_cast<int>(cuda.devices.size()));
    for (const auto& d : cuda.devices) {
      spdlog::info("GPU cuda:{}: {} ({} MiB)", d.index, d.name, d.total_memory >> 20);
      v1::DeviceInfo info;
      info.set_kind("cuda");
      info.set_index(d.index);
      info.set_name(d.name);
      info.set_total_memory(d.total_memory);
      devices.push_back(info);
    }
  } else {
    spdlog::info("no GPU: serving CPU only ({})", cuda.reason);
    SetCudaUnavailableReason(cuda.reason);
  }
  metrics::SetCudaBackend(cuda.backend != nullptr, static_cast<int>(cuda.devices.size()));

  if (tenants) {
    spdlog::info("{} tenant(s) from {}: every call needs a token", tenants->tenants().size(),
                 tenants->path());
  }
  if (!config.tls.cert.empty()) {
    spdlog::info("TLS on every address{}", config.tls.require_client_cert ? ", client certificates required"
                                           : config.tls.client_ca.empty() ? ""
                                           : ", client certificates verified when sent");
  }
  if (config.insecure) {
    spdlog::warn("--insecure: non-loopback addresses allowed without {}",
                 tenants ? "TLS (tokens cross the network in clear)" : "authentication");
  }
  Authenticator authenticator(tenants);
  RuntimeService service(config, devices, authenticator);
  AdminService admin(&service, devices, authenticator);
  metrics::SetSnapshotSource([&service] { return service.MetricsSnapshot(); });
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  for (const auto& addr : config.listen) builder.AddListeningPort(addr, credentials);
  builder.RegisterService(&service);
  builder.RegisterService(&admin);
  const int max_message = static_cast<int>(
      std::min<uint64_t>(config.limits.max_message_bytes, std::numeric_limits<int>::max()));
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  // Slow or vanished peers (docs/security.md, hostile input): a connection
  // must finish its handshake in time, and the daemon pings idle ones so a
  // peer that disappeared without closing its socket is noticed, its
  // stream cancelled and its session left to the grace period.
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             static_cast<int>(std::min<uint64_t>(config.limits.handshake_timeout_ms,
                                                                 std::numeric_limits<int>::max())));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Before the sockets exist: a SIGTERM as soon as a supervisor sees the
  // daemon listening still drains instead of killing it.
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    spdlog::critical("cannot listen on the configured addresses (in use, or not permitted)");
    return 1;
  }
  HealthStatus health(server->GetHealthCheckService());
  admin.set_health(&health);
  health.SetReady();
  // An Admin.Drain that arrived before set_health found no health status to
  // turn: it marked the sessions' side only, seen here.
  if (service.draining()) health.SetDraining();
  for (const auto& addr : config.listen) spdlog::info("listening on {}", addr);
  spdlog::info("tensord {} ready: {} compute threads (from {}), op schema {}",
               TENSORD_VERSION_STRING, ComputeThreads(), threads_source, OpSchemaVersion());

  int ticks = 0;
  while (!g_stop_signal) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (++ticks % 20 == 0) {
      service.ReapIdleSessions();
      metrics::RefreshDeviceMemory();
    }
  }
  spdlog::info("signal {}: draining {} session(s)", static_cast<int>(g_stop_signal),
               service.session_count());
  health.SetDraining();
  service.Drain(config.drain_timeout_seconds);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  spdlog::info("stopped");
  spdlog::shutdown();
  // Queued work has run and every stream is closed. Skip static teardown:
  // gRPC 1.51's library shutdown can sit in a 10 s epoll_wait joining its
  // executor thread, which would make a clean SIGTERM look like a hang.
  std::fflush(nullptr);
  std::_Exit(0);
}
