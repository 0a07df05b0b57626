// A client session: its tensors (by client-assigned id), its random
// generator, and the serial executor that runs its stream in order.
//
// Threading: Enqueue/Attach/Detach are called from gRPC threads; everything
// that touches tensors runs on the session's executor thread.
#ifndef TENSORD_SERVER_SESSION_H_
#define TENSORD_SERVER_SESSION_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "kernels/core/error.h"
#include "kernels/kernel.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/serial_executor.h"
#include "server/config.h"
#include "server/stream_sink.h"

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
  Session(std::string id, std::string client_name, const Config& config);
  ~Session();

  const std::string& id() const { return id_; }
  const std::string& client_name() const { return client_name_; }
  std::chrono::steady_clock::time_point created() const { return created_; }

  // Queues a client message. Returns false when the caller should stop
  // reading until the sink's ResumeReading() (too much queued work).
  bool Enqueue(InboundMessage msg);
  // Queues the end of the client's stream: replies are flushed, then the
  // stream finishes.
  void EnqueueEndOfStream(StreamSink* sink);

  // Replies go to the attached sink; a new stream replaces an older one.
  void Attach(StreamSink* sink);
  void Detach(StreamSink* sink);
  bool attached() const;
  // An administrator ended the session: a backward waiting on the client
  // gives up and the attached stream ends with ABORTED saying why. The
  // caller has already dropped the session from the daemon's table.
  void Kill(const std::string& reason);

  void Drain() { executor_.Drain(); }
  size_t pending() const { return executor_.pending(); }
  std::chrono::steady_clock::time_point last_detached() const;
  size_t live_tensors() const { return live_tensors_.load(); }
  int64_t bytes_in_use() const { return tracker_->bytes.load(); }
  // Set once at open: the client's shared-memory region, or null.
  void set_shared_region(std::shared_ptr<SharedRegion> region) { region_ = std::move(region); }

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
  void RunOp(const v1::OpRecord& rec, uint64_t seq, uint32_t index);
  // Reports a failed op and poisons its outputs.
  void FailOp(const OpError& e, const v1::OpRecord& rec, uint64_t seq, uint32_t index);
  void RunFetch(const v1::Fetch& fetch);
  void RunUpload(const v1::UploadChunk& chunk);
  void Send(v1::ServerMessage msg);
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
  std::shared_ptr<SharedRegion> region_;
  std::vector<std::string> fetch_segments_;  // shm objects sent, unlinked at close

  mutable std::mutex sink_mu_;
  StreamSink* sink_ = nullptr;
  std::atomic<bool> reading_paused_{false};
  std::chrono::steady_clock::time_point last_detached_ = std::chrono::steady_clock::now();

  SerialExecutor executor_;  // last: joined before the members above go
};

}  // namespace tensord

#endif  // TENSORD_SERVER_SESSION_H_
