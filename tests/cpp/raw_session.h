// A session spoken to in raw tensord.v1 messages, for tests that send what
// no client would: it opens a session, attaches a stream, and collects every
// reply on a reader thread.
#ifndef TENSORD_TESTS_CPP_RAW_SESSION_H_
#define TENSORD_TESTS_CPP_RAW_SESSION_H_

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tensord/v1/runtime.grpc.pb.h"

namespace tensord::testing {

inline v1::Value IntV(int64_t v) { v1::Value x; x.set_i(v); return x; }
inline v1::Value FloatV(double v) { v1::Value x; x.set_f(v); return x; }
inline v1::Value BoolV(bool v) { v1::Value x; x.set_b(v); return x; }
inline v1::Value IntsV(std::vector<int64_t> v) {
  v1::Value x;
  x.mutable_ints();
  for (auto i : v) x.mutable_ints()->add_values(i);
  return x;
}
inline v1::Value FloatsV(std::vector<double> v) {
  v1::Value x;
  x.mutable_floats();
  for (auto f : v) x.mutable_floats()->add_values(f);
  return x;
}
inline v1::Value NoneV() { v1::Value x; x.set_none(true); return x; }
inline v1::Value DTypeV(const std::string& d) { v1::Value x; x.set_dtype(d); return x; }
inline v1::Value DeviceV(const std::string& d) { v1::Value x; x.set_device(d); return x; }
inline v1::Value TensorV(uint64_t id) { v1::Value x; x.set_tensor(id); return x; }
inline v1::Value TensorsV(std::vector<uint64_t> ids) {
  v1::Value x;
  x.mutable_tensors();
  for (auto i : ids) x.mutable_tensors()->add_ids(i);
  return x;
}
inline v1::Value StrV(const std::string& s) { v1::Value x; x.set_s(s); return x; }
inline v1::Value DataV(const std::string& s) { v1::Value x; x.set_data(s); return x; }

inline std::shared_ptr<grpc::Channel> TestChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(256 << 20);
  args.SetMaxReceiveMessageSize(256 << 20);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

class RawSession {
 public:
  explicit RawSession(const std::string& address, const std::string& client_name = "raw-session")
      : channel_(TestChannel(address)), stub_(v1::Runtime::NewStub(channel_)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::OpenSessionRequest req;
    req.set_client_name(client_name);
    v1::OpenSessionResponse resp;
    open_status_ = stub_->OpenSession(&ctx, req, &resp);
    id_ = resp.session_id();
    grace_seconds_ = resp.grace_seconds();
    Attach(std::nullopt);
  }
  ~RawSession() { Detach(); }
  RawSession(const RawSession&) = delete;
  RawSession& operator=(const RawSession&) = delete;

  // Opens a new stream to the session (the old one is cancelled first),
  // with "tensord-ack" metadata when `ack` is set. Returns the daemon's
  // "tensord-accepted" metadata, or nullopt when the stream was refused.
  std::optional<uint64_t> Attach(std::optional<uint64_t> ack) {
    Detach();
    ctx_ = std::make_unique<grpc::ClientContext>();
    ctx_->AddMetadata("tensord-session", id_);
    if (ack) ctx_->AddMetadata("tensord-ack", std::to_string(*ack));
    {
      std::lock_guard<std::mutex> l(mu_);
      replies_.clear();
      ended_ = false;
    }
    stream_ = stub_->Stream(ctx_.get());
    stream_->WaitForInitialMetadata();
    std::optional<uint64_t> accepted;
    const auto& md = ctx_->GetServerInitialMetadata();
    if (auto it = md.find("tensord-accepted"); it != md.end()) {
      accepted = std::stoull(std::string(it->second.data(), it->second.size()));
    }
    reader_ = std::thread([this] {
      v1::ServerMessage m;
      while (stream_->Read(&m)) {
        std::lock_guard<std::mutex> l(mu_);
        replies_.push_back(m);
        cv_.notify_all();
      }
      std::lock_guard<std::mutex> l(mu_);
      ended_ = true;
      cv_.notify_all();
    });
    return accepted;
  }
  // Cancels the current stream (the session lives on for its grace time).
  void Detach() {
    if (!reader_.joinable()) return;
    ctx_->TryCancel();
    reader_.join();
  }

  const grpc::Status& open_status() const { return open_status_; }
  v1::Runtime::Stub& stub() { return *stub_; }
  const std::shared_ptr<grpc::Channel>& channel() { return channel_; }
  const std::string& id() const { return id_; }
  uint32_t grace_seconds() const { return grace_seconds_; }
  grpc::ClientContext& context() { return *ctx_; }
  uint64_t next_seq() { return ++seq_; }
  uint64_t last_seq() const { return seq_; }

