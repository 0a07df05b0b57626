// What each tenant uses now, shared by all its sessions: memory on each
// device (checked by every allocation against the tenant's quota) and its
// request rate (a token bucket over RPCs and stream batches).
#ifndef TENSORD_SERVER_TENANT_USAGE_H_
#define TENSORD_SERVER_TENANT_USAGE_H_

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "kernels/core/tensor.h"
#include "server/tenants.h"

namespace tensord {

class TenantUsage {
 public:
  explicit TenantUsage(std::shared_ptr<const Tenant> tenant);

  const Tenant& tenant() const { return *tenant_; }
  // Charged by every storage of the tenant's sessions (MemoryTracker::quota).
  const std::shared_ptr<MemoryQuota>& memory() const { return memory_; }

  // One request (an RPC or a stream batch). Empty when admitted; otherwise
  // the RESOURCE_EXHAUSTED message naming the quota and the numbers.
  std::string AdmitRequest();

 private:
  const std::shared_ptr<const Tenant> tenant_;
  const std::shared_ptr<MemoryQuota> memory_ = std::make_shared<MemoryQuota>();
  std::mutex mu_;
  double tokens_ = 0;  // requests admissible now (the bucket holds one second's worth)
  double last_ = 0;    // seconds, steady clock
};

// One TenantUsage per tenant name, for the daemon's lifetime (tenants are
// few and fixed at start).
class TenantUsageRegistry {
 public:
  std::shared_ptr<TenantUsage> For(const std::shared_ptr<const Tenant>& tenant);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<TenantUsage>> usage_;
};

}  // namespace tensord

#endif  // TENSORD_SERVER_TENANT_USAGE_H_
