#include "server/admin_service.h"

#include <algorithm>

namespace tensord {
namespace {

// ---- Authorization: the one place every Admin call is checked. ----------
// Today the daemon has no tenants, and anyone who can reach its socket may
// administer it (the daemon listens on loopback or a Unix socket by
// default). The tenants work replaces this body with its admin-tenant check
// (PERMISSION_DENIED / UNAUTHENTICATED); no handler checks anything else.
grpc::Status AuthorizeAdmin(grpc::CallbackServerContext* /*ctx*/) { return grpc::Status::OK; }

// The tenant a session belongs to. "default" until sessions carry tenants.
std::string TenantOf(const Session& /*session*/) { return "default"; }

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const grpc::Status& status) {
  auto* r = ctx->DefaultReactor();
  r->Finish(status);
  return r;
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string DeviceName(const v1::DeviceInfo& d) {
  return d.kind() == "cpu" ? "cpu" : d.kind() + ":" + std::to_string(d.index());
}

}  // namespace

AdminService::AdminService(RuntimeService* runtime, std::vector<v1::DeviceInfo> devices)
    : runtime_(runtime), devices_(std::move(devices)) {}

grpc::ServerUnaryReactor* AdminService::Status(grpc::CallbackServerContext* ctx,
                                               const v1::StatusRequest*,
                                               v1::StatusResponse* resp) {
  if (grpc::Status denied = AuthorizeAdmin(ctx); !denied.ok()) return Done(ctx, denied);
  const auto sessions = runtime_->Sessions();
  int64_t total = 0;
  for (const auto& s : sessions) total += s->bytes_in_use();
  resp->set_daemon_version(TENSORD_VERSION_STRING);
  resp->set_uptime_seconds(SecondsSince(started_));
  resp->set_session_count(static_cast<uint32_t>(sessions.size()));
  resp->set_tracked_bytes(static_cast<uint64_t>(std::max<int64_t>(total, 0)));
  for (const auto& d : devices_) {
    *resp->add_devices() = d;
    v1::DeviceMemory* m = resp->add_memory();
    m->set_device(DeviceName(d));
    // A session's MemoryTracker counts its storages on every device in one
    // total, so a CPU-only daemon attributes it exactly; with GPUs the split
    // waits for per-device trackers (docs/protocol.md says so).
    if (devices_.size() == 1) m->set_tracked_bytes(resp->tracked_bytes());
  }
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* AdminService::ListSessions(grpc::CallbackServerContext* ctx,
                                                     const v1::ListSessionsRequest*,
                                                     v1::ListSessionsResponse* resp) {
  if (grpc::Status denied = AuthorizeAdmin(ctx); !denied.ok()) return Done(ctx, denied);
  auto sessions = runtime_->Sessions();
  std::sort(sessions.begin(), sessions.end(),
            [](const auto& a, const auto& b) { return a->created() < b->created(); });
  for (const auto& s : sessions) {
    v1::SessionInfo* info = resp->add_sessions();
    info->set_id_prefix(s->id().substr(0, 8));
    info->set_tenant(TenantOf(*s));
    info->set_client_name(s->client_name());
    info->set_memory_bytes(static_cast<uint64_t>(std::max<int64_t>(s->bytes_in_use(), 0)));
    info->set_age_seconds(SecondsSince(s->created()));
    info->set_live_tensors(s->live_tensors());
    info->set_attached(s->attached());
  }
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* AdminService::KillSession(grpc::CallbackServerContext* ctx,
                                                    const v1::KillSessionRequest* req,
                                                    v1::KillSessionResponse* resp) {
  if (grpc::Status denied = AuthorizeAdmin(ctx); !denied.ok()) return Done(ctx, denied);
  std::string killed;
  grpc::Status st = runtime_->KillSession(
      req->session_id(), "[session] killed by an administrator (Admin.KillSession)", &killed);
  if (st.ok()) resp->set_id_prefix(killed.substr(0, 8));
  return Done(ctx, st);
}

}  // namespace tensord
