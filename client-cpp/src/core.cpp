#include "tensord/core.h"

#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "kernels/core/error.h"
#include "kernels/core/shared_memory.h"
#include "kernels/meta/infer.h"
#include "kernels/meta/view_rebase.h"
#include "tensord/v1/runtime.grpc.pb.h"

namespace tensord::client {
namespace {

constexpr int kFlushOps = 512;              // ops per batch before sending
// Replies are acknowledged at least this often (acks ride on outgoing
// messages; with none going out, a bare ack is sent).
constexpr uint64_t kAckEveryReplies = 32;
constexpr size_t kAckEveryBytes = 4u << 20;
constexpr size_t kFlushBytes = 1u << 20;    // or this many payload bytes
constexpr size_t kInlineBytes = 64u << 10;  // from_data inline up to this
constexpr size_t kMaxQueuedBytes = 64u << 20;
constexpr size_t kSharedMemoryMinBytes = 1u << 20;  // smaller tensors go inline
// The upload region shared with the daemon: two halves, so the next piece
// is copied in while the daemon copies the last one out.
constexpr size_t kRegionBytes = 64u << 20;

// Whether the address is on this host (where /dev/shm may be shared).
bool IsLocalAddress(const std::string& a) {
  return a.rfind("unix:", 0) == 0 || a.rfind("127.", 0) == 0 ||
         a.rfind("localhost", 0) == 0 || a.rfind("[::1]", 0) == 0 ||
         a.rfind("ipv4:127.", 0) == 0;
}

RemoteError ConnectError(const std::string& message, int code = 14) {
  return RemoteError("[connect] " + message, "connect", "", "RuntimeError", code);
}

std::string ReadPemFile(const char* what, const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ConnectError("cannot read the TLS " + std::string(what) + " file " + path, 5);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::shared_ptr<grpc::ChannelCredentials> MakeCredentials(const TlsOptions& tls) {
  const bool use_tls = tls.enabled || !tls.ca_file.empty() || !tls.cert_file.empty() ||
                       !tls.key_file.empty();
  if (!use_tls) return grpc::InsecureChannelCredentials();
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    throw ConnectError("a TLS client certificate needs its key and the key its certificate "
                       "(tls_cert and tls_key, or TENSORD_TLS_CERT and TENSORD_TLS_KEY)", 3);
  }
  grpc::SslCredentialsOptions o;
  if (!tls.ca_file.empty()) o.pem_root_certs = ReadPemFile("CA", tls.ca_file);
  if (!tls.cert_file.empty()) {
    o.pem_cert_chain = ReadPemFile("certificate", tls.cert_file);
    o.pem_private_key = ReadPemFile("key", tls.key_file);
  }
  return grpc::SslCredentials(o);
}

// gRPC metadata values must be printable ASCII; a token is sent as one.
void CheckToken(const std::string& token) {
  for (unsigned char c : token) {
    if (c < 0x21 || c > 0x7e) {
      throw ConnectError("the token may hold only printable ASCII without spaces", 3);
    }
  }
}

bool LooksLikeTlsFailure(const std::string& message) {
  for (const char* word : {"SSL", "ssl", "TLS", "handshake", "certificate", "Handshake"}) {
    if (message.find(word) != std::string::npos) return true;
  }
  return false;
}

// One message on its way to the writer thread, with the arena it lives in.
struct Outgoing {
  std::unique_ptr<google::protobuf::Arena> arena;
  v1::ClientMessage* msg = nullptr;
  size_t bytes = 0;
  uint64_t seq = 0;  // the session-wide number of this batch or upload chunk
};

struct PendingFetch {
  bool done = false;
  bool none = false;  // the tensor is None
  bool requires_grad = false;
  std::string shm_name;  // the bytes are in this shared-memory object
  uint64_t total_bytes = 0;
  bool meta_only = false;
  std::optional<v1::OpError> error;
  FetchedTensor result;
  uint64_t received = 0;
};

// An UploadChunk of tensor `id` at byte `offset`; the first carries the
// tensor's metadata.
Outgoing UploadChunkMessage(uint64_t seq, uint64_t id, size_t offset, DType dtype,
                            const Shape& sizes) {
  Outgoing o;
  o.arena = std::make_unique<google::protobuf::Arena>();
  o.msg = google::protobuf::Arena::CreateMessage<v1::ClientMessage>(o.arena.get());
  o.seq = seq;
  v1::UploadChunk* c = o.msg->mutable_upload();
  c->set_seq(seq);
  c->set_tensor(id);
  c->set_offset(offset);
  if (offset == 0) {
    c->set_dtype(std::string(DTypeName(dtype)));
    for (int64_t d : sizes) c->add_sizes(d);
    c->set_device("cpu");
  }
  return o;
}

// Re-attach after a stream ends with one of these: the connection broke,
// the daemon did not.
bool IsTransient(const grpc::Status& st) {
  return st.error_code() == grpc::StatusCode::UNAVAILABLE;
}

RemoteError ToRemote(const v1::OpError& e) {
  return RemoteError(e.message(), e.op(), e.location(),
                     e.exception().empty() ? "RuntimeError" : e.exception(), e.code());
}

}  // namespace

RemoteError::RemoteError(std::string message, std::string op, std::string location,
                         std::string exception, int code)
    : std::runtime_error(std::move(message)),
      op_(std::move(op)),
      location_(std::move(location)),
      exception_(std::move(exception)),
      code_(code) {}

struct Core::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Runtime::Stub> stub;
  std::unique_ptr<grpc::ClientContext> stream_ctx;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ClientMessage, v1::ServerMessage>> stream;
  DaemonInfo info;
  std::string session_id;
  std::string authorization;  // "Bearer <token>", or empty when there is no token

  // Every call carries the token: the daemon authenticates each one.
  void Authorize(grpc::ClientContext& ctx) const {
    if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
  }

