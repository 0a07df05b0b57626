// The daemon's configuration: defaults, then the YAML file, then
// environment variables, then command-line flags (each overrides the last).
#ifndef TENSORD_SERVER_CONFIG_H_
#define TENSORD_SERVER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

namespace tensord {

struct Limits {
  uint64_t max_message_bytes = 8u << 20;   // one gRPC message, either way
  uint64_t max_chunk_bytes = 2u << 20;     // one upload/fetch chunk
  uint64_t max_tensor_bytes = 16ull << 30; // one tensor
  uint64_t max_ops_per_batch = 1u << 20;
  uint64_t max_live_tensors = 1u << 22;    // per session
  // A connection that has not finished its HTTP/2 (and TLS) handshake by
  // then is closed: a client dripping bytes cannot hold a socket for long.
  uint64_t handshake_timeout_ms = 10000;
};

// Transport security for every listen address (docs/security.md).
struct TlsConfig {
  std::string cert;          // PEM certificate chain; empty: plaintext
  std::string key;           // PEM private key of `cert`
  std::string client_ca;     // PEM CA bundle that client certificates must chain to
  bool require_client_cert = false;  // mutual TLS: refuse clients without one
};

struct Config {
  std::vector<std::string> listen = {"127.0.0.1:7070"};
  // HOST:PORT of the Prometheus /metrics endpoint; empty: no metrics.
  std::string metrics_listen = "127.0.0.1:9400";
  int threads = 0;                 // compute threads; 0: OMP_NUM_THREADS or cores
  std::string log_level = "info";
  std::string log_format = "text";  // text, or json: one JSON object per line
  int slow_op_ms = 1000;           // log ops whose kernel runs longer; 0: never
  int session_grace_seconds = 300; // a session with no stream is kept this long
  int drain_timeout_seconds = 30;  // SIGTERM waits this long for queued work
  std::string cuda_library;        // empty: libtensord_cuda.so beside the binary
  bool shared_memory = true;       // same-host clients may move tensors via /dev/shm
  int device_slots = 1;            // kernels of different sessions at once per device
  std::string tenants_file;        // empty: one implicit tenant, no tokens
  bool insecure = false;           // allow non-loopback addresses without auth or TLS
  TlsConfig tls;
  Limits limits;
};

// Reads a YAML file into `config`; returns an error message or "".
std::string LoadConfigFile(const std::string& path, Config& config);
// Applies TENSORD_LISTEN (comma-separated), TENSORD_THREADS,
// TENSORD_LOG_LEVEL, TENSORD_LOG_FORMAT, TENSORD_CUDA_LIBRARY, TENSORD_TENANTS,
// TENSORD_METRICS_LISTEN (set but empty: no metrics).
std::string ApplyEnvironment(Config& config);

}  // namespace tensord

#endif  // TENSORD_SERVER_CONFIG_H_
