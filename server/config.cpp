#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace tensord {
namespace {

template <typename T>
void Read(const YAML::Node& node, const char* key, T& out) {
  if (node[key]) out = node[key].as<T>();
}

// A key of `node` that this version does not know, or "" when all are known.
std::string UnknownKey(const YAML::Node& node, std::initializer_list<const char*> known) {
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (std::find_if(known.begin(), known.end(), [&](const char* k) { return key == k; }) ==
        known.end()) {
      return key;
    }
  }
  return "";
}

}  // namespace

std::string LoadConfigFile(const std::string& path, Config& config) {
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (root.IsNull()) return "";
    if (!root.IsMap()) return "config " + path + ": expected a mapping of settings";
    if (std::string k = UnknownKey(root, {"listen", "metrics_listen", "threads", "log_level",
                                          "log_format", "slow_op_ms", "session_grace_seconds",
                                          "drain_timeout_seconds", "cuda_library", "shared_memory",
                                          "device_slots", "limits", "tenants_file", "insecure",
                                          "tls"});
        !k.empty()) {
      return "config " + path + ": unknown setting '" + k + "'";
    }
    if (root["limits"] && !root["limits"].IsMap()) {
      return "config " + path + ": 'limits' must be a mapping";
    }
    if (root["limits"]) {
      if (std::string k = UnknownKey(root["limits"], {"max_message_bytes", "max_chunk_bytes",
                                                      "max_tensor_bytes", "max_ops_per_batch",
                                                      "max_live_tensors", "handshake_timeout_ms"});
          !k.empty()) {
        return "config " + path + ": unknown setting 'limits." + k + "'";
      }
    }
    if (root["tls"] && !root["tls"].IsMap()) {
      return "config " + path + ": 'tls' must be a mapping";
    }
    if (root["tls"]) {
      if (std::string k = UnknownKey(root["tls"], {"cert", "key", "client_ca",
                                                   "require_client_cert"});
          !k.empty()) {
        return "config " + path + ": unknown setting 'tls." + k + "'";
      }
    }
    if (root["listen"]) {
      config.listen.clear();
      if (root["listen"].IsSequence()) {
        for (const auto& n : root["listen"]) config.listen.push_back(n.as<std::string>());
      } else {
        config.listen.push_back(root["listen"].as<std::string>());
      }
    }
    if (root["metrics_listen"]) {
      // A bare `metrics_listen:` is YAML null: read it as "" (disabled).
      const YAML::Node n = root["metrics_listen"];
      if (!n.IsNull() && !n.IsScalar()) {
        return "config " + path + ": 'metrics_listen' must be HOST:PORT or \"\"";
      }
      config.metrics_listen = n.IsNull() ? "" : n.as<std::string>();
    }
    Read(root, "threads", config.threads);
    Read(root, "log_level", config.log_level);
    Read(root, "log_format", config.log_format);
    Read(root, "slow_op_ms", config.slow_op_ms);
    Read(root, "session_grace_seconds", config.session_grace_seconds);
    Read(root, "drain_timeout_seconds", config.drain_timeout_seconds);
    Read(root, "cuda_library", config.cuda_library);
    Read(root, "shared_memory", config.shared_memory);
    Read(root, "device_slots", config.device_slots);
    Read(root, "tenants_file", config.tenants_file);
    Read(root, "insecure", config.insecure);
    if (const YAML::Node tls = root["tls"]) {
      Read(tls, "cert", config.tls.cert);
      Read(tls, "key", config.tls.key);
      Read(tls, "client_ca", config.tls.client_ca);
      Read(tls, "require_client_cert", config.tls.require_client_cert);
    }
    if (const YAML::Node limits = root["limits"]) {
      Read(limits, "max_message_bytes", config.limits.max_message_bytes);
      Read(limits, "max_chunk_bytes", config.limits.max_chunk_bytes);
      Read(limits, "max_tensor_bytes", config.limits.max_tensor_bytes);
      Read(limits, "max_ops_per_batch", config.limits.max_ops_per_batch);
      Read(limits, "max_live_tensors", config.limits.max_live_tensors);
      Read(limits, "handshake_timeout_ms", config.limits.handshake_timeout_ms);
    }
  } catch (const YAML::Exception& e) {
    return "config " + path + ": " + e.what();
  }
  if (config.device_slots < 1 || config.device_slots > 1024) {
    return "config " + path + ": device_slots must be between 1 and 1024";
  }
  if (config.slow_op_ms < 0) return "config " + path + ": slow_op_ms must be 0 (off) or more";
  if (config.limits.max_chunk_bytes + (64u << 10) > config.limits.max_message_bytes) {
    return "config " + path + ": limits.max_chunk_bytes must be at least 64 KiB below "
           "limits.max_message_bytes";
  }
  return "";
}

std::string ApplyEnvironment(Config& config) {
  if (const char* v = std::getenv("TENSORD_LISTEN"); v && *v) {
    config.listen.clear();
    std::stringstream ss(v);
    for (std::string item; std::getline(ss, item, ',');) {
      if (!item.empty()) config.listen.push_back(item);
    }
  }
  if (const char* v = std::getenv("TENSORD_THREADS"); v && *v) {
    char* end = nullptr;
    long n = std::strtol(v, &end, 10);
    if (*end || n < 0 || n > 1024) return std::string("TENSORD_THREADS: not a thread count: ") + v;
    config.threads = static_cast<int>(n);
  }
  if (const char* v = std::getenv("TENSORD_LOG_LEVEL"); v && *v) config.log_level = v;
  if (const char* v = std::getenv("TENSORD_LOG_FORMAT"); v && *v) config.log_format = v;
  if (const char* v = std::getenv("TENSORD_CUDA_LIBRARY"); v && *v) config.cuda_library = v;
  if (const char* v = std::getenv("TENSORD_TENANTS"); v && *v) config.tenants_file = v;
  // Set but empty means "no metrics", so this one is read even when empty.
  if (const char* v = std::getenv("TENSORD_METRICS_LISTEN")) config.metrics_listen = v;
  return "";
}

}  // namespace tensord