  std::mutex mu;  // recording state below
  uint64_t next_id = 1;
  uint64_t next_request = 1;
  uint64_t seq = 0;
  Outgoing batch;
  int batch_ops = 0;
  size_t batch_bytes = 0;  // inline payloads, so a batch stays under the message limit
  uint64_t ops_recorded = 0;
  uint64_t grad_epoch = 0;  // see Core::grad_epoch
  std::vector<uint64_t> op_counts = std::vector<uint64_t>(AllOps().size());
  uint64_t batches_sent = 0;
  bool closed = false;

  std::mutex reply_mu;  // replies below
  std::condition_variable reply_cv;
  std::map<uint64_t, PendingFetch> fetches;
  std::map<uint64_t, bool> syncs;
  std::deque<v1::OpError> errors;
  std::optional<std::string> stream_broken;
  std::deque<v1::Callback> callbacks;       // waiting for a sync point to run them
  std::vector<uint64_t> released_handles;
  std::function<void(CallbackRequest)> callback_handler;  // set once, before use

  char* region = nullptr;          // shared upload region, or null
  std::mutex region_mu;            // one upload uses the region at a time
  bool half_busy[2] = {false, false};  // guarded by reply_mu

  // The writer's queue and the replay buffer. Every batch and upload chunk
  // stays in `unacked` after it is written until the daemon acknowledges
  // its seq; after a re-attach the ones the daemon lacks go out again.
  std::mutex out_mu;
  std::condition_variable out_cv;
  std::deque<Outgoing> out;       // not yet written
  std::deque<Outgoing> unacked;   // written, not yet acknowledged
  size_t out_bytes = 0;           // both queues: the bound on memory held
  uint64_t acked_seq = 0;         // the daemon accepted every seq up to this
  bool writer_stop = false;
  bool writer_busy = false;       // in a Write on the current stream
  bool write_failed = false;      // the current stream refused a write
  bool reattaching = false;       // the reader is replacing the stream
  bool ack_due = false;           // the reader wants an ack sent now
  bool dead = false;              // the stream is gone for good
  std::thread writer, reader;

  // Replies: the last seq received (the reader writes it, the writer puts it
  // in outgoing messages as their ack) and the last one acknowledged.
  std::atomic<uint64_t> received_seq{0};
  std::atomic<uint64_t> ack_sent{0};
  size_t bytes_since_ack = 0;     // reader thread only
  std::atomic<uint64_t> reattaches{0};

  std::string address;
  uint32_t grace_seconds = 0;     // the daemon keeps the session this long without a stream

  v1::Batch* CurrentBatch() {
    if (!batch.msg) {
      batch.arena = std::make_unique<google::protobuf::Arena>();
      batch.msg = google::protobuf::Arena::CreateMessage<v1::ClientMessage>(batch.arena.get());
      batch.seq = ++seq;
      batch.msg->mutable_batch()->set_seq(batch.seq);
      batch_ops = 0;
      batch_bytes = 0;
    }
    return batch.msg->mutable_batch();
  }

  // Hands the current batch to the writer. Caller holds mu.
  void FlushLocked() {
    if (!batch.msg) return;
    // An estimate for the writer queue's bound (an exact ByteSizeLong would
    // walk the whole batch again).
    batch.bytes = batch_bytes + 64 * static_cast<size_t>(batch_ops) + 64;
    Enqueue(std::move(batch));
    batch = Outgoing{};
    ++batches_sent;
  }

  void Enqueue(Outgoing o) {
    std::unique_lock<std::mutex> lock(out_mu);
    out_cv.wait(lock, [&] { return out_bytes < kMaxQueuedBytes || writer_stop || dead; });
    if (dead) return;  // the next sync point raises why
    out_bytes += o.bytes;
    out.push_back(std::move(o));
    out_cv.notify_all();
  }

  // Forgets the messages the daemon has accepted. Caller holds out_mu.
  void DropAcked(uint64_t ack) {
    if (ack <= acked_seq) return;
    acked_seq = ack;
    while (!unacked.empty() && unacked.front().seq <= ack) {
      out_bytes -= unacked.front().bytes;
      unacked.pop_front();
    }
    out_cv.notify_all();
  }

  void WriterLoop() {
    for (;;) {
      Outgoing o;
      grpc::ClientReaderWriter<v1::ClientMessage, v1::ServerMessage>* to;
      {
        std::unique_lock<std::mutex> lock(out_mu);
        const auto can_write = [&] { return !reattaching && !write_failed && !dead; };
        out_cv.wait(lock, [&] {
          return writer_stop || dead || (can_write() && (!out.empty() || ack_due));
        });
        if (dead || (writer_stop && (out.empty() || !can_write()))) break;
        if (!out.empty()) {
          o = std::move(out.front());
          out.pop_front();
        }
        ack_due = false;
        writer_busy = true;
        to = stream.get();
      }
      v1::ClientMessage ack_only;
      v1::ClientMessage* msg = o.msg ? o.msg : &ack_only;
      const uint64_t ack = received_seq.load();
      msg->set_ack(ack);
      const bool ok = to->Write(*msg);
      if (ok) ack_sent = ack;
      std::lock_guard<std::mutex> lock(out_mu);
      writer_busy = false;
      if (!ok) write_failed = true;  // the reader sees the stream end and re-attaches
      if (o.msg) {
        if (o.seq > acked_seq) {
          unacked.push_back(std::move(o));
        } else {
          out_bytes -= o.bytes;  // acknowledged while it was being written
        }
      }
      out_cv.notify_all();
    }
    std::lock_guard<std::mutex> lock(out_mu);
    if (!dead && !reattaching && !write_failed) stream->WritesDone();
  }

