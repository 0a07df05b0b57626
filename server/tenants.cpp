#include "server/tenants.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>

namespace tensord {
namespace {

// A problem in the tenants file; the loader adds the file's name.
struct BadTenants : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string Where(const std::string& tenant, const std::string& key) {
  return "tenant '" + tenant + "': " + key;
}

std::string ScalarOf(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) throw BadTenants(where + ": expected a single value");
  return node.Scalar();
}

// A positive whole number (no sign, no fraction, no suffix).
uint64_t PositiveInteger(const YAML::Node& node, const std::string& where) {
  const std::string s = ScalarOf(node, where);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v == 0) {
    throw BadTenants(where + ": expected a positive integer, got '" + s + "'");
  }
  return v;
}

double PositiveNumber(const YAML::Node& node, const std::string& where) {
  const std::string s = ScalarOf(node, where);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) ||
      v <= 0) {
    throw BadTenants(where + ": expected a positive number, got '" + s + "'");
  }
  return v;
}

bool Boolean(const YAML::Node& node, const std::string& where) {
  const std::string s = ScalarOf(node, where);
  if (s == "true") return true;
  if (s == "false") return false;
  throw BadTenants(where + ": expected true or false, got '" + s + "'");
}

void RejectUnknownKeys(const YAML::Node& node, std::initializer_list<const char*> known,
                       const std::string& where) {
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
      std::string list;
      for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
      throw BadTenants(where + "unknown key '" + key + "' (known: " + list + ")");
    }
  }
}

std::array<unsigned char, 32> HexDigest(const YAML::Node& node, const std::string& where) {
  const std::string s = ScalarOf(node, where);
  std::array<unsigned char, 32> out{};
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  bool ok = s.size() == 64;
  for (size_t i = 0; ok && i < 32; ++i) {
    const int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  if (!ok) {
    // Not echoed: a plain token pasted here by mistake must not reach a log.
    throw BadTenants(where + ": expected 64 hex digits (the SHA-256 of the token, from "
                     "`tensord hash-token`), got " + std::to_string(s.size()) + " characters");
  }
  return out;
}

TenantQuotas ParseQuotas(const YAML::Node& node, const std::string& tenant) {
  TenantQuotas q;
  if (!node.IsMap()) throw BadTenants(Where(tenant, "quotas") + ": expected a mapping");
  RejectUnknownKeys(node, {"memory_bytes", "sessions", "tensor_bytes", "ops_per_batch",
                           "requests_per_second"},
                    Where(tenant, "quotas: "));
  if (const YAML::Node mem = node["memory_bytes"]) {
    if (!mem.IsMap()) {
      throw BadTenants(Where(tenant, "quotas.memory_bytes") +
                       ": expected a mapping of device kind (cpu, cuda) to bytes");
    }
    RejectUnknownKeys(mem, {"cpu", "cuda"}, Where(tenant, "quotas.memory_bytes: "));
    for (const auto& kv : mem) {
      const std::string kind = kv.first.as<std::string>();
      q.memory_bytes[kind] = PositiveInteger(kv.second, Where(tenant, "quotas.memory_bytes." + kind));
    }
  }
  if (node["sessions"]) q.sessions = PositiveInteger(node["sessions"], Where(tenant, "quotas.sessions"));
  if (node["tensor_bytes"]) {
    q.tensor_bytes = PositiveInteger(node["tensor_bytes"], Where(tenant, "quotas.tensor_bytes"));
  }
  if (node["ops_per_batch"]) {
    q.ops_per_batch = PositiveInteger(node["ops_per_batch"], Where(tenant, "quotas.ops_per_batch"));
  }
  if (node["requests_per_second"]) {
    q.requests_per_second =
        PositiveNumber(node["requests_per_second"], Where(tenant, "quotas.requests_per_second"));
  }
  return q;
}

// Names appear in logs and metric labels: keep them to a safe alphabet.
bool ValidName(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
         });
}

Tenant ParseTenant(const std::string& name, const YAML::Node& node) {
  if (!ValidName(name)) {
    throw BadTenants("tenant name '" + name +
                     "': use 1-64 letters, digits, '_', '-' or '.'");
  }
  if (!node.IsMap()) throw BadTenants("tenant '" + name + "': expected a mapping of settings");
  RejectUnknownKeys(node, {"token_sha256", "weight", "admin", "quotas"}, Where(name, ""));
  Tenant t;
  t.name = name;
  if (!node["token_sha256"]) {
    throw BadTenants(Where(name, "token_sha256") + ": missing (every tenant needs a token hash)");
  }
  t.token_sha256 = HexDigest(node["token_sha256"], Where(name, "token_sha256"));
  if (node["weight"]) {
    const uint64_t w = PositiveInteger(node["weight"], Where(name, "weight"));
    if (w > 1000000) {
      throw BadTenants(Where(name, "weight") + ": at most 1000000, got " + std::to_string(w));
    }
    t.weight = static_cast<uint32_t>(w);
  }
  if (node["admin"]) t.admin = Boolean(node["admin"], Where(name, "admin"));
  if (node["quotas"]) t.quotas = ParseQuotas(node["quotas"], name);
  return t;
}

}  // namespace

std::optional<uint64_t> TenantQuotas::memory_limit(std::string_view device_kind) const {
  auto it = memory_bytes.find(std::string(device_kind));
  if (it == memory_bytes.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<const TenantRegistry> TenantRegistry::Load(const std::string& path,
                                                           std::string* error) {
  auto registry = std::make_shared<TenantRegistry>();
  registry->path_ = path;
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root.IsMap()) throw BadTenants("expected a mapping with a 'tenants' key");
    RejectUnknownKeys(root, {"tenants"}, "");
    const YAML::Node tenants = root["tenants"];
    if (!tenants || !tenants.IsMap() || tenants.size() == 0) {
      throw BadTenants("'tenants' must map at least one tenant name to its settings");
    }
    std::set<std::array<unsigned char, 32>> hashes;
    for (const auto& kv : tenants) {
      const std::string name = kv.first.as<std::string>();
      Tenant t = ParseTenant(name, kv.second);
      if (!hashes.insert(t.token_sha256).second) {
        // Two tenants with one token: a caller could not be told apart.
        throw BadTenants(Where(name, "token_sha256") + ": the same hash as another tenant's");
      }
      registry->tenants_.push_back(std::make_shared<const Tenant>(std::move(t)));
    }
  } catch (const BadTenants& e) {
    *error = "tenants file " + path + ": " + e.what();
    return nullptr;
  } catch (const YAML::Exception& e) {
    *error = "tenants file " + path + ": " + e.what();
    return nullptr;
  }
  return registry;
}

std::shared_ptr<const Tenant> TenantRegistry::FindByToken(std::string_view token) const {
  const auto digest = Sha256(token);
  std::shared_ptr<const Tenant> found;
  for (const auto& t : tenants_) {
    if (CRYPTO_memcmp(digest.data(), t->token_sha256.data(), digest.size()) == 0) found = t;
  }
  return found;
}

std::shared_ptr<const Tenant> ImplicitTenant() {
  static const std::shared_ptr<const Tenant> implicit = [] {
    Tenant t;
    t.name = "default";
    t.admin = true;
    return std::make_shared<const Tenant>(std::move(t));
  }();
  return implicit;
}

std::array<unsigned char, 32> Sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    throw std::runtime_error("[auth] OpenSSL's SHA-256 failed");
  }
  return out;
}

std::string ToHex(const std::array<unsigned char, 32>& digest) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char b : digest) {
    s += hex[b >> 4];
    s += hex[b & 15];
  }
  return s;
}

}  // namespace tensord
