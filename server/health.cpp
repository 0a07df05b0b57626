#include "server/health.h"

#include <grpcpp/health_check_service_interface.h>

namespace tensord {
namespace {
constexpr const char* kReadyServices[] = {"", "readiness", "tensord.v1.Runtime"};
constexpr const char* kLiveness = "liveness";
}  // namespace

HealthStatus::HealthStatus(grpc::HealthCheckServiceInterface* service) : service_(service) {
  // Registered before the first probe can name them: NOT_FOUND would read as
  // "misconfigured probe" rather than "not ready yet".
  for (const char* name : kReadyServices) service_->SetServingStatus(name, false);
  service_->SetServingStatus(kLiveness, true);
}

void HealthStatus::SetReady() {
  std::lock_guard<std::mutex> lock(mu_);
  if (draining_) return;
  for (const char* name : kReadyServices) service_->SetServingStatus(name, true);
}

void HealthStatus::SetDraining() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
  for (const char* name : kReadyServices) service_->SetServingStatus(name, false);
}

}  // namespace tensord