  void ReaderLoop() {
    for (;;) {
      v1::ServerMessage m;
      while (stream->Read(&m)) HandleReply(m);
      grpc::Status st = stream->Finish();
      bool stopping;
      {
        std::lock_guard<std::mutex> lock(out_mu);
        stopping = writer_stop;
      }
      if (!stopping && IsTransient(st) && Reattach(st)) continue;
      std::string why =
          st.ok() ? std::string("the session's stream ended")
                  : "the daemon ended the stream: " + st.error_message() + " (gRPC code " +
                        std::to_string(st.error_code()) + ")";
      if (!stopping && IsTransient(st)) {
        why = "lost the connection to session " + session_id + " at " + address +
              " and could not re-attach within the daemon's grace period of " +
              std::to_string(grace_seconds) + " s (" + st.error_message() + ")";
      }
      GiveUp(why, /*keep_first_reason=*/true);
      return;
    }
  }

  void HandleReply(const v1::ServerMessage& m) {
    if (m.seq() != 0) {
      if (m.seq() <= received_seq.load()) return;  // already handled before a re-attach
      received_seq = m.seq();
      bytes_since_ack += m.has_fetch() ? m.fetch().data().size() : 0;
    }
    if (m.ack() != 0 || received_seq - ack_sent >= kAckEveryReplies ||
        bytes_since_ack >= kAckEveryBytes) {
      std::lock_guard<std::mutex> lock(out_mu);
      if (m.ack() != 0) DropAcked(m.ack());
      if (received_seq - ack_sent >= kAckEveryReplies || bytes_since_ack >= kAckEveryBytes) {
        // Replies the daemon keeps for us free up only when we ack them.
        ack_due = true;
        bytes_since_ack = 0;
        out_cv.notify_all();
      }
    }
    std::lock_guard<std::mutex> lock(reply_mu);
    if (m.has_error()) {
      errors.push_back(m.error());
    } else if (m.has_callback()) {
      const v1::Callback& c = m.callback();
      if (c.kind() == v1::Callback::RELEASE) {
        released_handles.insert(released_handles.end(), c.handles().begin(), c.handles().end());
      } else {
        callbacks.push_back(c);
        reply_cv.notify_all();
      }
    } else if (m.has_fetch()) {
      const auto& f = m.fetch();
      auto it = fetches.find(f.request_id());
      if (it == fetches.end() || it->second.done) return;
      PendingFetch& p = it->second;
      if (f.has_error()) {
        p.error = f.error();
      } else if (f.none()) {
        p.none = true;
      } else {
        if (f.offset() == 0) {
          p.requires_grad = f.requires_grad();
          p.shm_name = f.shm_name();
          p.total_bytes = f.total_bytes();
          auto d = ParseDType(f.dtype());
          p.result.dtype = d.value_or(DType::kFloat32);
          p.result.sizes.assign(f.sizes().begin(), f.sizes().end());
          p.result.strides.assign(f.strides().begin(), f.strides().end());
          p.result.storage_offset = f.storage_offset();
          if (!p.meta_only && f.shm_name().empty()) {
            p.result.nbytes = f.total_bytes();
            p.result.data = std::shared_ptr<char>(new char[std::max<size_t>(p.result.nbytes, 1)],
                                                  std::default_delete<char[]>());
          }
        }
        if (!p.meta_only && p.result.data && f.offset() + f.data().size() <= p.result.nbytes) {
          std::memcpy(const_cast<char*>(p.result.data.get()) + f.offset(), f.data().data(),
                      f.data().size());
        }
      }
      if (f.last()) {
        p.done = true;
        reply_cv.notify_all();
      }
    } else if (m.has_released()) {
      half_busy[m.released().region_offset() == 0 ? 0 : 1] = false;
      reply_cv.notify_all();
    } else if (m.has_synced()) {
      syncs[m.synced().request_id()] = true;
      reply_cv.notify_all();
    }
  }

  // Opens a stream to the session, telling the daemon the last reply seen.
  // Returns the last seq the daemon accepted, or the status it ended with.
  using StreamPtr =
      std::unique_ptr<grpc::ClientReaderWriter<v1::ClientMessage, v1::ServerMessage>>;
  std::optional<uint64_t> OpenStream(std::unique_ptr<grpc::ClientContext>& ctx, StreamPtr& st,
                                     grpc::Status* failure) {
    ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("tensord-session", session_id);
    ctx->AddMetadata("tensord-ack", std::to_string(received_seq.load()));
    Authorize(*ctx);
    st = stub->Stream(ctx.get());
    st->WaitForInitialMetadata();
    const auto& md = ctx->GetServerInitialMetadata();
    auto it = md.find("tensord-accepted");
    if (it != md.end()) {
      return std::strtoull(std::string(it->second.data(), it->second.size()).c_str(), nullptr, 10);
    }
    *failure = st->Finish();
    return std::nullopt;
  }

