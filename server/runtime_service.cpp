#include "server/runtime_service.h"

#include <openssl/rand.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>
#include <condition_variable>
#include <deque>

#include "kernels/core/shared_memory.h"
#include "kernels/schema/op_schema.h"
#include "server/log.h"

namespace tensord {
namespace {

constexpr uint64_t kMaxRegionBytes = uint64_t{1} << 30;

// 128 bits from OpenSSL's CSPRNG, hex: a session id cannot be guessed (and
// guessing another tenant's would not help: sessions are checked against the
// caller's tenant). Empty if the CSPRNG fails.
std::string NewSessionId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return "";
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, grpc::Status status) {
  metrics::ErrorReturned(status.error_code());
  auto* r = ctx->DefaultReactor();
  r->Finish(status);
  return r;
}

// The Stream RPC of one session: reads client messages into the session's
// executor, writes its replies one at a time from a queue. The session
// bounds the queue (it waits for the client's acks), so Send never blocks.
// It takes raw bytes and parses them itself, because gRPC reports a message
// it could not decode exactly like a client that half-closed; here the
// client learns that its message was undecodable (INVALID_ARGUMENT).
class StreamReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                            public StreamSink {
 public:
  // Attaches to `session`; the initial metadata tells the client the last
  // seq the session accepted. A closed session ends the stream NOT_FOUND.
  StreamReactor(grpc::CallbackServerContext* ctx, std::shared_ptr<Session> session,
                uint64_t client_ack)
      : session_(std::move(session)), in_(InboundMessage::New()) {
    // Replies sent meanwhile are only queued: no write starts before the
    // metadata.
    std::optional<uint64_t> accepted = session_->Attach(this, client_ack);
    std::lock_guard<std::mutex> lock(mu_);
    if (!accepted) {
      finishing_ = true;
      broken_ = true;
      Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "[stream] session " + session_->id() + " is closed"));
      return;
    }
    if (finishing_) return;  // replaced or closed already
    ctx->AddInitialMetadata("tensord-accepted", std::to_string(*accepted));
    StartSendInitialMetadata();
    metadata_sent_ = true;
    if (!out_.empty() && !finishing_) {
      writing_ = true;
      StartWrite(&out_.front());
    }
    StartRead(&in_bytes_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed or went away
      session_->EnqueueEndOfStream(this);
      return;
    }
    // Parsed into the arena message; protobuf bounds nesting depth (100)
    // and checks proto3 strings are UTF-8.
    grpc::ProtoBufferReader reader(&in_bytes_);
    const bool parsed = in_.msg->ParseFromZeroCopyStream(&reader);
    in_bytes_.Clear();
    if (!parsed) {
      spdlog::warn("session {}: undecodable message ({} bytes); stream ended",
                   session_->id().substr(0, 8), reader.ByteCount());
      Refuse(grpc::StatusCode::INVALID_ARGUMENT,
             "[stream] a message could not be decoded as tensord.v1.ClientMessage "
             "(corrupt bytes, or not a tensord client)");
      return;
    }
    bool more = session_->Enqueue(this, std::move(in_));
    in_ = InboundMessage::New();
    if (more) StartRead(&in_bytes_);
  }

  void ResumeReading() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!finishing_) StartRead(&in_bytes_);  // no reads once Finish is on its way
  }

  void Send(std::shared_ptr<const v1::ServerMessage> msg) override {
    grpc::ByteBuffer bytes;
    bool own_buffer;
    if (!grpc::SerializationTraits<v1::ServerMessage>::Serialize(*msg, &bytes, &own_buffer).ok()) {
      spdlog::error("session {}: a reply could not be serialized", session_->id().substr(0, 8));
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (broken_ || finishing_) return;
    out_.push_back(std::move(bytes));
    if (!writing_ && metadata_sent_) {
      writing_ = true;
      StartWrite(&out_.front());
    }
  }

  void FinishWhenFlushed() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finishing_) return;
    finishing_ = true;
    if (!writing_) Finish(grpc::Status::OK);
  }

  void Refuse(int code, std::string message) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finishing_) return;
    finishing_ = true;
    broken_ = true;
    status_ = grpc::Status(static_cast<grpc::StatusCode>(code), std::move(message));
    while (out_.size() > (writing_ ? 1u : 0u)) out_.pop_back();
    if (!writing_) Finish(status_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    out_.pop_front();
    if (!ok) {
      broken_ = true;
      out_.clear();
    }
    if (!out_.empty() && !broken_) {
      StartWrite(&out_.front());
    } else {
      writing_ = false;
      if (finishing_) Finish(status_);
    }
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    broken_ = true;
    if (!finishing_) {
      finishing_ = true;
      status_ = grpc::Status::CANCELLED;
      if (!writing_) Finish(status_);
    }
  }

  void OnDone() override {
    session_->Detach(this);
    delete this;
  }

 private:
  std::shared_ptr<Session> session_;
  grpc::ByteBuffer in_bytes_;  // the message being read
  InboundMessage in_;          // where it is parsed
  std::mutex mu_;
  std::deque<grpc::ByteBuffer> out_;  // serialized replies; front: being written
  grpc::Status status_;  // what Finish reports once the last write is done
  bool metadata_sent_ = false;
  bool writing_ = false;
  bool finishing_ = false;
  bool broken_ = false;
};

class RejectedStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit RejectedStream(grpc::Status status) {
    metrics::ErrorReturned(status.error_code());
    Finish(std::move(status));
  }
  void OnDone() override { delete this; }
};

}  // namespace

RuntimeService::RuntimeService(const Config& config, std::vector<v1::DeviceInfo> devices,
                               const Authenticator& auth)
    : config_(config), auth_(auth), devices_(std::move(devices)), fair_share_(config.device_slots) {}

RuntimeService::~RuntimeService() = default;

grpc::ServerUnaryReactor* RuntimeService::Handshake(grpc::CallbackServerContext* ctx,
                                                    const v1::HandshakeRequest* req,
                                                    v1::HandshakeResponse* resp) {
  AuthResult auth = auth_.Authenticate(*ctx);
  if (!auth.ok()) return Done(ctx, auth.status);
  if (std::string over = usage_.For(auth.tenant)->AdmitRequest(); !over.empty()) {
    return Done(ctx, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "[handshake] " + over));
  }
  if (req->protocol_major() != kProtocolMajor) {
    return Done(ctx, grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                  "[handshake] client speaks tensord protocol " +
                                      std::to_string(req->protocol_major()) + "." +
                                      std::to_string(req->protocol_minor()) +
                                      ", this daemon speaks " + std::to_string(kProtocolMajor) +
                                      "." + std::to_string(kProtocolMinor) +
                                      "; upgrade the older side"));
  }
  resp->set_protocol_major(kProtocolMajor);
  resp->set_protocol_minor(kProtocolMinor);
  resp->set_daemon_version(TENSORD_VERSION_STRING);
  for (const auto& d : devices_) *resp->add_devices() = d;
  for (int i = 0; i < kNumDTypes; ++i) {
    resp->add_dtypes(std::string(DTypeName(static_cast<DType>(i))));
  }
  resp->set_op_schema_version(std::string(OpSchemaVersion()));
  resp->set_op_count(static_cast<uint32_t>(AllOps().size()));
  resp->set_max_message_bytes(config_.limits.max_message_bytes);
  resp->set_max_chunk_bytes(config_.limits.max_chunk_bytes);
  spdlog::debug("handshake from {} {} ({})", req->client_name(), req->client_version(),
                ctx->peer());
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* RuntimeService::OpenSession(grpc::CallbackServerContext* ctx,
                                                      const v1::OpenSessionRequest* req,
                                                      v1::OpenSessionResponse* resp) {
  AuthResult auth = auth_.Authenticate(*ctx);
  if (!auth.ok()) return Done(ctx, auth.status);
  std::shared_ptr<TenantUsage> usage = usage_.For(auth.tenant);
  if (std::string over = usage->AdmitRequest(); !over.empty()) {
    return Done(ctx, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "[session] " + over));
  }
  std::string id = NewSessionId();
  if (id.empty()) {
    return Done(ctx, grpc::Status(grpc::StatusCode::INTERNAL,
                                  "[session] the random number generator failed; try again"));
  }
  // The same-host fast path: can this daemon map the client's region?
  std::shared_ptr<SharedRegion> region;
  if (!req->shm_region().empty()) {
    std::string err = "disabled by config (shared_memory: false)";
    void* p = nullptr;
    if (config_.shared_memory && req->shm_region_bytes() <= kMaxRegionBytes) {
      err.clear();
      p = OpenSharedMemory(req->shm_region(), req->shm_region_bytes(), /*shared=*/true, &err);
    }
    if (p && req->shm_token().size() <= req->shm_region_bytes() &&
        std::memcmp(p, req->shm_token().data(), req->shm_token().size()) == 0 &&
        !req->shm_token().empty()) {
      region = std::make_shared<SharedRegion>(p, req->shm_region_bytes());
    } else {
      if (p) UnmapSharedMemory(p, req->shm_region_bytes());
      ScopedLogFields fields(SessionLogFields(id, auth.tenant->name));
      spdlog::debug("no shared memory for this session: {}", err.empty() ? "token mismatch" : err);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_) {
      return Done(ctx, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                    "[session] daemon is draining: it takes no new sessions "
                                    "(open ones keep running); connect to another daemon"));
    }
    if (const auto& limit = auth.tenant->quotas.sessions) {
      uint64_t live = 0;
      for (const auto& [sid, s] : sessions_) live += s->tenant().name == auth.tenant->name;
      if (live >= *limit) {
        metrics::QuotaRejected("quotas.sessions");
        return Done(ctx, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                      "[session] tenant '" + auth.tenant->name + "' has " +
                                          std::to_string(live) + " live sessions; its quota "
                                          "(quotas.sessions) is " + std::to_string(*limit) +
                                          " (close one, or let a disconnected one expire)"));
      }
    }
    auto session = std::make_shared<Session>(id, req->client_name(), config_, auth.tenant);
    session->set_shared_region(region);
    session->set_fair_share(&fair_share_,
                            fair_share_.AddTenant(auth.tenant->name, auth.tenant->weight));
    session->set_usage(std::move(usage));
    session->set_peer(ctx->peer());
    sessions_[id] = std::move(session);
  }
  metrics::SessionOpened(auth.tenant->name);
  resp->set_session_id(id);
  resp->set_shared_memory(region != nullptr);
  resp->set_grace_seconds(static_cast<uint32_t>(std::max(config_.session_grace_seconds, 0)));
  {
    ScopedLogFields fields(SessionLogFields(id, auth.tenant->name));
    spdlog::info("session opened by {} of tenant {} ({})", req->client_name(), auth.tenant->name,
                 ctx->peer());
  }
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* RuntimeService::CloseSession(grpc::CallbackServerContext* ctx,
                                                       const v1::CloseSessionRequest* req,
                                                       v1::CloseSessionResponse*) {
  AuthResult auth = auth_.Authenticate(*ctx);
  if (!auth.ok()) return Done(ctx, auth.status);
  std::shared_ptr<Session> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(req->session_id());
    if (it == sessions_.end() || it->second->tenant().name != auth.tenant->name) {
      return Done(ctx, grpc::Status(grpc::StatusCode::NOT_FOUND, "[session] no session " +
                                                                     req->session_id()));
    }
    gone = std::move(it->second);
    sessions_.erase(it);
  }
  // Ends its stream, if one is still attached, so the session (and its
  // tensors) go now, not when that stream ends.
  gone->Close();
  ScopedLogFields fields(SessionLogFields(req->session_id(), auth.tenant->name));
  spdlog::info("session closed");
  return Done(ctx, grpc::Status::OK);
}

