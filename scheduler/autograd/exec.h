// Running one op on the daemon: metadata already inferred, the kernel for
// the tensors' device, views built from their rule, and, when grad mode is
// on and an input requires grad, the backward node recorded. The session
// runs client records through here and derivative formulas call ops through
// here too, so double backward records like any forward op.
#ifndef TENSORD_SCHEDULER_AUTOGRAD_EXEC_H_
#define TENSORD_SCHEDULER_AUTOGRAD_EXEC_H_

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/kernel.h"
#include "scheduler/fair_share.h"

namespace tensord::autograd {

// Python autograd code the client runs for the daemon (custom Function
// backward, tensor hooks).
enum class CallbackKind { kFunctionBackward = 0, kTensorHook = 1 };
using CallbackFn = std::function<std::vector<Tensor>(CallbackKind kind, uint64_t handle,
                                                     std::vector<Tensor> grads)>;

// Client handles (functions, hooks) the daemon no longer references; the
// session tells the client in batches.
struct HandleSink {
  std::mutex mu;
  std::vector<uint64_t> released;
  void Release(uint64_t h) {
    std::lock_guard<std::mutex> lock(mu);
    released.push_back(h);
  }
};

class OpProfiler;  // profiler_ops.h

// What ops run with on this thread (a session's executor thread).
struct ExecContext {
  Generator* generator = nullptr;
  std::shared_ptr<MemoryTracker> tracker;
  uint64_t max_tensor_bytes = UINT64_MAX;
  bool grad_enabled = true;
  CallbackFn callback;               // null: no client to call (tests)
  std::shared_ptr<HandleSink> handles;
  // Kernels take a turn on their device from here (null: no sharing).
  FairShare* fair_share = nullptr;
  std::shared_ptr<const FairShare::Tenant> tenant;
  // Kernels that run longer than this are reported to on_slow_kernel (the
  // slow-op log); 0: kernels are not timed.
  double slow_kernel_ms = 0;
  std::function<void(const OpSchema& op, const Device& device, double ms)> on_slow_kernel;
  // Set while the session profiles (torch.profiler): every op is timed.
  std::shared_ptr<OpProfiler> profiler;
};

// The context of ops run on this thread; set by ScopedExecContext.
ExecContext& CurrentExecContext();

class ScopedExecContext {
 public:
  explicit ScopedExecContext(ExecContext* ctx);
  ~ScopedExecContext();
  ScopedExecContext(const ScopedExecContext&) = delete;
  ScopedExecContext& operator=(const ScopedExecContext&) = delete;

 private:
  ExecContext* prev_;
};

class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled)
      : prev_(CurrentExecContext().grad_enabled) { CurrentExecContext().grad_enabled = enabled; }
  ~GradModeGuard() { CurrentExecContext().grad_enabled = prev_; }

 private:
  bool prev_;
};

// Runs `op` with `args`, whose Tensor values index `inputs`; `metas` are its
// results' metadata from InferMeta. Returns the results: new tensors, views,
// or for in-place ops the modified input. Throws OpError.
std::vector<Tensor> Execute(const OpSchema& op, const OpArgs& args,
                            const std::vector<const Tensor*>& inputs,
                            std::vector<TensorMeta> metas);

}  // namespace tensord::autograd

#endif  // TENSORD_SCHEDULER_AUTOGRAD_EXEC_H_
