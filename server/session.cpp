#include "server/session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "kernels/core/error.h"
#include "kernels/core/shared_memory.h"
#include "kernels/device_backend.h"
#include "kernels/meta/infer.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/autograd/variable.h"
#include "server/op_decode.h"

namespace tensord {
namespace {

// Work queued beyond this pauses reading from the client's stream.
constexpr size_t kMaxQueuedMessages = 64;
constexpr size_t kResumeBelow = 16;
// Fetches smaller than this go inline even where shared memory works.
constexpr size_t kSharedMemoryMinBytes = 1u << 20;

std::shared_ptr<v1::OpError> MakeError(const OpError& e, const v1::OpRecord* rec, uint64_t seq,
                                       uint32_t index) {
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

Session::Session(std::string id, std::string client_name, const Config& config)
    : id_(std::move(id)),
      client_name_(std::move(client_name)),
      config_(config),
      executor_("sess-" + id_.substr(0, 8)) {
  exec_.generator = &generator_;
  exec_.tracker = tracker_;
  exec_.max_tensor_bytes = config_.limits.max_tensor_bytes;
  exec_.handles = handle_sink_;
  exec_.callback = [this](autograd::CallbackKind kind, uint64_t handle, std::vector<Tensor> grads) {
    return RunCallback(kind, handle, std::move(grads));
  };
}

Session::~Session() {
  closing_ = true;  // a backward waiting on this client gives up
  executor_.Drain();
  // Objects of fetches the client never read (it unlinks the ones it read).
  for (const auto& name : fetch_segments_) UnlinkSharedMemory(name);
}

bool Session::Enqueue(InboundMessage msg) {
  auto shared = std::make_shared<InboundMessage>(std::move(msg));
  executor_.Submit([this, shared] {
    Run(*shared->msg);
    AfterItem();
  });
  if (executor_.pending() <= kMaxQueuedMessages) return true;
  reading_paused_ = true;
  // The executor may have drained everything before the flag was set; then
  // no AfterItem would resume reading, so check again.
  if (executor_.pending() <= kResumeBelow && reading_paused_.exchange(false)) return true;
  return false;
}

void Session::AfterItem() {
  if (executor_.pending() > kResumeBelow + 1) return;
  if (!reading_paused_.exchange(false)) return;
  std::lock_guard<std::mutex> lock(sink_mu_);
  if (sink_) sink_->ResumeReading();
}

void Session::EnqueueEndOfStream(StreamSink* sink) {
  executor_.Submit([this, sink] {
    std::lock_guard<std::mutex> lock(sink_mu_);
    if (sink_ == sink) sink->FinishWhenFlushed();
  });
}

void Session::Attach(StreamSink* sink) {
  std::lock_guard<std::mutex> lock(sink_mu_);
  sink_ = sink;
  reading_paused_ = false;  // a new stream starts reading
}

void Session::Detach(StreamSink* sink) {
  std::lock_guard<std::mutex> lock(sink_mu_);
  if (sink_ == sink) {
    sink_ = nullptr;
    last_detached_ = std::chrono::steady_clock::now();
  }
}

void Session::Kill(const std::string& reason) {
  closing_ = true;
  std::lock_guard<std::mutex> lock(sink_mu_);
  if (sink_) sink_->Abort(reason);
}

bool Session::attached() const {
  std::lock_guard<std::mutex> lock(sink_mu_);
  return sink_ != nullptr;
}

std::chrono::steady_clock::time_point Session::last_detached() const {
  std::lock_guard<std::mutex> lock(sink_mu_);
  return last_detached_;
}

void Session::Send(v1::ServerMessage msg) {
  // Holding sink_mu_ keeps the sink alive: its OnDone detaches under the same
  // lock. The sink's Send returns promptly once its stream is cancelled.
  std::lock_guard<std::mutex> lock(sink_mu_);
  if (sink_) sink_->Send(std::move(msg));
}

void Session::Run(const v1::ClientMessage& msg) {
  autograd::ScopedExecContext scope(&exec_);
  if (msg.has_batch()) {
    RunBatch(msg.batch());
  } else if (msg.has_upload()) {
    RunUpload(msg.upload());
  } else {
    // Parsed, but carrying nothing this daemon knows: a corrupt message
    // (fields of the wrong wire type parse as unknown fields) or a newer
    // client. Silence would leave the client waiting for results.
    OpError e(ErrorKind::kValue, "[stream] client message carries neither a batch nor an upload "
              "(corrupt, or from a newer protocol version)");
    v1::ServerMessage m;
    *m.mutable_error() = *MakeError(e, nullptr, 0, 0);
    Send(std::move(m));
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

void Session::RunBatch(const v1::Batch& batch) {
  if (static_cast<uint64_t>(batch.ops_size()) > config_.limits.max_ops_per_batch) {
    OpError e(ErrorKind::kResource,
              "[stream] batch of " + std::to_string(batch.ops_size()) +
                  " ops exceeds limits.max_ops_per_batch (" +
                  std::to_string(config_.limits.max_ops_per_batch) + ")");
    auto err = MakeError(e, nullptr, batch.seq(), 0);
    // Poison every output so later uses fail rather than read garbage.
    for (const auto& rec : batch.ops()) {
      for (uint64_t id : rec.outputs()) PoisonOutput(id, err);
    }
    v1::ServerMessage m;
    *m.mutable_error() = *err;
    Send(std::move(m));
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
    CheckedResults checked = CheckResults(*op, args, rec, config_.limits.max_tensor_bytes,
                                          [this](uint64_t id) { return tensors_.contains(id); });
    TD_CHECK(live_tensors_ + checked.output_ids <= config_.limits.max_live_tensors, kResource, "[",
             op->name, "] session has ", live_tensors_.load(),
             " live tensors; limits.max_live_tensors is ", config_.limits.max_live_tensors);
    // A guard, not an assignment: a backward waiting on a callback runs this
    // record nested, and gets its own mode back afterwards.
    autograd::GradModeGuard grad_mode(!rec.no_grad());
    std::vector<Tensor> results = autograd::Execute(*op, args, inputs, std::move(checked.metas));
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
    return;
  }
  Tensor src;
  try {
    // A broadcast view (expand) can name far more elements than its storage
    // holds; the contiguous copy a fetch makes is a new tensor like any other.
    TD_CHECK(total <= config_.limits.max_tensor_bytes, kResource, "[fetch] tensor ", fetch.tensor(),
             " of ", ShapeStr(t.sizes()), " ", DTypeName(t.dtype()), " needs ", total,
             " contiguous bytes; limits.max_tensor_bytes is ", config_.limits.max_tensor_bytes);
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
      return;
    }
    spdlog::warn("session {}: fetch through shared memory failed ({}); sending chunks", id_.substr(0, 8), err);
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
}

void Session::RunUpload(const v1::UploadChunk& chunk) {
  try {
    auto it = uploads_.find(chunk.tensor());
    if (it == uploads_.end()) {
      TensorMeta meta = CheckUploadHeader(chunk, config_.limits.max_tensor_bytes,
                                          [this](uint64_t id) { return tensors_.contains(id); });
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