std::shared_ptr<Session> RuntimeService::FindSession(const std::string& id,
                                                     const Tenant& caller) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second->tenant().name != caller.name) return nullptr;
  return it->second;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* RuntimeService::Stream(
    grpc::CallbackServerContext* ctx) {
  AuthResult auth = auth_.Authenticate(*ctx);
  if (!auth.ok()) return new RejectedStream(auth.status);
  auto md = ctx->client_metadata().find("tensord-session");
  if (md == ctx->client_metadata().end()) {
    return new RejectedStream(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                           "[stream] missing tensord-session metadata; call "
                                           "OpenSession first"));
  }
  std::string id(md->second.data(), md->second.size());
  auto session = FindSession(id, *auth.tenant);
  if (!session || session->closed()) {
    return new RejectedStream(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                           "[stream] no session " + id +
                                               " (closed, expired, or never opened)"));
  }
  uint64_t client_ack = 0;
  auto ack = ctx->client_metadata().find("tensord-ack");
  if (ack != ctx->client_metadata().end()) {
    const std::string text(ack->second.data(), ack->second.size());
    char* end = nullptr;
    client_ack = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0') {
      return new RejectedStream(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                             "[stream] tensord-ack metadata '" + text +
                                                 "' is not a decimal reply seq"));
    }
  }
  session->set_peer(ctx->peer());
  return new StreamReactor(ctx, std::move(session), client_ack);
}