  // Sends a message; a batch or upload chunk without a seq gets the
  // session's next one (every batch and chunk takes one, from 1).
  bool Send(v1::ClientMessage m) {
    if (m.has_batch() && m.batch().seq() == 0) m.mutable_batch()->set_seq(++seq_);
    if (m.has_upload() && m.upload().seq() == 0) m.mutable_upload()->set_seq(++seq_);
    seq_ = std::max({seq_, m.batch().seq(), m.upload().seq()});
    return stream_->Write(m);
  }
  // Sends exactly `m` (tests of duplicate and missing seqs); later Sends
  // number on from its seq.
  bool SendRaw(const v1::ClientMessage& m) {
    seq_ = std::max({seq_, m.batch().seq(), m.upload().seq()});
    return stream_->Write(m);
  }

  // Sends one op as its own batch.
  bool Op(const std::string& op, std::vector<v1::Value> args, std::vector<uint64_t> outputs) {
    v1::ClientMessage m;
    auto* b = m.mutable_batch();
    b->set_seq(++seq_);
    *b->add_ops() = Record(op, std::move(args), std::move(outputs));
    return Send(m);
  }
  static v1::OpRecord Record(const std::string& op, std::vector<v1::Value> args,
                             std::vector<uint64_t> outputs) {
    v1::OpRecord r;
    r.set_op(op);
    r.set_location("raw_session.h:1");
    for (auto& a : args) *r.add_args() = a;
    for (auto o : outputs) r.add_outputs(o);
    return r;
  }
  bool Release(uint64_t id) {
    v1::ClientMessage m;
    m.mutable_batch()->set_seq(++seq_);
    m.mutable_batch()->add_releases(id);
    return Send(m);
  }
  // Fetches a tensor; returns the reply (data of every chunk joined, or the
  // error). An empty reply with request_id 0 means no answer in time.
  v1::FetchReply Fetch(uint64_t id) {
    v1::ClientMessage m;
    m.mutable_batch()->set_seq(++seq_);
    auto* f = m.mutable_batch()->add_fetches();
    const uint64_t request = ++req_;
    f->set_request_id(request);
    f->set_tensor(id);
    Send(m);
    return AwaitFetch(request);
  }
  // The reply (all chunks joined) to fetch `request_id`.
  v1::FetchReply AwaitFetch(uint64_t request_id) {
    v1::FetchReply out;
    std::string data;
    for (;;) {
      auto r = Next([&](const v1::ServerMessage& s) {
        return s.has_fetch() && s.fetch().request_id() == request_id;
      });
      if (!r) return v1::FetchReply{};
      if (r->fetch().offset() == 0) out = r->fetch();
      data += r->fetch().data();
      if (r->fetch().last()) break;
    }
    out.set_data(data);
    return out;
  }
  // The next OpError reply (skipping others), or nullopt after `wait`.
  std::optional<v1::OpError> NextError(std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    auto r = Next([](const v1::ServerMessage& s) { return s.has_error(); }, wait);
    if (!r) return std::nullopt;
    return r->error();
  }
  // The next reply that `pred` accepts (skipping others), or nullopt after
  // `wait` or the end of the stream.
  template <typename Pred>
  std::optional<v1::ServerMessage> Next(Pred pred,
                                        std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> l(mu_);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      for (auto it = replies_.begin(); it != replies_.end(); ++it) {
        if (pred(*it)) {
          v1::ServerMessage m = *it;
          replies_.erase(it);
          return m;
        }
      }
      if (ended_ || cv_.wait_until(l, deadline) == std::cv_status::timeout) return std::nullopt;
    }
  }
  // Waits for the stream to end; returns the status the daemon gave.
  grpc::Status Finish() {
    {
      std::unique_lock<std::mutex> l(mu_);
      if (!cv_.wait_for(l, std::chrono::seconds(10), [&] { return ended_; })) {
        return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "test: the stream did not end");
      }
    }
    return stream_->Finish();
  }
  bool ended() {
    std::lock_guard<std::mutex> l(mu_);
    return ended_;
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Runtime::Stub> stub_;
  grpc::Status open_status_;
  std::string id_;
  uint32_t grace_seconds_ = 0;
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ClientMessage, v1::ServerMessage>> stream_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::ServerMessage> replies_;
  bool ended_ = false;
  uint64_t seq_ = 0, req_ = 0;
};

}  // namespace tensord::testing

#endif  // TENSORD_TESTS_CPP_RAW_SESSION_H_
