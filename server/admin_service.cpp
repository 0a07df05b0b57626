#include "server/admin_service.h"

#include <algorithm>
#include <array>

#include <spdlog/spdlog.h>

#include "kernels/device_backend.h"
#include "server/metrics.h"

namespace tensord {
namespace {

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const grpc::Status& status) {
  metrics::ErrorReturned(status.error_code());
  auto* r = ctx->DefaultReactor();
  r->Finish(status);
  return r;
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

Device DeviceOf(const v1::DeviceInfo& d) {
  Device device;
  if (d.kind() != "cpu") device = Device{Device::Kind::kCUDA, d.index()};
  return device;
}

}  // namespace

AdminService::AdminService(RuntimeService* runtime, std::vector<v1::DeviceInfo> devices,
                           const Authenticator& auth)
    : runtime_(runtime), auth_(auth), devices_(std::move(devices)) {}

// Authorization, in one place: every handler calls this first and nothing
// else. Without a tenants file every caller is the implicit "default"
// tenant, an admin (whoever can reach such a daemon owns it: it serves only
// loopback and Unix sockets unless --insecure).
grpc::Status AdminService::Authorize(grpc::CallbackServerContext* ctx) const {
  AuthResult auth = auth_.Authenticate(*ctx);
  if (!auth.ok()) return auth.status;
  if (!auth.is_admin()) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "[admin] tenant '" + auth.tenant->name +
                            "' is not an admin (admin: true in the tenants file)");
  }
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* AdminService::Status(grpc::CallbackServerContext* ctx,
                                               const v1::StatusRequest*,
                                               v1::StatusResponse* resp) {
  if (grpc::Status denied = Authorize(ctx); !denied.ok()) return Done(ctx, denied);
  const auto sessions = runtime_->Sessions();
  int64_t total = 0;
  std::array<int64_t, MemoryQuota::kSlots> by_slot{};
  for (const auto& s : sessions) {
    total += s->bytes_in_use();
    for (size_t slot = 0; slot < MemoryQuota::kSlots; ++slot) {
      by_slot[slot] += s->memory().device_bytes[slot].load(std::memory_order_relaxed);
    }
  }
  resp->set_daemon_version(TENSORD_VERSION_STRING);
  resp->set_uptime_seconds(SecondsSince(started_));
  resp->set_session_count(static_cast<uint32_t>(sessions.size()));
  resp->set_draining(runtime_->draining());
  resp->set_tracked_bytes(static_cast<uint64_t>(std::max<int64_t>(total, 0)));
  for (const auto& d : devices_) {
    *resp->add_devices() = d;
    v1::DeviceMemory* m = resp->add_memory();
    const Device device = DeviceOf(d);
    m->set_device(device.str());
    m->set_tracked_bytes(
        static_cast<uint64_t>(std::max<int64_t>(by_slot[MemoryQuota::Slot(device)], 0)));
    // The GPU's caching allocator keeps freed blocks: what it holds from the
    // driver is what other processes cannot have.
    const TensordCudaBackend* cuda = CudaBackend();
    TensordCudaAllocatorStats stats{};
    if (!device.is_cpu() && cuda && cuda->allocator_stats(device.index, &stats) == 0) {
      m->set_reserved_bytes(stats.bytes_reserved);
    }
  }
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* AdminService::ListSessions(grpc::CallbackServerContext* ctx,
                                                     const v1::ListSessionsRequest*,
                                                     v1::ListSessionsResponse* resp) {
  if (grpc::Status denied = Authorize(ctx); !denied.ok()) return Done(ctx, denied);
  auto sessions = runtime_->Sessions();
  std::sort(sessions.begin(), sessions.end(),
            [](const auto& a, const auto& b) { return a->created() < b->created(); });
  for (const auto& s : sessions) {
    v1::SessionInfo* info = resp->add_sessions();
    info->set_id_prefix(s->id().substr(0, 8));
    info->set_tenant(s->tenant().name);
    info->set_client_name(s->client_name());
    info->set_memory_bytes(static_cast<uint64_t>(std::max<int64_t>(s->bytes_in_use(), 0)));
    info->set_age_seconds(SecondsSince(s->created()));
    info->set_live_tensors(s->live_tensors());
    info->set_attached(s->attached());
    info->set_client_peer(s->peer());
    info->set_ops_executed(s->op_rate().total());
    info->set_ops_per_second(s->op_rate().PerSecond());
  }
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* AdminService::KillSession(grpc::CallbackServerContext* ctx,
                                                    const v1::KillSessionRequest* req,
                                                    v1::KillSessionResponse* resp) {
  if (grpc::Status denied = Authorize(ctx); !denied.ok()) return Done(ctx, denied);
  std::string killed;
  grpc::Status st = runtime_->KillSession(
      req->session_id(), "[session] killed by an administrator (Admin.KillSession)", &killed);
  if (st.ok()) resp->set_id_prefix(killed.substr(0, 8));
  return Done(ctx, st);
}

grpc::ServerUnaryReactor* AdminService::Drain(grpc::CallbackServerContext* ctx,
                                              const v1::DrainRequest*, v1::DrainResponse* resp) {
  if (grpc::Status denied = Authorize(ctx); !denied.ok()) return Done(ctx, denied);
  const bool started = runtime_->BeginDrain();
  if (HealthStatus* health = health_.load()) health->SetDraining();
  const size_t open = runtime_->session_count();
  resp->set_open_sessions(static_cast<uint32_t>(open));
  resp->set_already_draining(!started);
  if (started) {
    spdlog::warn("draining (Admin.Drain): no new sessions; {} open session(s) keep running", open);
  }
  return Done(ctx, grpc::Status::OK);
}

}  // namespace tensord