bool RuntimeService::BeginDrain() {
  std::lock_guard<std::mutex> lock(mu_);
  return !std::exchange(draining_, true);
}

bool RuntimeService::draining() const {
  std::lock_guard<std::mutex> lock(mu_);
  return draining_;
}

void RuntimeService::Drain(int seconds) {
  BeginDrain();
  const std::vector<std::shared_ptr<Session>> all = Sessions();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  for (auto& s : all) {
    while (s->pending() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

void RuntimeService::ReapIdleSessions() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Session>> expired;
  size_t remaining = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      const auto& s = it->second;
      if (s->attached() ||
          now - s->last_detached() <= std::chrono::seconds(config_.session_grace_seconds)) {
        ++it;
        continue;
      }
      // Closing skips the work still queued; the session goes once its
      // executor is idle, so freeing it here never waits on a kernel.
      s->Close();
      if (s->pending() > 0) {
        ++it;
        continue;
      }
      ScopedLogFields fields(SessionLogFields(it->first, s->tenant().name));
      spdlog::info("session expired after {} s without a stream", config_.session_grace_seconds);
      expired.push_back(std::move(it->second));
      it = sessions_.erase(it);
    }
    remaining = sessions_.size();
  }
  if (!expired.empty()) {
    expired.clear();  // frees them (and logs it) before the count below
    spdlog::info("{} session(s) open", remaining);
  }
}

std::vector<std::shared_ptr<Session>> RuntimeService::Sessions() const {
  std::vector<std::shared_ptr<Session>> all;
  std::lock_guard<std::mutex> lock(mu_);
  all.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_) all.push_back(s);
  return all;
}

grpc::Status RuntimeService::KillSession(const std::string& id_or_prefix,
                                         const std::string& reason, std::string* killed_id) {
  // At least the 8 digits ListSessions shows: a shorter prefix would let a
  // typo end a session nobody meant.
  constexpr size_t kMinPrefix = 8;
  if (id_or_prefix.size() < kMinPrefix) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "[admin] session id '" + id_or_prefix + "' is too short: give the id or "
                        "at least its first " + std::to_string(kMinPrefix) + " hex digits");
  }
  std::shared_ptr<Session> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto match = sessions_.end();
    int matches = 0;
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->first.compare(0, id_or_prefix.size(), id_or_prefix) == 0) {
        match = it;
        ++matches;
      }
    }
    if (matches == 0) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "[admin] no session " + id_or_prefix + " (closed, expired, or never opened)");
    }
    if (matches > 1) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "[admin] " + std::to_string(matches) + " sessions start with " +
                              id_or_prefix + "; give more digits");
    }
    gone = std::move(match->second);
    sessions_.erase(match);
  }
  *killed_id = gone->id();
  gone->Close(grpc::StatusCode::ABORTED, reason);
  spdlog::warn("session {} of tenant {} killed: {}", gone->id().substr(0, 8), gone->tenant().name,
               reason);
  return grpc::Status::OK;
}

size_t RuntimeService::session_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

std::vector<metrics::TenantSnapshot> RuntimeService::MetricsSnapshot() const {
  std::map<std::string, metrics::TenantSnapshot> by_tenant;
  // Every tenant has its series, so dashboards show 0 rather than "no data".
  for (const std::string& name : auth_.TenantNames()) by_tenant[name].tenant = name;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, session] : sessions_) {
    metrics::TenantSnapshot& t = by_tenant[session->tenant().name];
    t.tenant = session->tenant().name;
    ++t.sessions;
    t.queued_work += static_cast<int64_t>(session->pending());
    const MemoryTracker& memory = session->memory();
    for (size_t slot = 0; slot < MemoryQuota::kSlots; ++slot) {
      t.memory_bytes[slot] += memory.device_bytes[slot].load(std::memory_order_relaxed);
      if (memory.quota) {
        t.quota_bytes[slot] = slot == 0 ? memory.quota->cpu_limit : memory.quota->cuda_limit;
      }
    }
  }
  std::vector<metrics::TenantSnapshot> out;
  for (auto& [name, t] : by_tenant) out.push_back(std::move(t));
  return out;
}

}  // namespace tensord
