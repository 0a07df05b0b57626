#include "server/runtime_service.h"

#include <grpcpp/support/proto_buffer_reader.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <random>

#include "kernels/core/shared_memory.h"
#include "kernels/schema/op_schema.h"

namespace tensord {
namespace {

constexpr size_t kMaxUnsentReplyBytes = 32u << 20;
constexpr uint64_t kMaxRegionBytes = uint64_t{1} << 30;

std::string NewSessionId() {
  static std::mutex mu;
  static std::random_device rd;
  std::lock_guard<std::mutex> lock(mu);
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    uint32_t v = rd();
    for (int j = 0; j < 8; ++j) id += hex[(v >> (j * 4)) & 0xf];
  }
  return id;
}

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, grpc::Status status) {
  auto* r = ctx->DefaultReactor();
  r->Finish(status);
  return r;
}

// The Stream RPC of one session: reads client messages into the session's
// executor, writes its replies one at a time from a queue. It takes raw
// bytes and parses them itself, because gRPC reports a message it could not
// decode exactly like a client that half-closed; here the client learns
// that its message was undecodable (INVALID_ARGUMENT).
class StreamReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                            public StreamSink {
 public:
  explicit StreamReactor(std::shared_ptr<Session> session)
      : session_(std::move(session)), in_(InboundMessage::New()) {
    session_->Attach(this);
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
      EndWith(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           "[stream] a message could not be decoded as tensord.v1.ClientMessage "
                           "(corrupt bytes, or not a tensord client)"));
      return;
    }
    bool more = session_->Enqueue(std::move(in_));
    in_ = InboundMessage::New();
    if (more) StartRead(&in_bytes_);
  }

  void ResumeReading() override { StartRead(&in_bytes_); }

  void Send(v1::ServerMessage msg) override {
    grpc::ByteBuffer bytes;
    bool own_buffer;
    if (!grpc::SerializationTraits<v1::ServerMessage>::Serialize(msg, &bytes, &own_buffer).ok()) {
      spdlog::error("session {}: a reply could not be serialized", session_->id().substr(0, 8));
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return broken_ || unsent_bytes_ < kMaxUnsentReplyBytes; });
    if (broken_ || finishing_) return;
    unsent_bytes_ += bytes.Length();
    out_.push_back(std::move(bytes));
    if (!writing_) {
      writing_ = true;
      StartWrite(&out_.front());
    }
  }

  void FinishWhenFlushed() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finishing_) return;
    finishing_ = true;
    if (!writing_) Finish(final_status_);
  }

  void Abort(const std::string& reason) override {
    EndWith(grpc::Status(grpc::StatusCode::ABORTED, reason));
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    unsent_bytes_ -= out_.front().Length();
    out_.pop_front();
    if (!ok) {
      broken_ = true;
      out_.clear();
    }
    if (!out_.empty() && !broken_) {
      StartWrite(&out_.front());
    } else {
      writing_ = false;
      if (finishing_) Finish(final_status_);
    }
    cv_.notify_all();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    broken_ = true;
    cv_.notify_all();
    if (!finishing_) {
      finishing_ = true;
      if (!writing_) Finish(grpc::Status::CANCELLED);
    }
  }

  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      broken_ = true;
      cv_.notify_all();
    }
    session_->Detach(this);
    delete this;
  }

 private:
  // Ends the stream now with `status`, dropping replies not yet written.
  void EndWith(grpc::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    broken_ = true;  // Send drops replies from now on
    cv_.notify_all();
    if (finishing_) return;
    finishing_ = true;
    final_status_ = std::move(status);
    if (!writing_) Finish(final_status_);  // else OnWriteDone finishes
  }

  std::shared_ptr<Session> session_;
  grpc::ByteBuffer in_bytes_;  // the message being read
  InboundMessage in_;          // where it is parsed
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<grpc::ByteBuffer> out_;
  size_t unsent_bytes_ = 0;
  grpc::Status final_status_ = grpc::Status::OK;  // what Finish reports
  bool writing_ = false;
  bool finishing_ = false;
  bool broken_ = false;
};

class RejectedStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit RejectedStream(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

RuntimeService::RuntimeService(const Config& config, std::vector<v1::DeviceInfo> devices)
    : config_(config), devices_(std::move(devices)) {}

RuntimeService::~RuntimeService() = default;

grpc::ServerUnaryReactor* RuntimeService::Handshake(grpc::CallbackServerContext* ctx,
                                                    const v1::HandshakeRequest* req,
                                                    v1::HandshakeResponse* resp) {
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
  std::string id = NewSessionId();
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
      spdlog::debug("no shared memory for this session: {}", err.empty() ? "token mismatch" : err);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_) {
      return Done(ctx, grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                    "[session] daemon is shutting down"));
    }
    auto session = std::make_shared<Session>(id, req->client_name(), config_);
    session->set_shared_region(region);
    sessions_[id] = std::move(session);
  }
  resp->set_session_id(id);
  resp->set_shared_memory(region != nullptr);
  spdlog::info("session {} opened by {} ({})", id.substr(0, 8), req->client_name(), ctx->peer());
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* RuntimeService::CloseSession(grpc::CallbackServerContext* ctx,
                                                       const v1::CloseSessionRequest* req,
                                                       v1::CloseSessionResponse*) {
  std::shared_ptr<Session> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(req->session_id());
    if (it == sessions_.end()) {
      return Done(ctx, grpc::Status(grpc::StatusCode::NOT_FOUND, "[session] no session " +
                                                                     req->session_id()));
    }
    gone = std::move(it->second);
    sessions_.erase(it);
  }
  spdlog::info("session {} closed", req->session_id().substr(0, 8));
  return Done(ctx, grpc::Status::OK);
}

std::shared_ptr<Session> RuntimeService::FindSession(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* RuntimeService::Stream(
    grpc::CallbackServerContext* ctx) {
  auto md = ctx->client_metadata().find("tensord-session");
  if (md == ctx->client_metadata().end()) {
    return new RejectedStream(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                           "[stream] missing tensord-session metadata; call "
                                           "OpenSession first"));
  }
  std::string id(md->second.data(), md->second.size());
  auto session = FindSession(id);
  if (!session) {
    return new RejectedStream(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                           "[stream] no session " + id +
                                               " (closed, expired, or never opened)"));
  }
  return new StreamReactor(std::move(session));
}

void RuntimeService::Drain(int seconds) {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
    for (auto& [id, s] : sessions_) all.push_back(s);
  }
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      const auto& s = it->second;
      if (!s->attached() && s->pending() == 0 &&
          now - s->last_detached() > std::chrono::seconds(config_.session_grace_seconds)) {
        spdlog::info("session {} expired after {} s without a stream", it->first.substr(0, 8),
                     config_.session_grace_seconds);
        expired.push_back(std::move(it->second));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
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
  gone->Kill(reason);
  spdlog::warn("session {} killed: {}", gone->id().substr(0, 8), reason);
  return grpc::Status::OK;
}

size_t RuntimeService::session_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

}  // namespace tensord
