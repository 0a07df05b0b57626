// Sharing each device between tenants by weight.
//
// Every session runs its ops on a thread of its own, so without a scheduler
// the tenant with the most sessions, or the biggest kernels, would take the
// device. Before a kernel runs, its session takes a turn on the kernel's
// device; a device grants `slots` turns at once (default 1: kernels of
// different sessions never overlap, which is what makes shares exact).
//
// Who goes next is start-time fair queueing over measured kernel time: each
// tenant has a virtual time per device that advances by (kernel seconds /
// weight) when its turn ends, and among the waiting sessions the one whose
// tenant has the smallest virtual time goes first. A tenant that was idle
// (no turn running or waiting for 5 ms: a backlogged session's gap between
// kernels, or a round trip to its client, is not idleness) starts at the
// device's current virtual time, so idling banks no credit;
// a light tenant that wakes up therefore waits for at most the kernels
// already running, whatever the heavy tenants have queued.
//
// Kernels are not preempted: a tenant's latency bound is one kernel of
// whoever holds the device. GPU kernels are charged the host time of their
// launch (plus any synchronisation the backend does), not device time.
#ifndef TENSORD_SCHEDULER_FAIR_SHARE_H_
#define TENSORD_SCHEDULER_FAIR_SHARE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/core/tensor_meta.h"

namespace tensord {

// The pure ordering rule, without threads or clocks (so it can be tested
// deterministically). Not thread-safe: FairShare guards it.
class FairQueue {
 public:
  // Registers a tenant (idempotent); returns its index.
  size_t AddTenant(double weight);
  void SetWeight(size_t tenant, double weight);
  // A tenant starts waiting or running: an idle tenant catches up to the
  // queue's virtual time so that idling banks no credit.
  void Activate(size_t tenant);
  // Of the candidate tenants (indices), the one to go next: smallest
  // virtual time, the earliest candidate on ties.
  size_t Pick(const std::vector<size_t>& candidates) const;
  // A turn of `tenant` began / ended having used `seconds`.
  void Start(size_t tenant);
  void Charge(size_t tenant, double seconds);
  double virtual_time(size_t tenant) const { return tenants_[tenant].vtime; }
  double charged_seconds(size_t tenant) const { return tenants_[tenant].charged; }

 private:
  struct TenantState {
    double weight = 1;
    double vtime = 0;
    double charged = 0;
  };
  std::vector<TenantState> tenants_;
  double vclock_ = 0;  // virtual time of the most recent start
};

class FairShare {
 public:
  // Devices are slot 0 (cpu) and 1 + index (cuda:index), up to 16 GPUs.
  static constexpr size_t kMaxDevices = 17;
  using Clock = std::function<double()>;  // seconds, monotonic

  explicit FairShare(int slots_per_device = 1, Clock clock = nullptr);
  FairShare(const FairShare&) = delete;
  FairShare& operator=(const FairShare&) = delete;
  ~FairShare();

  // A tenant's handle (idempotent by name; a later call updates the weight).
  struct Tenant {
    std::string name;
    size_t index = 0;
  };
  std::shared_ptr<const Tenant> AddTenant(const std::string& name, double weight);

  // A turn on a device; releasing (destroying) it charges the elapsed time.
  class Turn {
   public:
    Turn() = default;
    Turn(Turn&& other) noexcept { *this = std::move(other); }
    Turn& operator=(Turn&& other) noexcept;
    ~Turn() { Release(); }
    void Release();
    bool held() const { return owner_ != nullptr; }

   private:
    friend class FairShare;
    FairShare* owner_ = nullptr;
    size_t device_ = 0;
    size_t tenant_ = 0;
    double start_ = 0;
  };

  // Blocks until `tenant` may run a kernel on `device`. A thread that already
  // holds a turn gets an empty one (ops that run ops inside count once).
  Turn Acquire(const Tenant& tenant, const Device& device);

  // Kernel seconds charged to a tenant on a device so far.
  double charged_seconds(const Tenant& tenant, const Device& device) const;
  // Sessions waiting for a turn on a device now.
  size_t waiting(const Device& device) const;

 private:
  struct Waiter;
  struct DeviceGate;
  static size_t Slot(const Device& device);
  void Finish(size_t device, size_t tenant, double start);

  const int slots_;
  const Clock clock_;
  mutable std::mutex tenants_mu_;
  std::unordered_map<std::string, std::shared_ptr<Tenant>> tenants_;
  std::vector<double> weights_;  // by tenant index, under tenants_mu_
  std::array<std::unique_ptr<DeviceGate>, kMaxDevices> gates_;
};

}  // namespace tensord

#endif  // TENSORD_SCHEDULER_FAIR_SHARE_H_
