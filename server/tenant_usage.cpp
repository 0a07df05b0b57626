#include "server/tenant_usage.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "server/metrics.h"

namespace tensord {

namespace {

double NowSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

int64_t Limit(const TenantQuotas& q, const char* kind) {
  const auto v = q.memory_limit(kind);
  return v ? static_cast<int64_t>(std::min<uint64_t>(*v, INT64_MAX)) : 0;
}

}  // namespace

TenantUsage::TenantUsage(std::shared_ptr<const Tenant> tenant) : tenant_(std::move(tenant)) {
  memory_->tenant = tenant_->name;
  memory_->cpu_limit = Limit(tenant_->quotas, "cpu");
  memory_->cuda_limit = Limit(tenant_->quotas, "cuda");
  if (tenant_->quotas.requests_per_second) {
    tokens_ = std::max(1.0, *tenant_->quotas.requests_per_second);
    last_ = NowSeconds();
  }
}

std::string TenantUsage::AdmitRequest() {
  const auto& rate = tenant_->quotas.requests_per_second;
  if (!rate) return "";
  std::lock_guard<std::mutex> lock(mu_);
  const double now = NowSeconds();
  const double burst = std::max(1.0, *rate);
  tokens_ = std::min(burst, tokens_ + (now - last_) * *rate);
  last_ = now;
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return "";
  }
  metrics::QuotaRejected("quotas.requests_per_second");
  char rate_str[32];
  std::snprintf(rate_str, sizeof rate_str, "%g", *rate);
  return "tenant '" + tenant_->name + "' is over its request rate (quotas.requests_per_second = " +
         rate_str + "): retry later";
}

std::shared_ptr<TenantUsage> TenantUsageRegistry::For(const std::shared_ptr<const Tenant>& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& u = usage_[tenant->name];
  if (!u) u = std::make_shared<TenantUsage>(tenant);
  return u;
}

}  // namespace tensord
