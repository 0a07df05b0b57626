// What the gRPC health service (grpc.health.v1) answers, by service name:
//   "liveness"                          SERVING while the process runs, draining too
//   "readiness", "", "tensord.v1.Runtime"  SERVING once the daemon takes sessions,
//                                       NOT_SERVING from the start of a drain
// Kubernetes probes name them in `grpc.service` (docs/operations.md).
#ifndef TENSORD_SERVER_HEALTH_H_
#define TENSORD_SERVER_HEALTH_H_

namespace grpc {
class HealthCheckServiceInterface;
}

namespace tensord {

class HealthStatus {
 public:
  // `service` is the server's default health service; not owned.
  explicit HealthStatus(grpc::HealthCheckServiceInterface* service);
  // The daemon listens and accepts sessions.
  void SetReady();
  // The daemon refuses new sessions and finishes queued work: readiness
  // fails so load balancers stop sending clients, liveness holds so the
  // drain is not cut short by a restart.
  void SetDraining();

 private:
  grpc::HealthCheckServiceInterface* service_;
};

}  // namespace tensord

#endif  // TENSORD_SERVER_HEALTH_H_
