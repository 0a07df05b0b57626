// The tensord.v1.Admin service: daemon status, the session list, killing a
// session, and draining the daemon. It reads the Runtime service's sessions
// and owns nothing of its own. Handlers run on gRPC threads and never wait for a
// session's executor, so they answer while every session is busy.
#ifndef TENSORD_SERVER_ADMIN_SERVICE_H_
#define TENSORD_SERVER_ADMIN_SERVICE_H_

#include <atomic>
#include <chrono>
#include <vector>

#include "server/auth.h"
#include "server/health.h"
#include "server/runtime_service.h"
#include "tensord/v1/admin.grpc.pb.h"

namespace tensord {

class AdminService final : public v1::Admin::CallbackService {
 public:
  // `runtime` and `auth` must outlive this service.
  AdminService(RuntimeService* runtime, std::vector<v1::DeviceInfo> devices,
               const Authenticator& auth);

  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx, const v1::StatusRequest* req,
                                   v1::StatusResponse* resp) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* ctx,
                                         const v1::ListSessionsRequest* req,
                                         v1::ListSessionsResponse* resp) override;
  grpc::ServerUnaryReactor* KillSession(grpc::CallbackServerContext* ctx,
                                        const v1::KillSessionRequest* req,
                                        v1::KillSessionResponse* resp) override;
  grpc::ServerUnaryReactor* Drain(grpc::CallbackServerContext* ctx, const v1::DrainRequest* req,
                                  v1::DrainResponse* resp) override;

  // The health status a Drain turns NOT_SERVING. It exists only once the
  // server has started, so it is set then; a Drain that came earlier is
  // seen by the caller through RuntimeService::draining(). Not owned.
  void set_health(HealthStatus* health) { health_.store(health); }

 private:
  // The one authorization check of every Admin call (admin tenants only).
  grpc::Status Authorize(grpc::CallbackServerContext* ctx) const;

  RuntimeService* const runtime_;
  const Authenticator& auth_;
  const std::vector<v1::DeviceInfo> devices_;
  std::atomic<HealthStatus*> health_{nullptr};
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace tensord

#endif  // TENSORD_SERVER_ADMIN_SERVICE_H_