  // After a transient stream failure: opens a new stream to the session,
  // retrying with backoff for the daemon's grace period, and queues again
  // what the daemon has not accepted. False: the session is gone for good
  // (the reason is recorded).
  bool Reattach(grpc::Status st) {
    {
      std::unique_lock<std::mutex> lock(out_mu);
      reattaching = true;
      stream_ctx->TryCancel();  // a Write in progress returns
      out_cv.wait(lock, [&] { return !writer_busy; });
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_seconds);
    auto backoff = std::chrono::milliseconds(20);
    for (;;) {
      std::unique_ptr<grpc::ClientContext> ctx;
      StreamPtr next;
      grpc::Status failure;
      std::optional<uint64_t> accepted = OpenStream(ctx, next, &failure);
      std::unique_lock<std::mutex> lock(out_mu);
      if (accepted && writer_stop) {
        // Closing: the writer is gone and the session is about to be
        // closed, so nothing more needs to reach it.
        ctx->TryCancel();
        return false;
      }
      if (accepted) {
        DropAcked(*accepted);
        // The unacknowledged messages go first: their seqs are the lowest.
        while (!unacked.empty()) {
          out.push_front(std::move(unacked.back()));
          unacked.pop_back();
        }
        auto old_stream = std::move(stream);
        auto old_ctx = std::move(stream_ctx);
        stream_ctx = std::move(ctx);
        stream = std::move(next);
        old_stream.reset();
        old_ctx.reset();
        reattaching = false;
        write_failed = false;
        ++reattaches;
        out_cv.notify_all();
        return true;
      }
      if (failure.error_code() == grpc::StatusCode::NOT_FOUND) {
        lock.unlock();
        GiveUp("session " + session_id + " no longer exists on the daemon at " + address +
                   " (it expired after the grace period of " + std::to_string(grace_seconds) +
                   " s, was closed, or the daemon restarted): its tensors are gone. " +
                   "[lost the connection: " + st.error_message() + "]",
               false);
        return false;
      }
      if (!IsTransient(failure)) {
        lock.unlock();
        GiveUp("re-attaching to session " + session_id + " failed: " + failure.error_message() +
                   " (gRPC code " + std::to_string(failure.error_code()) + ")",
               false);
        return false;
      }
      if (writer_stop || std::chrono::steady_clock::now() + backoff >= deadline) {
        lock.unlock();
        return false;  // the caller words the failure
      }
      out_cv.wait_for(lock, backoff, [&] { return writer_stop; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
  }

  // The stream is gone for good: wake every waiter with `why`.
  void GiveUp(const std::string& why, bool keep_first_reason) {
    {
      std::lock_guard<std::mutex> lock(out_mu);
      dead = true;
      out.clear();
      unacked.clear();
      out_bytes = 0;
      out_cv.notify_all();
    }
    std::lock_guard<std::mutex> lock(reply_mu);
    if (!stream_broken || !keep_first_reason) stream_broken = why;
    reply_cv.notify_all();
  }

  PendingFetch FetchAndWait(uint64_t id, bool meta_only);

  // Waits on reply_cv until done(), running the daemon's autograd callbacks
  // that arrive meanwhile (the daemon's backward waits for them).
  template <typename Done>
  void WaitServingCallbacks(std::unique_lock<std::mutex>& lock, Done done) {
    for (;;) {
      reply_cv.wait(lock, [&] { return done() || (!callbacks.empty() && callback_handler); });
      if (done()) return;
      v1::Callback c = std::move(callbacks.front());
      callbacks.pop_front();
      lock.unlock();
      RunCallback(c);
      lock.lock();
    }
  }
  void RunCallback(const v1::Callback& c);
  std::weak_ptr<Core> owner;

  // Raises the first daemon error not yet raised. Caller holds reply_mu.
  void ThrowPendingError() {
    if (!errors.empty()) {
      v1::OpError e = std::move(errors.front());
      errors.clear();  // later errors are usually consequences of the first
      throw ToRemote(e);
    }
  }

  void ThrowIfBroken() {
    if (stream_broken) throw RemoteError("[tensord] " + *stream_broken, "stream", "", "RuntimeError", 14);
  }
};

Core::Core() : impl_(std::make_unique<Impl>()) {}

void Core::Impl::RunCallback(const v1::Callback& c) {
  std::shared_ptr<Core> core = owner.lock();
  if (!core) return;
  CallbackRequest req;
  req.id = c.callback_id();
  req.kind = static_cast<int>(c.kind());
  req.handle = c.handles_size() > 0 ? c.handles(0) : 0;
  for (int i = 0; i < c.grads_size(); ++i) {
    if (c.grads(i) == 0 || i >= c.grad_metas_size()) {
      req.grads.push_back(nullptr);
      continue;
    }
    const v1::GradMeta& gm = c.grad_metas(i);
    TensorMeta m = TensorMeta::Contiguous(ParseDType(gm.dtype()).value_or(DType::kFloat32),
                                          Device::Parse(gm.device()).value_or(Device{}),
                                          Shape(gm.sizes().begin(), gm.sizes().end()));
    m.strides.assign(gm.strides().begin(), gm.strides().end());
    m.offset = gm.storage_offset();
    req.grads.push_back(std::make_shared<TensorImpl>(core, c.grads(i), std::move(m)));
  }
  callback_handler(std::move(req));
}

void Core::SetCallbackHandler(std::function<void(CallbackRequest)> handler) {
  std::lock_guard<std::mutex> lock(impl_->reply_mu);
  impl_->callback_handler = std::move(handler);
}

void Core::ReplyCallback(uint64_t id, const std::vector<std::shared_ptr<TensorImpl>>& results,
                         const std::string& error, const std::string& exception) {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.closed) return;
  v1::CallbackReply* r = s.CurrentBatch()->mutable_callback_reply();
  r->set_callback_id(id);
  for (const auto& t : results) r->add_results(t ? t->id() : 0);
  r->set_error(error);
  r->set_exception(exception);
  s.FlushLocked();  // one reply per batch; the daemon is waiting for it
}

std::vector<uint64_t> Core::TakeReleasedHandles() {
  std::lock_guard<std::mutex> lock(impl_->reply_mu);
  std::vector<uint64_t> out;
  out.swap(impl_->released_handles);
  return out;
}

ConnectOptions WithEnvironmentDefaults(ConnectOptions options) {
  auto fill = [](std::string& field, const char* name) {
    const char* v = std::getenv(name);
    if (field.empty() && v && *v) field = v;
  };
  fill(options.token, "TENSORD_TOKEN");
  fill(options.tls.ca_file, "TENSORD_TLS_CA");
  fill(options.tls.cert_file, "TENSORD_TLS_CERT");
  fill(options.tls.key_file, "TENSORD_TLS_KEY");
  fill(options.tls.server_name, "TENSORD_TLS_SERVER_NAME");
  if (const char* v = std::getenv("TENSORD_TLS"); v && std::string(v) == "1") {
    options.tls.enabled = true;
  }
  return options;
}

std::shared_ptr<Core> Core::Connect(const std::string& address, const ConnectOptions& given) {
  const ConnectOptions options = WithEnvironmentDefaults(given);
  // Bad options throw before there is a Core (whose destructor would close
  // a session that was never opened).
  CheckToken(options.token);
  std::shared_ptr<grpc::ChannelCredentials> credentials = MakeCredentials(options.tls);
  std::shared_ptr<Core> core(new Core());
  core->impl_->owner = core;
  Impl& s = *core->impl_;
  if (!options.token.empty()) s.authorization = "Bearer " + options.token;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // After a dropped connection, reconnect within ~0.1-2 s rather than
  // gRPC's default backoff (1 s growing to 120 s): re-attaching waits on it.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  if (!options.tls.server_name.empty()) args.SetSslTargetNameOverride(options.tls.server_name);
  s.channel = grpc::CreateCustomChannel(address, credentials, args);
  s.stub = v1::Runtime::NewStub(s.channel);
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::milliseconds(options.connect_timeout_ms);
  // Wait for the channel; a failure that is not "nobody listens yet" (a TLS
  // handshake that fails, a plaintext daemon) ends the wait at once.
  for (grpc_connectivity_state state = s.channel->GetState(true); state != GRPC_CHANNEL_READY;
       state = s.channel->GetState(true)) {
    std::string why;
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
      grpc::ClientContext probe;
      probe.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      v1::HandshakeRequest req;
      v1::HandshakeResponse resp;
      why = s.stub->Handshake(&probe, req, &resp).error_message();
      const bool tls = options.tls.enabled || !options.tls.ca_file.empty();
      if (tls && LooksLikeTlsFailure(why)) {
        throw ConnectError("TLS with the daemon at " + address + " failed: " + why +
                           " (check the CA it trusts (tls_ca, TENSORD_TLS_CA), that the daemon "
                           "serves TLS, and that its certificate names this host)");
      }
      // Something listens but hangs up: a TLS mismatch, not a daemon still
      // starting, so waiting longer would not help.
      if (why.find("Socket closed") != std::string::npos ||
          why.find("Connection reset") != std::string::npos) {
        throw ConnectError(
            "the daemon at " + address + " closed the connection: " + why +
            (!tls ? " (does it serve TLS? pass tls_ca or tls=True, or set TENSORD_TLS_CA)"
             : options.tls.cert_file.empty()
                 ? " (does it require a client certificate? pass tls_cert and tls_key, or set "
                   "TENSORD_TLS_CERT and TENSORD_TLS_KEY)"
                 : " (is the client certificate from a CA the daemon trusts?)"));
      }
    }
    if (!s.channel->WaitForStateChange(state, deadline)) {
      throw ConnectError("cannot reach a tensord daemon at " + address +
                         (why.empty() ? "" : ": " + why));
    }
  }
  v1::HandshakeRequest hreq;
  hreq.set_protocol_major(options.protocol_major);
  hreq.set_protocol_minor(0);
  hreq.set_client_name(options.client_name);
  hreq.set_client_version(options.client_version);
  v1::HandshakeResponse hresp;
  {
    grpc::ClientContext ctx;
    s.Authorize(ctx);
    grpc::Status st = s.stub->Handshake(&ctx, hreq, &hresp);
    if (!st.ok()) {
      std::string message = st.error_message();
      const bool tls = options.tls.enabled || !options.tls.ca_file.empty();
      if (tls && st.error_code() == grpc::StatusCode::UNAVAILABLE && options.tls.cert_file.empty()) {
        // TLS 1.3 completes the client's handshake before the daemon checks
        // for a client certificate, so a refusal shows up only here.
        message += " (the daemon may require a client certificate: tls_cert and tls_key, or "
                   "TENSORD_TLS_CERT and TENSORD_TLS_KEY)";
      }
      throw RemoteError(message, "handshake", "", "RuntimeError", st.error_code());
    }
  }
  if (hresp.op_schema_version() != OpSchemaVersion()) {
    throw RemoteError("[handshake] the daemon runs op schema " + hresp.op_schema_version() +
                          ", this client was built with " + std::string(OpSchemaVersion()) +
                          "; install matching tensord versions",
                      "handshake", "", "RuntimeError", 9);
  }
  s.info.daemon_version = hresp.daemon_version();
  s.info.op_schema_version = hresp.op_schema_version();
  s.info.max_chunk_bytes = hresp.max_chunk_bytes();
  for (const auto& d : hresp.devices()) {
    s.info.devices.push_back(d.kind() == "cpu" ? "cpu" : d.kind() + ":" + std::to_string(d.index()));
    s.info.device_names.push_back(d.name());
  }
  {
    grpc::ClientContext ctx;
    s.Authorize(ctx);
    v1::OpenSessionRequest req;
    req.set_client_name(options.client_name);
    const char* no_shm = std::getenv("TENSORD_NO_SHM");
    std::string region_name;
    if (options.shared_memory && !(no_shm && std::string(no_shm) == "1") && IsLocalAddress(address)) {
      region_name = NewSharedMemoryName();
      std::string err;
      void* p = CreateSharedMemory(region_name, kRegionBytes, &err);
      if (p) {
        const std::string token = NewSharedMemoryName();  // 41 random-ish bytes
        std::memcpy(p, token.data(), token.size());
        s.region = static_cast<char*>(p);
        req.set_shm_region(region_name);
        req.set_shm_token(token);
        req.set_shm_region_bytes(kRegionBytes);
      }
    }
    v1::OpenSessionResponse resp;
    grpc::Status st = s.stub->OpenSession(&ctx, req, &resp);
    if (s.region) {
      UnlinkSharedMemory(region_name);  // mapped by both sides now, or not used
      if (!st.ok() || !resp.shared_memory()) {
        UnmapSharedMemory(s.region, kRegionBytes);
        s.region = nullptr;
      }
    }
    if (!st.ok()) {
      throw RemoteError(st.error_message(), "open_session", "", "RuntimeError", st.error_code());
    }
    s.session_id = resp.session_id();
    s.grace_seconds = resp.grace_seconds();
    s.info.shared_memory = s.region != nullptr;
  }
  s.address = address;
  grpc::Status failure;
  if (!s.OpenStream(s.stream_ctx, s.stream, &failure)) {
    throw RemoteError(
        "[connect] the daemon refused the session's stream: " + failure.error_message(),
        "connect", "", "RuntimeError", failure.error_code());
  }
  s.writer = std::thread([&s] { s.WriterLoop(); });
  s.reader = std::thread([&s] { s.ReaderLoop(); });
  return core;
}

Core::~Core() { Close(); }

void Core::Close() {
  Impl& s = *impl_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.closed) return;
    s.closed = true;
    s.FlushLocked();
  }
  {
    std::lock_guard<std::mutex> lock(s.out_mu);
    s.writer_stop = true;
  }
  s.out_cv.notify_all();
  if (s.writer.joinable()) s.writer.join();
  if (s.reader.joinable()) s.reader.join();
  if (!s.session_id.empty()) {  // empty: Connect failed before a session opened
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    s.Authorize(ctx);
    v1::CloseSessionRequest req;
    req.set_session_id(s.session_id);
    v1::CloseSessionResponse resp;
    s.stub->CloseSession(&ctx, req, &resp);  // best effort: the daemon reaps otherwise
  }
  if (s.region) {
    UnmapSharedMemory(s.region, kRegionBytes);
    s.region = nullptr;
  }
}

