// The tensord.v1.Runtime service: handshake, sessions and the op stream.
#ifndef TENSORD_SERVER_RUNTIME_SERVICE_H_
#define TENSORD_SERVER_RUNTIME_SERVICE_H_

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/auth.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/session.h"
#include "server/tenant_usage.h"
#include "tensord/v1/runtime.grpc.pb.h"

namespace tensord {

inline constexpr uint32_t kProtocolMajor = 1;
inline constexpr uint32_t kProtocolMinor = 0;

// Stream is a raw method (bytes in, bytes out): the reactor parses client
// messages itself so that an undecodable one gets a clear status.
using RuntimeCallbackBase = v1::Runtime::WithCallbackMethod_Handshake<
    v1::Runtime::WithCallbackMethod_OpenSession<v1::Runtime::WithCallbackMethod_CloseSession<
        v1::Runtime::WithRawCallbackMethod_Stream<v1::Runtime::Service>>>>;

class RuntimeService final : public RuntimeCallbackBase {
 public:
  // Every RPC is authenticated by `auth`, which must outlive the service.
  RuntimeService(const Config& config, std::vector<v1::DeviceInfo> devices,
                 const Authenticator& auth);
  ~RuntimeService() override;

  grpc::ServerUnaryReactor* Handshake(grpc::CallbackServerContext* ctx,
                                      const v1::HandshakeRequest* req,
                                      v1::HandshakeResponse* resp) override;
  grpc::ServerUnaryReactor* OpenSession(grpc::CallbackServerContext* ctx,
                                        const v1::OpenSessionRequest* req,
                                        v1::OpenSessionResponse* resp) override;
  grpc::ServerUnaryReactor* CloseSession(grpc::CallbackServerContext* ctx,
                                         const v1::CloseSessionRequest* req,
                                         v1::CloseSessionResponse* resp) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Stream(
      grpc::CallbackServerContext* ctx) override;

  // Stops accepting new sessions (OpenSession: UNAVAILABLE); open sessions
  // keep running. Returns false when it was already draining. Idempotent.
  bool BeginDrain();
  bool draining() const;
  // BeginDrain, then waits up to `seconds` for the queued work (SIGTERM).
  void Drain(int seconds);
  // Drops sessions with no stream for longer than the grace period.
  void ReapIdleSessions();
  size_t session_count() const;
  // Sessions, queued work and memory by tenant, for the metrics' scrape.
  std::vector<metrics::TenantSnapshot> MetricsSnapshot() const;

  // For the Admin service. A snapshot of the open sessions.
  std::vector<std::shared_ptr<Session>> Sessions() const;
  // Drops the one session whose id is or starts with `id_or_prefix` (at
  // least 8 digits) and ends its stream with ABORTED and `reason`; its
  // tensors go once its running op finishes. Sets *killed_id.
  grpc::Status KillSession(const std::string& id_or_prefix, const std::string& reason,
                           std::string* killed_id);

 private:
  // The session `id` when `caller` owns it, else null: another tenant's
  // session is indistinguishable from one that does not exist.
  std::shared_ptr<Session> FindSession(const std::string& id, const Tenant& caller) const;

  const Config& config_;
  const Authenticator& auth_;
  const std::vector<v1::DeviceInfo> devices_;
  FairShare fair_share_;
  TenantUsageRegistry usage_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Session>> sessions_;
  bool draining_ = false;
};

}  // namespace tensord

#endif  // TENSORD_SERVER_RUNTIME_SERVICE_H_
