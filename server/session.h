// A client session: its tensors (by client-assigned id), its random
// generator, and the serial executor that runs its stream in order.
//
// A session outlives its streams. Client messages carry a session-wide seq:
// the session accepts each number once and in order, whichever stream it
// arrives on. Replies carry a seq too and are kept until the client
// acknowledges them, so a re-attached stream starts with the replies the
// client missed.
//
// Threading: Enqueue/Attach/Detach/Close are called from gRPC threads;
// everything that touches tensors runs on the session's executor thread.
#ifndef TENSORD_SERVER_SESSION_H_
#define TENSORD_SERVER_SESSION_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "kernels/core/error.h"
#include "kernels/kernel.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/serial_executor.h"
#include "server/config.h"
#include "server/op_rate.h"
#include "server/stream_sink.h"
#include "server/tenant_usage.h"
#include "server/tenants.h"

namespace tensord {

// A client's shared-memory region mapped into the daemon (read-only).
struct SharedRegion {
  SharedRegion(void* p, size_t n) : data(static_cast<const char*>(p)), size(n) {}
  ~SharedRegion();
  const char* data;
  size_t size;
};

class Session {
 public:
  Session(std::string id, std::string client_name, const Config& config,
          std::shared_ptr<const Tenant> tenant);
  ~Session();

  const std::string& id() const { return id_; }
  const std::string& client_name() const { return client_name_; }
  std::chrono::steady_clock::time_point created() const { return created_; }
  // The tenant that opened it; only that tenant may name it again.
  const Tenant& tenant() const { return *tenant_; }

  // Accepts a client message read from `from`'s stream: queues it if its
  // seq is the next one, drops it if already accepted (a resend), and
  // refuses a gap or a missing seq by ending that stream. Returns false when
  // the caller should stop reading: until the sink's ResumeReading() (too
  // much queued work), or for good (refused, or `from` was replaced).
  bool Enqueue(StreamSink* from, InboundMessage msg);
  // Queues the end of the client's stream: replies are flushed, then the
  // stream finishes.
  void EnqueueEndOfStream(StreamSink* sink);

  // Replies go to the attached sink; a new stream replaces an older one
  // (which ends with ABORTED). `client_ack` is the last reply seq the
  // client received; the later ones are sent again. Returns the last client
  // seq accepted, or nullopt when the session is closed.
  std::optional<uint64_t> Attach(StreamSink* sink, uint64_t client_ack);
  void Detach(StreamSink* sink);
  bool attached() const;
  // Ends the session: the attached stream ends with CANCELLED, queued work
  // is skipped, a backward waiting on the client gives up. Idempotent.
  void Close();
  // Close, ending the attached stream with `code` (a grpc::StatusCode) and
  // `message` instead (an administrator's kill: ABORTED).
  void Close(int code, const std::string& message);
  bool closed() const { return closing_.load(); }

  void Drain() { executor_.Drain(); }
  size_t pending() const { return executor_.pending(); }
  std::chrono::steady_clock::time_point last_detached() const;
  // The ops it ran, in total and lately (Admin.ListSessions).
  const OpRate& op_rate() const { return op_rate_; }
  // Where its client connects from: gRPC's peer string of the latest stream
  // (or of OpenSession, until a stream attaches).
  std::string peer() const;
  void set_peer(std::string peer);
  size_t live_tensors() const { return live_tensors_.load(); }
  int64_t bytes_in_use() const { return tracker_->bytes.load(); }
  // Its live storages' bytes per device (and its tenant's quota, if any).
  const MemoryTracker& memory() const { return *tracker_; }
  // Set once at open: the client's shared-memory region, or null.
  void set_shared_region(std::shared_ptr<SharedRegion> region) { region_ = std::move(region); }
  // Set once at open: the device sharing its kernels take turns in.
  void set_fair_share(FairShare* fair_share, std::shared_ptr<const FairShare::Tenant> tenant) {
    exec_.fair_share = fair_share;
    exec_.tenant = std::move(tenant);
  }
  // Set once at open: the tenant's memory quota and request rate.
  void set_usage(std::shared_ptr<TenantUsage> usage) {
    tracker_->quota = usage->memory();
    usage_ = std::move(usage);
  }

 private:
  struct Slot {
    Tensor tensor;
    std::shared_ptr<const v1::OpError> poison;  // set when its producer failed
  };
  struct Upload {
    Tensor tensor;
    uint64_t received = 0;
  };