const DaemonInfo& Core::info() const { return impl_->info; }
const std::string& Core::session_id() const { return impl_->session_id; }
uint64_t Core::ops_recorded() const { return impl_->ops_recorded; }
uint64_t Core::batches_sent() const { return impl_->batches_sent; }
uint64_t Core::reattaches() const { return impl_->reattaches.load(); }
uint64_t Core::grad_epoch() const { return impl_->grad_epoch; }
std::vector<uint64_t> Core::op_counts() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->op_counts;
}

void Core::Release(uint64_t id) {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.closed) return;
  v1::Batch* b = s.CurrentBatch();
  // Nothing recorded in this batch can name the id: free it before the ops.
  if (b->ops_size() == 0 && b->fetches_size() == 0 && !b->has_callback_reply()) {
    b->add_early_releases(id);
  } else {
    b->add_releases(id);
  }
}

std::vector<TensorPtr> Core::Call(const OpSchema& op, std::vector<Value> values,
                                  const std::vector<TensorPtr>& tensors, std::string location) {
  Impl& s = *impl_;
  OpArgs args;
  args.values = std::move(values);
  args.metas.reserve(tensors.size());
  for (const auto& t : tensors) args.metas.push_back(&t->meta());
  std::vector<TensorMeta> metas = InferMeta(op, args);  // throws OpError at the call

  // Autograd metadata by the daemon's rule (scheduler/autograd/exec.cpp),
  // and its errors raised here, at the call.
  const bool grad_mode = GradEnabled();
  bool any_requires_grad = false;
  for (const auto& t : tensors) any_requires_grad |= t->RequiresGrad();
  TensorImpl* target = op.returns == ReturnKind::kInPlace
                           ? tensors[args.values[op.alias_param].i].get() : nullptr;
  const bool record = grad_mode && any_requires_grad && op.autograd != Autograd::kNone;
  const bool rebase_view = record && target && target->view_base;
  if (record && target) {
    // PyTorch's check_inplace, in its order.
    if (rebase_view) {
      target->CheckViewRebase(/*indirect=*/false, op.name);
      TD_CHECK(!(target->RequiresGrad() && target->view_base->is_leaf()), kRuntime, "[", op.name,
               "] a view of a leaf Variable that requires grad is being used in an in-place "
               "operation.");
    }
    target->RefreshViewGradFn();
    TD_CHECK(!(target->is_leaf() && target->RequiresGrad()), kRuntime, "[", op.name,
             "] a leaf Variable that requires grad is being used in an in-place operation.");
  }
  if (record) {
    for (const auto& t : tensors) {
      if (t->RequiresGrad()) t->RefreshViewGradFn();
    }
  }
  if (op.name == "requires_grad_" && !args.values[1].b && !target->is_leaf()) {
    Fail(ErrorKind::kRuntime, "[requires_grad_] you can only change requires_grad flags of leaf "
         "variables. If you want to use a computed variable in a subgraph that doesn't require "
         "differentiation use var_no_grad = var.detach().");
  }

  std::vector<TensorPtr> results;
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.closed) Fail(ErrorKind::kRuntime, "[", op.name, "] the tensord session is closed");
  v1::Batch* b = s.CurrentBatch();
  v1::OpRecord* rec = b->add_ops();
  rec->set_op(op.name);
  rec->set_location(std::move(location));
  if (!grad_mode) rec->set_no_grad(true);
  for (const Value& v : args.values) {
    v1::Value* pv = rec->add_args();
    switch (v.kind) {
      case Value::Kind::kNone: pv->set_none(true); break;
      case Value::Kind::kBool: pv->set_b(v.b); break;
      case Value::Kind::kInt: pv->set_i(v.i); break;
      case Value::Kind::kFloat: pv->set_f(v.f); break;
      case Value::Kind::kStr: pv->set_s(v.s); break;
      case Value::Kind::kInts: pv->mutable_ints()->mutable_values()->Add(v.ints.begin(), v.ints.end()); break;
      case Value::Kind::kFloats: pv->mutable_floats()->mutable_values()->Add(v.floats.begin(), v.floats.end()); break;
      case Value::Kind::kDType: pv->set_dtype(std::string(DTypeName(v.dtype))); break;
      case Value::Kind::kDevice: pv->set_device(v.device.str()); break;
      case Value::Kind::kTensor: pv->set_tensor(tensors[v.i]->id()); break;
      case Value::Kind::kTensors: {
        auto* ids = pv->mutable_tensors();
        for (int64_t idx : v.ints) ids->add_ids(tensors[idx]->id());
        break;
      }
      case Value::Kind::kData:
        pv->set_data(v.s);
        s.batch_bytes += v.s.size();
        break;
    }
  }
  if (op.returns == ReturnKind::kInPlace) {
    results.push_back(tensors[args.values[op.alias_param].i]);
    if (op.name == "requires_grad_") {
      target->requires_grad = args.values[1].b;
    } else if (op.name == "detach_") {
      target->requires_grad = false;
      target->grad_fn = nullptr;
      target->opaque_grad_fn = false;
    } else if (ResultRequiresGrad(op, grad_mode, any_requires_grad, target->meta().dtype)) {
      if (rebase_view) {
        // The base's history becomes CopySlices; the view's is regenerated below.
        TensorImpl& base = *target->view_base;
        base.requires_grad = true;
        base.grad_fn = nullptr;
        base.opaque_grad_fn = true;
        base.custom_grad_fn_name = "CopySlices";
      } else {
        target->requires_grad = true;
        target->grad_fn = &op;
        target->opaque_grad_fn = false;
        target->output_nr = 0;
      }
    }
    if (target->version) ++*target->version;
    if (rebase_view) target->RefreshViewGradFn();
  } else if (op.returns == ReturnKind::kNone && op.alias_param >= 0) {
    // Ops writing into tensors they return nothing of (fused optimizer steps).
    const Value& v = args.values[op.alias_param];
    auto bump = [&](int64_t i) {
      if (tensors[i]->version) ++*tensors[i]->version;
    };
    if (v.kind == Value::Kind::kTensor) bump(v.i);
    if (v.kind == Value::Kind::kTensors) for (int64_t i : v.ints) bump(i);
  } else if (op.returns != ReturnKind::kNone) {
    for (TensorMeta& m : metas) {
      const uint64_t id = s.next_id++;
      rec->add_outputs(id);
      const bool rg = ResultRequiresGrad(op, grad_mode, any_requires_grad, m.dtype);
      auto r = std::make_shared<TensorImpl>(shared_from_this(), id, std::move(m));
      if (rg) {
        r->requires_grad = true;
        r->grad_fn = &op;
        r->output_nr = static_cast<uint32_t>(results.size());
      }
      results.push_back(std::move(r));
    }
    // as_strided is declared a plain result (its kernel checks the storage
    // bound) but the daemon returns a view.
    const bool view = op.returns == ReturnKind::kView || op.returns == ReturnKind::kViewList;
    if (view || op.name == "as_strided") {
      const TensorPtr& in = tensors[args.values[view ? op.alias_param : 0].i];
      if (!in->version) in->version = std::make_shared<uint64_t>(0);
      // Which views the daemon tracks (TrackView in scheduler/autograd/views.cpp).
      const bool differentiable = op.autograd != Autograd::kNone;
      TensorImpl::ViewCreation creation = TensorImpl::ViewCreation::kDefault;
      if (!grad_mode) {
        creation = TensorImpl::ViewCreation::kNoGrad;
      } else if (op.returns == ReturnKind::kViewList && op.name != "tensor_split") {
        creation = TensorImpl::ViewCreation::kMultiOutput;
      } else if (in->view_base) {
        creation = in->view_creation;
      }
      for (TensorPtr& r : results) {
        r->storage_id_ = in->storage_id_;
        r->version = in->version;
        if (!differentiable || !IsFloating(r->meta_.dtype)) continue;
        r->view_base = in->view_base ? in->view_base : in;
        r->view_creation = creation;
        r->view_attr_version = *in->version;
      }
    }
  }
  if (op.name == "_backward" || op.name == "_grad_set" || op.name == "_zero_grad") ++s.grad_epoch;
  ++s.ops_recorded;
  ++s.op_counts[op.index];
  if (++s.batch_ops >= kFlushOps || s.batch_bytes >= kFlushBytes) s.FlushLocked();
  return results;
}

