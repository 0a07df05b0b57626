// What the gRPC health service (grpc.health.v1) answers, by service name:
//   "liveness"                          SERVING while the process runs, draining too
//   "readiness", "", "tensord.v1.Runtime"  SERVING once the daemon takes sessions,
//                                       NOT_SERVING from the start of a drain
// Kubernetes probes name them in `grpc.service` (docs/operations.md).
#ifndef TENSORD_SERVER_HEALTH_H_
#define TENSORD_SERVER_HEALTH_H_

#include <mutex>

namespace grpc {
class HealthCheckServiceInterface;
}

namespace tensord {

class HealthStatus {
 public:
  // `service` is the server's default health service; not owned.
  explicit HealthStatus(grpc::HealthCheckServiceInterface* service);
  // Threading: both may be called from any thread (SIGTERM on the main
  // thread, Admin.Drain on a gRPC thread).
  // The daemon listens and accepts sessions. A no-op once draining: a drain
  // that raced the start-up is not undone.
  void SetReady();
  // The daemon refuses new sessions and finishes queued work: readiness
  // fails so load balancers stop sending clients, liveness holds so the
  // drain is not cut short by a restart. For good: there is no undrain.
  void SetDraining();

 private:
  grpc::HealthCheckServiceInterface* service_;
  std::mutex mu_;
  bool draining_ = false;  // guarded by mu_
};

}  // namespace tensord

#endif  // TENSORD_SERVER_HEALTH_H_
