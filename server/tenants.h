// Tenants: who may use the daemon, read once at start from the tenants file
// (configs/tenants.example.yaml documents the format). A tenant is known by
// the SHA-256 of its token; the daemon never holds a plain token.
//
// Immutable after loading: safe to read from any thread.
#ifndef TENSORD_SERVER_TENANTS_H_
#define TENSORD_SERVER_TENANTS_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tensord {

// Limits on what one tenant may use. An unset quota means no limit of that
// kind. Parsed and validated here; enforced by the scheduler and the session.
struct TenantQuotas {
  std::map<std::string, uint64_t> memory_bytes;  // device kind ("cpu", "cuda") -> bytes
  std::optional<uint64_t> sessions;              // live sessions at once
  std::optional<uint64_t> tensor_bytes;          // one tensor
  std::optional<uint64_t> ops_per_batch;         // op records in one stream batch
  std::optional<double> requests_per_second;     // RPCs and stream batches

  // The memory quota of a device kind, or nullopt when it has none.
  std::optional<uint64_t> memory_limit(std::string_view device_kind) const;
};

struct Tenant {
  std::string name;
  std::array<unsigned char, 32> token_sha256{};  // all zero for the implicit tenant
  uint32_t weight = 1;  // share of each device relative to other tenants
  bool admin = false;   // may use the Admin service (list and kill sessions)
  TenantQuotas quotas;
};

// The tenants of a tenants file.
class TenantRegistry {
 public:
  // Reads and validates `path`. Returns null and sets `error` (naming the
  // file, the tenant and the key) when anything in it is wrong.
  static std::shared_ptr<const TenantRegistry> Load(const std::string& path, std::string* error);

  // The tenant whose token this is, or null. Hashes the token, then compares
  // it with every tenant's hash in constant time, so neither the time taken
  // nor an early exit tells a caller how close a guess came.
  std::shared_ptr<const Tenant> FindByToken(std::string_view token) const;

  const std::vector<std::shared_ptr<const Tenant>>& tenants() const { return tenants_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::shared_ptr<const Tenant>> tenants_;
};

// The tenant every session belongs to when no tenants file is configured:
// "default", an admin (whoever can reach such a daemon owns it: it serves
// only loopback and Unix sockets unless --insecure).
std::shared_ptr<const Tenant> ImplicitTenant();

// SHA-256 of `data` (OpenSSL EVP).
std::array<unsigned char, 32> Sha256(std::string_view data);
std::string ToHex(const std::array<unsigned char, 32>& digest);

}  // namespace tensord

#endif  // TENSORD_SERVER_TENANTS_H_
