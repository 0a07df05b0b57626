// The client core: one connection to a daemon session. It records ops with
// client-assigned ids, infers every result's metadata locally (the shared
// rules of kernels/meta), batches records onto the session's stream and
// waits only at sync points (fetch, synchronize). Both the C++ API
// (tensord/tensor.h) and the Python package are built on it.
//
// Thread-safe: calls may come from several threads; records keep the order
// in which the calls took the core's lock.
//
// Survives a dropped connection: when the session's stream breaks
// (UNAVAILABLE), the core re-attaches to the session with backoff for the
// daemon's grace period and resends what the daemon had not accepted, so
// no op is lost or applied twice; callers waiting at a sync point just wait
// longer. After the grace period they get a RemoteError saying why.
#ifndef TENSORD_CLIENT_CORE_H_
#define TENSORD_CLIENT_CORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/core/tensor_meta.h"
#include "kernels/core/value.h"
#include "kernels/schema/op_schema.h"

namespace tensord::client {

class Core;

// Autograd's grad mode for ops recorded on this thread (torch.no_grad()).
bool GradEnabled();
void SetGradEnabled(bool enabled);

// A failure reported by the daemon (or the connection), surfaced at a sync
// point. `exception` is the Python exception PyTorch would raise.
class RemoteError : public std::runtime_error {
 public:
  RemoteError(std::string message, std::string op, std::string location,
              std::string exception, int code);
  const std::string& op() const { return op_; }
  const std::string& location() const { return location_; }
  const std::string& exception() const { return exception_; }
  int code() const { return code_; }

 private:
  std::string op_, location_, exception_;
  int code_;
};

// A tensor handle. Releasing the last reference releases the daemon's tensor.
class TensorImpl {
 public:
  TensorImpl(std::shared_ptr<Core> core, uint64_t id, TensorMeta meta);
  ~TensorImpl();
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;

  uint64_t id() const { return id_; }
  // Equal for tensors the client knows share one daemon storage (a view and
  // its base); tensors whose sharing the client cannot see get distinct ids.
  uint64_t storage_id() const { return storage_id_; }
  // Waits for the daemon when the op that made it had a data-dependent shape.
  const TensorMeta& meta();
  const std::shared_ptr<Core>& core() const { return core_; }
  // The daemon said this result is None (an unset .grad, an unused input of
  // autograd.grad). Waits like meta().
  bool is_none();

  // Autograd metadata, known without a round trip (the daemon applies the
  // same rule): whether it requires grad and the op that made it (null for
  // leaves). `opaque_grad_fn`: made by the daemon's backward itself
  // (create_graph), so only the daemon knows the node.
  bool requires_grad = false;
  const OpSchema* grad_fn = nullptr;
  bool opaque_grad_fn = false;
  std::string custom_grad_fn_name;  // a custom autograd.Function's node
  bool is_leaf() const { return grad_fn == nullptr && !opaque_grad_fn; }
  uint32_t output_nr = 0;  // which result of grad_fn (for error messages)

  // Differentiable views, by the daemon's rule (scheduler/autograd/views.cpp).
  // A floating view's root base and how the view was made (PyTorch's
  // CreationMeta); `version` counts in-place writes to the storage a base
  // shares with its views (null until one is made), so that a view whose
  // storage was written since its grad_fn was set reports the regenerated
  // AsStridedBackward0.
  enum class ViewCreation : uint8_t { kDefault, kMultiOutput, kNoGrad };
  std::shared_ptr<TensorImpl> view_base;
  ViewCreation view_creation = ViewCreation::kDefault;
  uint64_t view_attr_version = 0;
  std::shared_ptr<uint64_t> version;
  // requires_grad as PyTorch answers it: a view requires grad when its base does.
  bool RequiresGrad() const {
    return requires_grad || (view_base && view_base->requires_grad);
  }
  // Brings a stale view's grad_fn up to date (AsStridedBackward0); throws
  // PyTorch's RuntimeError for multi-output and no_grad views.
  void RefreshViewGradFn();
  // Throws PyTorch's error when this view may not be rebased by an in-place
  // op (`indirect`: the write went through the base or another view).
  void CheckViewRebase(bool indirect, const std::string& op) const;
  // The last .grad handle read from the daemon, valid while the core's
  // grad_epoch() is unchanged.
  std::shared_ptr<TensorImpl> grad_cache;
  bool grad_cache_none = false;
  uint64_t grad_cache_epoch = 0;