  void Run(const v1::ClientMessage& msg);
  void RunBatch(const v1::Batch& batch);
  // Fails a whole batch: poisons its outputs and reports `e` once.
  void RejectBatch(const v1::Batch& batch, const OpError& e);
  void RunOp(const v1::OpRecord& rec, uint64_t seq, uint32_t index);
  // Reports a failed op and poisons its outputs.
  void FailOp(const OpError& e, const v1::OpRecord& rec, uint64_t seq, uint32_t index);
  void RunFetch(const v1::Fetch& fetch);
  void RunUpload(const v1::UploadChunk& chunk);
  // Numbers the reply, keeps it until acknowledged and sends it to the
  // attached stream (if any). Blocks while kMaxUnackedReplyBytes are
  // unacknowledged: the client's acks are the flow control of large fetches.
  void Send(v1::ServerMessage msg);
  // Forgets replies up to `ack`. Caller holds stream_mu_.
  void TrimReplies(uint64_t ack);
  void Bind(uint64_t id, Slot slot);
  void PoisonOutput(uint64_t id, const std::shared_ptr<const v1::OpError>& err);
  void AfterItem();
  // Runs Python autograd code on the client (ExecContext::callback): sends a
  // Callback and runs the client's messages until its reply arrives.
  std::vector<Tensor> RunCallback(autograd::CallbackKind kind, uint64_t handle,
                                  std::vector<Tensor> grads);
  // Tells the client which function/hook handles the daemon dropped.
  void SendReleasedHandles();

  const std::string id_;
  const std::string client_name_;
  const std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
  const Config& config_;
  const std::shared_ptr<const Tenant> tenant_;
  std::shared_ptr<TenantUsage> usage_;  // null: no quotas (tests)
  // The smaller of the daemon's limit and the tenant's quota, its name for
  // error messages, and its config key for the metrics' quota label.
  uint64_t max_tensor_bytes_;
  std::string max_tensor_bytes_name_;
  const char* max_tensor_bytes_key_ = "limits.max_tensor_bytes";
  uint64_t max_ops_per_batch_;
  std::string max_ops_per_batch_name_;
  const char* max_ops_per_batch_key_ = "limits.max_ops_per_batch";
  std::shared_ptr<MemoryTracker> tracker_ = std::make_shared<MemoryTracker>();
  Generator generator_;
  autograd::ExecContext exec_;  // what this session's ops run with
  std::shared_ptr<autograd::HandleSink> handle_sink_ = std::make_shared<autograd::HandleSink>();
  uint64_t next_callback_ = 1;
  uint64_t next_daemon_id_ = 1;  // ids the daemon binds (top bit set)
  std::unordered_map<uint64_t, v1::CallbackReply> callback_replies_;
  std::atomic<bool> closing_{false};
  std::unordered_map<uint64_t, Slot> tensors_;   // executor thread only
  std::unordered_map<uint64_t, Upload> uploads_; // executor thread only
  std::atomic<size_t> live_tensors_{0};
  OpRate op_rate_{created_};  // written by the executor thread only
  std::shared_ptr<SharedRegion> region_;
  const std::string* current_location_ = nullptr;  // the running record's; executor thread only
  std::vector<std::string> fetch_segments_;  // shm objects sent, unlinked at close

  struct SentReply {
    std::shared_ptr<const v1::ServerMessage> msg;
    size_t bytes;
  };
  mutable std::mutex stream_mu_;  // guards the members below
  std::condition_variable replies_cv_;  // unacknowledged bytes went down, or closing
  StreamSink* sink_ = nullptr;
  uint64_t attach_count_ = 0;     // which attachment sink_ is (ends a stream once)
  uint64_t accepted_seq_ = 0;     // the last client seq queued for the executor
  uint64_t acked_to_client_ = 0;  // the last accepted seq the client was told
  size_t bytes_since_ack_ = 0;    // client bytes accepted since then
  uint64_t next_reply_seq_ = 1;
  std::deque<SentReply> unacked_replies_;
  size_t unacked_reply_bytes_ = 0;
  std::atomic<bool> reading_paused_{false};
  std::atomic<bool> waiting_for_acks_{false};  // Send is blocked on the client's acks
  std::chrono::steady_clock::time_point last_detached_ = std::chrono::steady_clock::now();
  std::string peer_;

  SerialExecutor executor_;  // last: joined before the members above go
};

}  // namespace tensord

#endif  // TENSORD_SERVER_SESSION_H_