TensorPtr Core::FromBytes(const void* data, size_t nbytes, DType dtype, const Shape& sizes,
                          std::string location) {
  Impl& s = *impl_;
  const TensorMeta meta = TensorMeta::Contiguous(dtype, Device{}, sizes);
  TD_CHECK(meta.nbytes() == nbytes, kValue, "[tensor] ", nbytes, " bytes given for ",
           ShapeStr(sizes), " ", DTypeName(dtype));
  if (nbytes <= kInlineBytes) {
    static const OpSchema* from_data = FindOp("from_data");
    std::vector<Value> values = {Value::Data(std::string(static_cast<const char*>(data), nbytes)),
                                 Value::Ints(sizes), Value::OfDType(dtype), Value::None()};
    return Call(*from_data, std::move(values), {}, std::move(location))[0];
  }
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.closed) Fail(ErrorKind::kRuntime, "[tensor] the tensord session is closed");
  s.FlushLocked();  // keep the stream in recording order
  const uint64_t id = s.next_id++;
  if (s.region && nbytes >= kSharedMemoryMinBytes) {
    // Pieces through the region, alternating halves: copy a piece in while
    // the daemon copies the previous one out.
    std::lock_guard<std::mutex> region_lock(s.region_mu);
    const size_t half = kRegionBytes / 2;
    int which = 0;
    for (size_t off = 0; off < nbytes; off += half, which ^= 1) {
      {
        std::unique_lock<std::mutex> rl(s.reply_mu);
        s.reply_cv.wait(rl, [&] { return !s.half_busy[which] || s.stream_broken.has_value(); });
        if (s.half_busy[which]) s.ThrowIfBroken();
        s.half_busy[which] = true;
      }
      const size_t n = std::min(half, nbytes - off);
      CopyBytes(s.region + which * half, static_cast<const char*>(data) + off, n);
      Outgoing o = UploadChunkMessage(++s.seq, id, off, dtype, sizes);
      v1::UploadChunk* c = o.msg->mutable_upload();
      c->set_region_offset(which * half);
      c->set_region_bytes(n);
      c->set_last(off + n >= nbytes);
      o.bytes = 256;
      s.Enqueue(std::move(o));
    }
    return std::make_shared<TensorImpl>(shared_from_this(), id, meta);
  }
  const size_t chunk = s.info.max_chunk_bytes ? s.info.max_chunk_bytes : (1u << 20);
  for (size_t off = 0; off < nbytes || off == 0; off += chunk) {
    const size_t n = std::min(chunk, nbytes - off);
    Outgoing o = UploadChunkMessage(++s.seq, id, off, dtype, sizes);
    v1::UploadChunk* c = o.msg->mutable_upload();
    c->set_data(static_cast<const char*>(data) + off, n);
    c->set_last(off + n >= nbytes);
    o.bytes = n + 64;
    s.Enqueue(std::move(o));
    if (nbytes == 0) break;
  }
  return std::make_shared<TensorImpl>(shared_from_this(), id, meta);
}

