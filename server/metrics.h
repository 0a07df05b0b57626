// The daemon's Prometheus metrics, served over HTTP on their own listener
// (--metrics-listen, path /metrics). This header is plain C++ on purpose:
// prometheus-cpp stays inside metrics.cpp, so the widely included headers
// (and the build time of every TU that includes them) never see it.
//
// Threading: every function may be called from any thread. Until Start()
// succeeds (or when metrics are disabled) the recording functions return at
// once, so a daemon without metrics pays one branch per call.
//
// Labels stay bounded: op names come from the schema, devices from the
// device slots, tenants from the tenants file, codes from gRPC, quotas from
// the config keys. Session ids and tensor ids are never labels.
#ifndef TENSORD_SERVER_METRICS_H_
#define TENSORD_SERVER_METRICS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/core/tensor.h"

namespace tensord::metrics {

// What the daemon holds right now, per tenant; gathered at each scrape.
struct TenantSnapshot {
  std::string tenant;
  int64_t sessions = 0;
  int64_t queued_work = 0;  // messages waiting in its sessions' executors
  // Bytes of live storages by device slot (MemoryQuota::Slot), and the
  // tenant's quota there (0: no quota).
  std::array<int64_t, MemoryQuota::kSlots> memory_bytes{};
  std::array<int64_t, MemoryQuota::kSlots> quota_bytes{};
};
using SnapshotSource = std::function<std::vector<TenantSnapshot>()>;

// An error message when `address` is not HOST:PORT (port 0..65535), else "".
std::string CheckAddress(const std::string& address);
// Starts serving /metrics on `address` (HOST:PORT; port 0 picks a free
// port). Returns an error message, or "" and sets `*port` to the port bound.
std::string Start(const std::string& address, int* port);
// True once Start() succeeded: callers skip timing work when false.
bool Enabled();
// The daemon's state at scrape time (sessions, queues, memory by tenant).
// Set once, before clients can connect; the source must be thread-safe.
void SetSnapshotSource(SnapshotSource source);
// Build facts for tensord_build_info: whether the CUDA backend is loaded,
// and the devices it serves (for the reserved-memory gauge).
void SetCudaBackend(bool loaded, int gpu_count);
// Reads the GPU caching allocator's reserved bytes for the next scrapes.
// Called about once a second from the daemon's main thread, so that CUDA
// is never entered on the HTTP server's small-stack threads.
void RefreshDeviceMemory();

// One op of the schema ran (successfully or not) on `device` in `seconds`.
void OpExecuted(int op_index, const Device& device, double seconds);
// One batch of op records ran in `seconds` (its ops, fetches and releases).
void BatchExecuted(double seconds);
// A fetch finished in `seconds` and moved `bytes` to the client.
enum class Transport { kStream, kSharedMemory };
void Fetched(uint64_t bytes, Transport transport, double seconds);
void Uploaded(uint64_t bytes, Transport transport);
// The daemon answered a client with a gRPC error code (an op error, a failed
// fetch or upload, a refused RPC).
void ErrorReturned(int grpc_code);
// A request was refused for a quota or limit; `quota` names the config key
// ("limits.max_live_tensors", "quotas.memory_bytes.cuda", ...).
void QuotaRejected(const std::string& quota);
// A session was opened for `tenant`.
void SessionOpened(const std::string& tenant);
// A session's stream stopped reading because too much work was queued.
void StreamBackpressure();

}  // namespace tensord::metrics

#endif  // TENSORD_SERVER_METRICS_H_
