#include "server/session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "kernels/core/error.h"
#include "kernels/core/shared_memory.h"
#include "kernels/device_backend.h"
#include "kernels/meta/infer.h"
#include "server/op_decode.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/autograd/variable.h"
#include "server/log.h"
#include "server/metrics.h"

namespace tensord {
namespace {

// Work queued beyond this pauses reading from the client's stream.
constexpr size_t kMaxQueuedMessages = 64;
constexpr size_t kResumeBelow = 16;
// Replies the client has not acknowledged: past this, Send waits.
constexpr size_t kMaxUnackedReplyBytes = 32u << 20;
// The daemon acks client messages at least this often when it has no reply
// to carry the ack.
constexpr uint64_t kAckEveryMessages = 16;
constexpr size_t kAckEveryBytes = 4u << 20;
// Fetches smaller than this go inline even where shared memory works.
constexpr size_t kSharedMemoryMinBytes = 1u << 20;

// Seconds since `start`, for the metrics' latency histograms.
double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Times one op from its checks to the end of its kernel, and records it on
// the way out, whether it succeeded or threw.
class OpTimer {
 public:
  OpTimer(int op_index, Device device)
      : op_index_(op_index), device_(device), enabled_(metrics::Enabled()) {
    if (enabled_) start_ = std::chrono::steady_clock::now();
  }
  ~OpTimer() {
    if (enabled_) metrics::OpExecuted(op_index_, device_, SecondsSince(start_));
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;
  void set_device(Device device) { device_ = device; }

 private:
  const int op_index_;
  Device device_;
  const bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

// Every error the daemon reports to its client is made here, so this is
// where tensord_errors_total counts them.
std::shared_ptr<v1::OpError> MakeError(const OpError& e, const v1::OpRecord* rec, uint64_t seq,
                                       uint32_t index) {
  metrics::ErrorReturned(ErrorKindGrpcCode(e.kind()));
  auto err = std::make_shared<v1::OpError>();
  err->set_batch_seq(seq);
  err->set_op_index(index);
  if (rec) {
    err->set_op(rec->op());
    err->set_location(rec->location());
  }
  err->set_message(e.what());
  err->set_code(ErrorKindGrpcCode(e.kind()));
  err->set_exception(ErrorKindPythonName(e.kind()));
  return err;
}

}  // namespace

SharedRegion::~SharedRegion() { UnmapSharedMemory(const_cast<char*>(data), size); }

Session::Session(std::string id, std::string client_name, const Config& config,
                 std::shared_ptr<const Tenant> tenant)
    : id_(std::move(id)),
      client_name_(std::move(client_name)),
      config_(config),
      tenant_(std::move(tenant)),
      max_tensor_bytes_(config.limits.max_tensor_bytes),
      max_tensor_bytes_name_("limits.max_tensor_bytes"),
      max_ops_per_batch_(config.limits.max_ops_per_batch),
      max_ops_per_batch_name_("limits.max_ops_per_batch"),
      executor_("sess-" + id_.substr(0, 8)) {
  const TenantQuotas& q = tenant_->quotas;
  if (q.tensor_bytes && *q.tensor_bytes < max_tensor_bytes_) {
    max_tensor_bytes_ = *q.tensor_bytes;
    max_tensor_bytes_name_ = "tenant '" + tenant_->name + "' quotas.tensor_bytes";
    max_tensor_bytes_key_ = "quotas.tensor_bytes";
  }
  if (q.ops_per_batch && *q.ops_per_batch < max_ops_per_batch_) {
    max_ops_per_batch_ = *q.ops_per_batch;
    max_ops_per_batch_name_ = "tenant '" + tenant_->name + "' quotas.ops_per_batch";
    max_ops_per_batch_key_ = "quotas.ops_per_batch";
  }
  exec_.generator = &generator_;
  exec_.tracker = tracker_;
  // Kernels check every buffer, scratch included, against the daemon's
  // limit; the tenant's tensor_bytes quota is about the tensors it makes
  // (checked on each op's results and on uploads), not a kernel's scratch.
  exec_.max_tensor_bytes = config_.limits.max_tensor_bytes;
  exec_.handles = handle_sink_;
  exec_.callback = [this](autograd::CallbackKind kind, uint64_t handle, std::vector<Tensor> grads) {
    return RunCallback(kind, handle, std::move(grads));
  };
  exec_.slow_kernel_ms = config_.slow_op_ms;
  exec_.on_slow_kernel = [this](const OpSchema& op, const Device& device, double ms) {
    // Names and times only: never argument values or tensor contents.
    ScopedLogFields fields({{"op", op.name},
                            {"device", device.str()},
                            {"ms", fmt::format("{:.1f}", ms), /*number=*/true},
                            {"location", current_location_ ? *current_location_ : ""}});
    spdlog::warn("slow op (kernel over slow_op_ms {})", config_.slow_op_ms);
  };
}

Session::~Session() {
  Close();
  executor_.Drain();
  // Objects of fetches the client never read (it unlinks the ones it read).
  for (const auto& name : fetch_segments_) UnlinkSharedMemory(name);
  // Freed here rather than with the members, so the log can say whether
  // anything outlived them (it should not: the tracker then reads 0).
  const size_t tensors = tensors_.size() + uploads_.size();
  tensors_.clear();
  uploads_.clear();
  spdlog::info("session {} freed: {} tensors, {} bytes still tracked", id_.substr(0, 8), tensors,
               tracker_->bytes.load());
}

bool Session::Enqueue(StreamSink* from, InboundMessage msg) {
  const v1::ClientMessage& m = *msg.msg;
  {
    std::lock_guard<std::mutex> lock(stream_mu_);
    if (sink_ != from || closing_) return false;  // replaced or closed: being finished
    if (m.ack() != 0) TrimReplies(m.ack());
    if (m.kind_case() == v1::ClientMessage::KIND_NOT_SET) return true;  // an ack alone
    const uint64_t seq = m.has_batch() ? m.batch().seq() : m.upload().seq();
    if (seq <= accepted_seq_ && seq != 0) return true;  // a resend of an accepted message
    if (seq != accepted_seq_ + 1) {
      const char* what = m.has_batch() ? "batch" : "upload chunk";
      from->Refuse(seq == 0 ? 3 /*INVALID_ARGUMENT*/ : 9 /*FAILED_PRECONDITION*/,
                   seq == 0 ? "[stream] " + std::string(what) +
                                  " without a seq: every batch and upload chunk takes the "
                                  "session's next number, from 1"
                            : "[stream] " + std::string(what) + " seq " + std::to_string(seq) +
                                  " after " + std::to_string(accepted_seq_) + ": seq " +
                                  std::to_string(accepted_seq_ + 1) +
                                  (seq > accepted_seq_ + 2
                                       ? " to " + std::to_string(seq - 1) + " are missing"
                                       : " is missing"));
      return false;
    }
    accepted_seq_ = seq;
    bytes_since_ack_ += msg.arena->SpaceUsed();
    // Acks ride on replies; a client streaming work with no replies gets a
    // bare ack now and then, so its replay buffer stays small.
    if (seq - acked_to_client_ >= kAckEveryMessages || bytes_since_ack_ >= kAckEveryBytes) {
      auto ack = std::make_shared<v1::ServerMessage>();
      ack->set_ack(seq);
      acked_to_client_ = seq;
      bytes_since_ack_ = 0;
      sink_->Send(std::move(ack));
    }
    // Submitted under the lock: messages of two streams cannot overtake
    // each other between the seq check and the queue.
    auto shared = std::make_shared<InboundMessage>(std::move(msg));
    executor_.Submit([this, shared] {
      Run(*shared->msg);
      AfterItem();
    });
  }
  // While Send waits for the client's acks, they must be read.
  if (executor_.pending() <= kMaxQueuedMessages || waiting_for_acks_) return true;
  reading_paused_ = true;
  // The executor may have drained everything, or Send started waiting for
  // acks, before the flag was set; then nobody would resume reading, so
  // check again.
  if ((executor_.pending() <= kResumeBelow || waiting_for_acks_) &&
      reading_paused_.exchange(false)) {
    return true;
  }
  metrics::StreamBackpressure();
  return false;
}

void Session::AfterItem() {
  if (executor_.pending() > kResumeBelow + 1) return;
  if (!reading_paused_.exchange(false)) return;
  std::lock_guard<std::mutex> lock(stream_mu_);
  if (sink_) sink_->ResumeReading();
}

void Session::EnqueueEndOfStream(StreamSink* sink) {
  uint64_t attachment;
  {
    std::lock_guard<std::mutex> lock(stream_mu_);
    if (sink_ != sink) return;
    attachment = attach_count_;
  }
  executor_.Submit([this, attachment] {
    std::lock_guard<std::mutex> lock(stream_mu_);
    if (sink_ && attach_count_ == attachment) sink_->FinishWhenFlushed();
  });
}

std::optional<uint64_t> Session::Attach(StreamSink* sink, uint64_t client_ack) {
  std::lock_guard<std::mutex> lock(stream_mu_);
  if (closing_) return std::nullopt;
  if (sink_) sink_->Refuse(10 /*ABORTED*/, "[stream] replaced by a newer stream of this session");
  sink_ = sink;
  ++attach_count_;
  reading_paused_ = false;  // a new stream starts reading
  TrimReplies(client_ack);
  for (const SentReply& r : unacked_replies_) sink->Send(r.msg);
  acked_to_client_ = accepted_seq_;  // the stream's metadata tells it
  bytes_since_ack_ = 0;
  spdlog::info("session {}: stream attached (attachment {}, client seq {} accepted, {} replies "
               "sent again)", id_.substr(0, 8), attach_count_, accepted_seq_,
               unacked_replies_.size());
  return accepted_seq_;
}

void Session::Detach(StreamSink* sink) {
  std::lock_guard<std::mutex> lock(stream_mu_);
  if (sink_ == sink) {
    sink_ = nullptr;
    last_detached_ = std::chrono::steady_clock::now();
    spdlog::info("session {}: stream detached (attachment {})", id_.substr(0, 8), attach_count_);
  }
}

bool Session::attached() const {
  std::lock_guard<std::mutex> lock(stream_mu_);
  return sink_ != nullptr;
}

void Session::Close() { Close(1 /*CANCELLED*/, "[session] session " + id_ + " was closed"); }

void Session::Close(int code, const std::string& message) {
  std::lock_guard<std::mutex> lock(stream_mu_);
  if (closing_.exchange(true)) return;
  if (sink_) sink_->Refuse(code, message);
  replies_cv_.notify_all();
}

std::chrono::steady_clock::time_point Session::last_detached() const {
  std::lock_guard<std::mutex> lock(stream_mu_);
  return last_detached_;
}

std::string Session::peer() const {
  std::lock_guard<std::mutex> lock(stream_mu_);
  return peer_;
}

void Session::set_peer(std::string peer) {
  std::lock_guard<std::mutex> lock(stream_mu_);
  peer_ = std::move(peer);
}

void Session::TrimReplies(uint64_t ack) {
  bool trimmed = false;
  while (!unacked_replies_.empty() && unacked_replies_.front().msg->seq() <= ack) {
    unacked_reply_bytes_ -= unacked_replies_.front().bytes;
    unacked_replies_.pop_front();
    trimmed = true;
  }
  if (trimmed) replies_cv_.notify_all();
}

void Session::Send(v1::ServerMessage msg) {
  // Holding stream_mu_ keeps the sink alive: its OnDone detaches under the
  // same lock.
  std::unique_lock<std::mutex> lock(stream_mu_);
  if (unacked_reply_bytes_ >= kMaxUnackedReplyBytes && !closing_) {
    // The acks come with client messages: reading must not stay paused.
    waiting_for_acks_ = true;
    if (reading_paused_.exchange(false) && sink_) sink_->ResumeReading();
    replies_cv_.wait(lock, [this] { return unacked_reply_bytes_ < kMaxUnackedReplyBytes || closing_; });
    waiting_for_acks_ = false;
  }
  if (closing_) return;
  msg.set_seq(next_reply_seq_++);
  msg.set_ack(accepted_seq_);
  acked_to_client_ = accepted_seq_;
  bytes_since_ack_ = 0;
  const size_t bytes = msg.ByteSizeLong();
  auto shared = std::make_shared<const v1::ServerMessage>(std::move(msg));
  unacked_replies_.push_back(SentReply{shared, bytes});
  unacked_reply_bytes_ += bytes;
  if (sink_) sink_->Send(std::move(shared));
}

void Session::Run(const v1::ClientMessage& msg) {
  if (closing_) return;  // nobody will read the results
  autograd::ScopedExecContext scope(&exec_);
  ScopedLogFields log_fields(SessionLogFields(id_, tenant_->name));
  if (msg.has_batch()) {
    const auto start = std::chrono::steady_clock::now();
    RunBatch(msg.batch());
    metrics::BatchExecuted(SecondsSince(start));
  } else if (msg.has_upload()) {
    RunUpload(msg.upload());
  }
  SendReleasedHandles();
}

void Session::SendReleasedHandles() {
  std::vector<uint64_t> released;
  {
    std::lock_guard<std::mutex> lock(handle_sink_->mu);
    released.swap(handle_sink_->released);
  }
  if (released.empty()) return;
  v1::ServerMessage m;
  v1::Callback* c = m.mutable_callback();
  c->set_kind(v1::Callback::RELEASE);
  for (uint64_t h : released) c->add_handles(h);
  Send(std::move(m));
}

std::vector<Tensor> Session::RunCallback(autograd::CallbackKind kind, uint64_t handle,
                                         std::vector<Tensor> grads) {
  constexpr uint64_t kDaemonIds = uint64_t{1} << 63;
  const uint64_t cid = next_callback_++;
  v1::ServerMessage m;
  v1::Callback* c = m.mutable_callback();
  c->set_callback_id(cid);
  c->set_kind(kind == autograd::CallbackKind::kFunctionBackward ? v1::Callback::FUNCTION_BACKWARD
                                                                 : v1::Callback::TENSOR_HOOK);
  c->add_handles(handle);
  for (Tensor& g : grads) {
    if (!g.defined()) {
      c->add_grads(0);
      c->add_grad_metas();
      continue;
    }
    const uint64_t id = kDaemonIds | next_daemon_id_++;
    v1::GradMeta* gm = c->add_grad_metas();
    gm->set_dtype(std::string(DTypeName(g.dtype())));
    for (int64_t d : g.sizes()) gm->add_sizes(d);
    for (int64_t d : g.strides()) gm->add_strides(d);
    gm->set_storage_offset(g.meta.offset);
    gm->set_device(g.meta.device.str());
    Bind(id, Slot{std::move(g), nullptr});
    c->add_grads(id);
  }
  SendReleasedHandles();
  Send(std::move(m));
  // The client answers after running its Python code, whose ops arrive
  // first: run them here, in order, until the reply comes.
  while (!callback_replies_.contains(cid)) {
    if (executor_.RunOneInline(std::chrono::milliseconds(100))) continue;
    TD_CHECK(!closing_, kRuntime, "[backward] the session closed while waiting for the client's "
             "Python autograd code");
    const auto detached = !attached() ? std::chrono::steady_clock::now() - last_detached() : std::chrono::seconds(0);
    TD_CHECK(detached < std::chrono::seconds(config_.session_grace_seconds), kRuntime,
             "[backward] the client went away while the daemon waited for its Python autograd code");
  }
  v1::CallbackReply reply = std::move(callback_replies_[cid]);
  callback_replies_.erase(cid);
  if (!reply.error().empty()) {
    const std::string& ex = reply.exception();
    const ErrorKind k = ex == "TypeError" ? ErrorKind::kType
                        : ex == "ValueError" ? ErrorKind::kValue
                        : ex == "IndexError" ? ErrorKind::kIndex
                        : ex == "NotImplementedError" ? ErrorKind::kNotImplemented
                                                      : ErrorKind::kRuntime;
    Fail(k, reply.error());
  }
  std::vector<Tensor> out;
  for (uint64_t id : reply.results()) {
    if (id == 0) {
      out.emplace_back();
      continue;
    }
    auto it = tensors_.find(id);
    TD_CHECK(it != tensors_.end(), kNotFound, "[backward] the client's autograd code returned "
             "unknown tensor id ", id);
    if (it->second.poison) Fail(ErrorKind::kRuntime, it->second.poison->message());
    out.push_back(it->second.tensor);
  }
  return out;
}

void Session::RejectBatch(const v1::Batch& batch, const OpError& e) {
  auto err = MakeError(e, nullptr, batch.seq(), 0);
  // Poison every output so later uses fail rather than read garbage.
  for (const auto& rec : batch.ops()) {
    for (uint64_t id : rec.outputs()) PoisonOutput(id, err);
  }
  v1::ServerMessage m;
  *m.mutable_error() = *err;
  Send(std::move(m));
}

void Session::RunBatch(const v1::Batch& batch) {
  for (uint64_t id : batch.early_releases()) {
    if (tensors_.erase(id)) --live_tensors_;
  }
  // A batch of no ops (only fetches, releases or a sync) is not a request
  // against the rate quota: refusing it would only stop the client reading
  // its own results.
  std::string over_rate = usage_ && batch.ops_size() > 0 ? usage_->AdmitRequest() : "";
  if (static_cast<uint64_t>(batch.ops_size()) > max_ops_per_batch_) {
    metrics::QuotaRejected(max_ops_per_batch_key_);
    RejectBatch(batch, OpError(ErrorKind::kResource,
                               "[stream] batch of " + std::to_string(batch.ops_size()) +
                                   " ops exceeds " + max_ops_per_batch_name_ + " (" +
                                   std::to_string(max_ops_per_batch_) + ")"));
  } else if (!over_rate.empty()) {
    RejectBatch(batch, OpError(ErrorKind::kResource, "[stream] " + over_rate));
  } else {
    for (int i = 0; i < batch.ops_size(); ++i) RunOp(batch.ops(i), batch.seq(), i);
  }
  if (batch.has_callback_reply()) {
    // Only replies to callbacks this session sent are kept.
    const uint64_t cid = batch.callback_reply().callback_id();
    if (cid > 0 && cid < next_callback_) callback_replies_[cid] = batch.callback_reply();
  }
  for (const auto& f : batch.fetches()) RunFetch(f);
  for (uint64_t id : batch.releases()) {
    if (tensors_.erase(id)) --live_tensors_;
  }
  if (batch.sync_request_id() != 0) {
    try {
      SynchronizeDevices();
    } catch (const OpError& e) {
      v1::ServerMessage err;
      *err.mutable_error() = *MakeError(e, nullptr, batch.seq(), 0);
      Send(std::move(err));
    }
    v1::ServerMessage m;
    m.mutable_synced()->set_request_id(batch.sync_request_id());
    Send(std::move(m));
  }
}

void Session::PoisonOutput(uint64_t id, const std::shared_ptr<const v1::OpError>& err) {
  // Failed records may name millions of outputs; past max_live_tensors they
  // stay unbound (a later use reports an unknown id, still an error) so a
  // client cannot grow the table without limit by failing on purpose.
  if (id == 0 || id >> 63 != 0 || tensors_.contains(id)) return;
  if (live_tensors_ >= config_.limits.max_live_tensors) return;
  Bind(id, Slot{Tensor{}, err});
}

void Session::Bind(uint64_t id, Slot slot) {
  auto [it, inserted] = tensors_.insert_or_assign(id, std::move(slot));
  if (inserted) ++live_tensors_;
}

void Session::RunOp(const v1::OpRecord& rec, uint64_t seq, uint32_t index) {
  // Restored on the way out: a callback runs records nested inside this one.
  struct LocationScope {
    const std::string*& slot;
    const std::string* saved;
    ~LocationScope() { slot = saved; }
  } location_scope{current_location_, std::exchange(current_location_, &rec.location())};
  std::vector<const Tensor*> inputs;
  std::shared_ptr<const v1::OpError> inherited;
  try {
    const OpSchema* op = &LookupOp(rec);
    OpArgs args;
    DecodeArgs(*op, rec, args, [&](uint64_t id) -> int64_t {
      auto it = tensors_.find(id);
      TD_CHECK(it != tensors_.end(), kNotFound, "[", op->name, "] unknown tensor id ", id,
               " (never created in this session, or already released)");
      if (it->second.poison && !inherited) inherited = it->second.poison;
      TD_CHECK(it->second.poison || it->second.tensor.defined(), kType, "[", op->name,
               "] tensor id ", id, " is None");
      inputs.push_back(&it->second.tensor);
      args.metas.push_back(&it->second.tensor.meta);
      return static_cast<int64_t>(args.metas.size() - 1);
    });
    if (inherited) {
      // An input is poisoned: so are the outputs, without another report.
      for (uint64_t id : rec.outputs()) PoisonOutput(id, inherited);
      return;
    }
    // Counted from here: the op is known and its inputs are live.
    op_rate_.Record();
    OpTimer timer(op->index, inputs.empty() ? Device{} : inputs.front()->meta.device);
    CheckedResults checked =
        CheckResults(*op, args, rec, [this](uint64_t id) { return tensors_.contains(id); });
    std::vector<TensorMeta>& metas = checked.metas;
    if (!metas.empty()) timer.set_device(metas.front().device);
    if (live_tensors_ + checked.output_ids > config_.limits.max_live_tensors) {
      metrics::QuotaRejected("limits.max_live_tensors");
      Fail(ErrorKind::kResource, "[", op->name, "] session has ", live_tensors_.load(),
           " live tensors; limits.max_live_tensors is ", config_.limits.max_live_tensors);
    }
    for (const TensorMeta& m : metas) {
      if (m.nbytes() > max_tensor_bytes_) {
        metrics::QuotaRejected(max_tensor_bytes_key_);
        Fail(ErrorKind::kResource, "[", op->name, "] result of ", ShapeStr(m.sizes), " ",
             DTypeName(m.dtype), " needs ", m.nbytes(), " bytes; ", max_tensor_bytes_name_,
             " is ", max_tensor_bytes_);
      }
    }
    // A guard, not an assignment: a backward waiting on a callback runs this
    // record nested, and gets its own mode back afterwards.
    autograd::GradModeGuard grad_mode(!rec.no_grad());
    std::vector<Tensor> results = autograd::Execute(*op, args, inputs, std::move(metas));
    if (checked.aliases_input) results.clear();
    for (int i = 0; i < rec.outputs_size(); ++i) Bind(rec.outputs(i), Slot{std::move(results[i]), nullptr});
  } catch (const OpError& e) {
    FailOp(e, rec, seq, index);
  } catch (const std::bad_alloc&) {
    FailOp(OpError(ErrorKind::kResource, "[" + rec.op() + "] out of memory"), rec, seq, index);
  } catch (const std::exception& e) {
    // Not a check of ours (a library threw): a bug to report, but no reason
    // to take the daemon and every other session down with it.
    spdlog::error("session {}: op {} threw {}", id_.substr(0, 8), rec.op(), e.what());
    FailOp(OpError(ErrorKind::kInternal, "[" + rec.op() + "] internal error: " + e.what()), rec,
           seq, index);
  }
}

void Session::FailOp(const OpError& e, const v1::OpRecord& rec, uint64_t seq, uint32_t index) {
  auto err = MakeError(e, &rec, seq, index);
  for (uint64_t id : rec.outputs()) PoisonOutput(id, err);
  v1::ServerMessage m;
  *m.mutable_error() = *err;
  Send(std::move(m));
}

void Session::RunFetch(const v1::Fetch& fetch) {
  const auto start = std::chrono::steady_clock::now();
  v1::ServerMessage m;
  v1::FetchReply* r = m.mutable_fetch();
  r->set_request_id(fetch.request_id());
  r->set_last(true);
  auto it = tensors_.find(fetch.tensor());
  if (it == tensors_.end()) {
    OpError e(ErrorKind::kNotFound, "[fetch] unknown tensor id " + std::to_string(fetch.tensor()) +
                                        " (never created in this session, or already released)");
    *r->mutable_error() = *MakeError(e, nullptr, 0, 0);
    Send(std::move(m));
    return;
  }
  if (it->second.poison) {
    *r->mutable_error() = *it->second.poison;
    Send(std::move(m));
    return;
  }
  if (!it->second.tensor.defined()) {
    r->set_none(true);
    Send(std::move(m));
    return;
  }
  const Tensor& t = it->second.tensor;
  r->set_dtype(std::string(DTypeName(t.dtype())));
  for (int64_t s : t.sizes()) r->add_sizes(s);
  for (int64_t s : t.strides()) r->add_strides(s);
  r->set_storage_offset(t.meta.offset);
  if (autograd::RequiresGrad(t)) r->set_requires_grad(true);
  const size_t total = t.meta.nbytes();
  r->set_total_bytes(total);
  if (fetch.metadata_only() || total == 0) {
    Send(std::move(m));
    metrics::Fetched(0, metrics::Transport::kStream, SecondsSince(start));
    return;
  }
  Tensor src;
  try {
    // A broadcast view (expand) can name far more elements than its storage
    // holds; the contiguous copy a fetch makes is a new tensor like any other.
    TD_CHECK(total <= max_tensor_bytes_, kResource, "[fetch] tensor ", fetch.tensor(), " of ",
             ShapeStr(t.sizes()), " ", DTypeName(t.dtype()), " needs ", total,
             " contiguous bytes; ", max_tensor_bytes_name_, " is ", max_tensor_bytes_);
    src = ToHost(t, tracker_);
  } catch (const OpError& e) {
    *r->mutable_error() = *MakeError(e, nullptr, 0, 0);
    Send(std::move(m));
    return;
  } catch (const std::bad_alloc&) {
    OpError e(ErrorKind::kResource, "[fetch] out of memory copying tensor " +
                                        std::to_string(fetch.tensor()) + " for the client");
    *r->mutable_error() = *MakeError(e, nullptr, 0, 0);
    Send(std::move(m));
    return;
  }
  if (fetch.shared_memory() && region_ && total >= kSharedMemoryMinBytes) {
    const std::string name = NewSharedMemoryName();
    const std::string err = WriteSharedMemory(name, src.raw(), total);
    if (err.empty()) {
      if (fetch_segments_.size() > 64) fetch_segments_.erase(fetch_segments_.begin());
      fetch_segments_.push_back(name);
      r->set_shm_name(name);
      Send(std::move(m));
      metrics::Fetched(total, metrics::Transport::kSharedMemory, SecondsSince(start));
      return;
    }
    spdlog::warn("fetch through shared memory failed ({}); sending chunks", err);
  }
  const size_t chunk = config_.limits.max_chunk_bytes;
  for (size_t off = 0; off < total; off += chunk) {
    const size_t n = std::min(chunk, total - off);
    v1::ServerMessage part;
    v1::FetchReply* p = part.mutable_fetch();
    if (off == 0) p->CopyFrom(*r);
    p->set_request_id(fetch.request_id());
    p->set_offset(off);
    p->set_total_bytes(total);
    p->set_data(src.raw() + off, n);
    p->set_last(off + n == total);
    Send(std::move(part));
  }
  metrics::Fetched(total, metrics::Transport::kStream, SecondsSince(start));
}

void Session::RunUpload(const v1::UploadChunk& chunk) {
  try {
    auto it = uploads_.find(chunk.tensor());
    if (it == uploads_.end()) {
      TensorMeta meta =
          CheckUploadHeader(chunk, [this](uint64_t id) { return tensors_.contains(id); });
      if (meta.nbytes() > max_tensor_bytes_) {
        metrics::QuotaRejected(max_tensor_bytes_key_);
        Fail(ErrorKind::kResource, "[upload] tensor of ", meta.nbytes(), " bytes exceeds ",
             max_tensor_bytes_name_, " (", max_tensor_bytes_, ")");
      }
      it = uploads_.emplace(chunk.tensor(), Upload{Tensor::Empty(meta, tracker_), 0}).first;
    }
    Upload& up = it->second;
    const size_t total = up.tensor.meta.nbytes();
    std::string_view bytes = chunk.data();
    if (chunk.region_bytes() > 0) {
      TD_CHECK(region_ != nullptr, kValue, "[upload] no shared-memory region in this session");
      TD_CHECK(bytes.empty() && chunk.region_offset() <= region_->size &&
                   chunk.region_bytes() <= region_->size - chunk.region_offset(),
               kValue, "[upload] region bytes [", chunk.region_offset(), ", +",
               chunk.region_bytes(), ") are outside the ", region_->size, "-byte region");
      bytes = std::string_view(region_->data + chunk.region_offset(), chunk.region_bytes());
    }
    TD_CHECK(chunk.offset() == up.received && chunk.offset() + bytes.size() <= total,
             kValue, "[upload] chunk at byte ", chunk.offset(), " of ", bytes.size(),
             " bytes does not continue tensor ", chunk.tensor(), " (", up.received, " of ", total,
             " bytes received)");
    CopyBytes(up.tensor.raw() + chunk.offset(), bytes.data(), bytes.size());
    up.received += bytes.size();
    metrics::Uploaded(bytes.size(), chunk.region_bytes() > 0 ? metrics::Transport::kSharedMemory
                                                             : metrics::Transport::kStream);
    if (chunk.region_bytes() > 0) {
      v1::ServerMessage released;
      released.mutable_released()->set_region_offset(chunk.region_offset());
      Send(std::move(released));
    }
    if (chunk.last()) {
      TD_CHECK(up.received == total, kValue, "[upload] tensor ", chunk.tensor(), " ended after ",
               up.received, " of ", total, " bytes");
      Bind(chunk.tensor(), Slot{std::move(up.tensor), nullptr});
      uploads_.erase(it);
    }
  } catch (const OpError& e) {
    if (chunk.region_bytes() > 0) {  // the client waits for this part of the region
      v1::ServerMessage released;
      released.mutable_released()->set_region_offset(chunk.region_offset());
      Send(std::move(released));
    }
    v1::OpRecord rec;
    rec.set_op("upload");
    auto err = MakeError(e, &rec, 0, 0);
    uploads_.erase(chunk.tensor());
    if (chunk.tensor() != 0 && !tensors_.contains(chunk.tensor())) {
      Bind(chunk.tensor(), Slot{Tensor{}, err});
    }
    v1::ServerMessage m;
    *m.mutable_error() = *err;
    Send(std::move(m));
  }
}

}  // namespace tensord