// Sends a Fetch of tensor `id` and waits for its reply (all chunks). Throws
// for a poisoned tensor or a broken stream.
PendingFetch Core::Impl::FetchAndWait(uint64_t id, bool meta_only) {
  uint64_t req;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) Fail(ErrorKind::kRuntime, "[fetch] the tensord session is closed");
    req = next_request++;
    {
      std::lock_guard<std::mutex> rl(reply_mu);
      fetches[req].meta_only = meta_only;
    }
    v1::Fetch* f = CurrentBatch()->add_fetches();
    f->set_request_id(req);
    f->set_tensor(id);
    f->set_metadata_only(meta_only);
    f->set_shared_memory(region != nullptr && !meta_only);
    FlushLocked();
  }
  std::unique_lock<std::mutex> lock(reply_mu);
  WaitServingCallbacks(lock, [&] { return fetches[req].done || stream_broken.has_value(); });
  PendingFetch p = std::move(fetches[req]);
  fetches.erase(req);
  if (!p.done) ThrowIfBroken();
  if (p.error) {
    // Errors reported before this reply are this one's cause or came
    // earlier; either way the fetch's own error is the one to raise.
    errors.clear();
    throw ToRemote(*p.error);
  }
  // A fetch is a sync point: an earlier op's failure (one with no result to
  // poison, such as backward) surfaces here.
  ThrowPendingError();
  return p;
}