 private:
  friend class Core;
  std::shared_ptr<Core> core_;
  uint64_t id_;
  uint64_t storage_id_;
  TensorMeta meta_;
  bool none_ = false;
};
using TensorPtr = std::shared_ptr<TensorImpl>;

struct FetchedTensor {
  DType dtype;
  Shape sizes;
  Shape strides;               // the daemon's layout (data is contiguous)
  int64_t storage_offset = 0;
  // Contiguous row-major bytes: heap memory, or a shared-memory mapping.
  std::shared_ptr<const char> data;
  size_t nbytes = 0;
};

// The daemon asks for Python autograd code to run (see runtime.proto's
// Callback): a custom Function's backward (kind 0) or a tensor hook (1).
struct CallbackRequest {
  uint64_t id = 0;
  int kind = 0;
  uint64_t handle = 0;
  std::vector<std::shared_ptr<TensorImpl>> grads;  // null: None
};

struct DaemonInfo {
  std::string daemon_version;
  std::string op_schema_version;
  std::vector<std::string> devices;  // "cpu", "cuda:0", ...
  std::vector<std::string> device_names;
  uint64_t max_chunk_bytes = 0;
  bool shared_memory = false;  // large tensors move through /dev/shm
};

// TLS to the daemon (docs/security.md). Used when `enabled` or any file is set.
struct TlsOptions {
  bool enabled = false;
  std::string ca_file;      // PEM CA that signed the daemon's certificate; empty: system roots
  std::string cert_file;    // PEM client certificate, for a daemon that requires one (mTLS)
  std::string key_file;     // the private key of cert_file
  std::string server_name;  // the name the daemon's certificate must carry, when not the address's host
};

struct ConnectOptions {
  // The tenant's token, sent as "authorization: Bearer <token>" on every call.
  // Needed when the daemon has a tenants file; ignored by one without.
  std::string token;
  TlsOptions tls;
  std::string client_name = "tensord-cpp";
  std::string client_version = "0.1.0";
  uint32_t protocol_major = 1;  // tests use others to check the refusal
  int connect_timeout_ms = 10000;
  // Try the same-host shared-memory path for large tensors (used only when
  // the daemon can read this process's shared memory; env TENSORD_NO_SHM=1
  // turns it off).
  bool shared_memory = true;
};

// `options` with what it leaves empty taken from the environment:
// TENSORD_TOKEN, TENSORD_TLS=1, TENSORD_TLS_CA, TENSORD_TLS_CERT,
// TENSORD_TLS_KEY, TENSORD_TLS_SERVER_NAME. Core::Connect applies it.
ConnectOptions WithEnvironmentDefaults(ConnectOptions options);

class Core : public std::enable_shared_from_this<Core> {
 public:
  // Connects (HOST:PORT or unix:PATH), handshakes and opens a session.
  // Throws RemoteError when the daemon is unreachable or refuses (a TLS
  // failure or a refused token says so).
  static std::shared_ptr<Core> Connect(const std::string& address,
                                       const ConnectOptions& options = {});
  ~Core();

  const DaemonInfo& info() const;
  const std::string& session_id() const;

  // Records `op` with positional `values` (Tensor values index `tensors`).
  // Returns its results (for in-place ops, the aliased input). Throws
  // tensord::OpError when the arguments are wrong for the op.
  std::vector<TensorPtr> Call(const OpSchema& op, std::vector<Value> values,
                              const std::vector<TensorPtr>& tensors, std::string location);
  // A tensor from host bytes: inline for small ones, chunked upload else.
  TensorPtr FromBytes(const void* data, size_t nbytes, DType dtype, const Shape& sizes,
                      std::string location);
  // Sync points: throw RemoteError for the first failure not yet raised.
  FetchedTensor Fetch(const TensorPtr& t);
  // The daemon's metadata of a tensor (its real strides and offset).
  // `none` (optional) is set when the tensor is None, `requires_grad` when
  // the daemon's tensor requires grad.
  TensorMeta FetchMeta(uint64_t id, bool* none = nullptr, bool* requires_grad = nullptr);
  void Synchronize();
  // Sends what is recorded without waiting.
  void Flush();

  // Callbacks run on the thread that waits at a sync point (fetch,
  // synchronize), through this handler, which answers with ReplyCallback.
  void SetCallbackHandler(std::function<void(CallbackRequest)> handler);
  void ReplyCallback(uint64_t id, const std::vector<std::shared_ptr<TensorImpl>>& results,
                     const std::string& error, const std::string& exception);
  // Function/hook handles the daemon no longer references.
  std::vector<uint64_t> TakeReleasedHandles();
  // Closes the session; later calls throw.
  void Close();

  // Bumped by every op that may change some tensor's .grad (backward,
  // assigning .grad): cached .grad handles older than this are re-read.
  uint64_t grad_epoch() const;

  // Stats for tests and benchmarks.
  uint64_t ops_recorded() const;
  uint64_t batches_sent() const;
  // How often a broken stream was replaced by re-attaching to the session.
  uint64_t reattaches() const;
  // How often each op (by schema index) was recorded by this core.
  std::vector<uint64_t> op_counts() const;

 private:
  friend class TensorImpl;
  struct Impl;
  Core();
  void Release(uint64_t id);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tensord::client

#endif  // TENSORD_CLIENT_CORE_H_