FetchedTensor Core::Fetch(const TensorPtr& t) {
  Impl& s = *impl_;
  PendingFetch p = s.FetchAndWait(t->id(), /*meta_only=*/false);
  {
    std::lock_guard<std::mutex> lock(s.reply_mu);
    s.ThrowPendingError();
  }
  if (!p.shm_name.empty()) {
    // Use the daemon's pages in place; unmapped when the last user drops them.
    std::string err;
    void* mapped = OpenSharedMemory(p.shm_name, p.total_bytes, /*shared=*/false, &err);
    if (!mapped) throw RemoteError("[fetch] " + err, "fetch", "", "RuntimeError", 13);
    const size_t n = p.total_bytes;
    p.result.data = std::shared_ptr<const char>(
        static_cast<const char*>(mapped), [n](const char* q) { UnmapSharedMemory(const_cast<char*>(q), n); });
    p.result.nbytes = n;
  }
  if (!p.result.data) p.result.data = std::shared_ptr<const char>(new char[1], std::default_delete<char[]>());
  return std::move(p.result);
}

TensorMeta Core::FetchMeta(uint64_t id, bool* none, bool* requires_grad) {
  PendingFetch p = impl_->FetchAndWait(id, /*meta_only=*/true);
  if (none) *none = p.none;
  if (requires_grad) *requires_grad = p.requires_grad;
  TensorMeta m = TensorMeta::Contiguous(p.result.dtype, Device{}, p.result.sizes);
  m.strides = p.result.strides;
  m.offset = p.result.storage_offset;
  return m;
}

void Core::Synchronize() {
  Impl& s = *impl_;
  uint64_t req;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.closed) Fail(ErrorKind::kRuntime, "[synchronize] the tensord session is closed");
    req = s.next_request++;
    s.CurrentBatch()->set_sync_request_id(req);
    s.FlushLocked();
  }
  std::unique_lock<std::mutex> lock(s.reply_mu);
  s.WaitServingCallbacks(lock, [&] { return s.syncs.contains(req) || s.stream_broken.has_value(); });
  if (!s.syncs.erase(req)) s.ThrowIfBroken();
  s.ThrowPendingError();
}

void Core::Flush() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->FlushLocked();
}

TensorImpl::TensorImpl(std::shared_ptr<Core> core, uint64_t id, TensorMeta meta)
    : core_(std::move(core)), id_(id), storage_id_(id), meta_(std::move(meta)) {}

void TensorImpl::CheckViewRebase(bool indirect, const std::string& op) const {
  if (view_creation == ViewCreation::kDefault) return;
  Fail(ErrorKind::kRuntime, op.empty() ? "" : "[" + op + "] ",
       ViewRebaseError(grad_fn ? grad_fn->grad_name : std::string(), output_nr,
                       view_creation == ViewCreation::kMultiOutput, indirect));
}

void TensorImpl::RefreshViewGradFn() {
  if (!view_base || view_attr_version == *version) return;
  if (is_leaf() && !view_base->requires_grad) return;
  CheckViewRebase(/*indirect=*/true, "");
  static const OpSchema* as_strided = FindOp("as_strided");
  grad_fn = as_strided;
  opaque_grad_fn = false;
  output_nr = 0;
  requires_grad = true;
  view_attr_version = *version;
}

TensorImpl::~TensorImpl() {
  if (core_) core_->Release(id_);
}

const TensorMeta& TensorImpl::meta() {
  if (meta_.dynamic_shape) {
    bool none = false, rg = false;
    TensorMeta m = core_->FetchMeta(id_, &none, &rg);
    if (rg && !requires_grad) {
      requires_grad = true;
      opaque_grad_fn = grad_fn == nullptr;
    }
    if (none) {
      m = meta_;
      m.dynamic_shape = false;
      none_ = true;
    }
    m.device = meta_.device;
    meta_ = std::move(m);
  }
  return meta_;
}

bool TensorImpl::is_none() {
  meta();
  return none_;
}

namespace {
thread_local bool grad_enabled = true;
}  // namespace

bool GradEnabled() { return grad_enabled; }
void SetGradEnabled(bool enabled) { grad_enabled = enabled; }

}  // namespace tensord::client
