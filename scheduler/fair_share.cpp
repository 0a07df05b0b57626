#include "scheduler/fair_share.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <limits>

namespace tensord {

// --- FairQueue: the ordering rule -----------------------------------------

size_t FairQueue::AddTenant(double weight) {
  tenants_.push_back(TenantState{weight > 0 ? weight : 1, vclock_, 0});
  return tenants_.size() - 1;
}

void FairQueue::SetWeight(size_t tenant, double weight) {
  if (weight > 0) tenants_[tenant].weight = weight;
}

void FairQueue::Activate(size_t tenant) {
  tenants_[tenant].vtime = std::max(tenants_[tenant].vtime, vclock_);
}

size_t FairQueue::Pick(const std::vector<size_t>& candidates) const {
  size_t best = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    if (tenants_[candidates[i]].vtime < tenants_[candidates[best]].vtime) best = i;
  }
  return best;
}

void FairQueue::Start(size_t tenant) { vclock_ = std::max(vclock_, tenants_[tenant].vtime); }

void FairQueue::Charge(size_t tenant, double seconds) {
  if (seconds < 0) seconds = 0;
  tenants_[tenant].vtime += seconds / tenants_[tenant].weight;
  tenants_[tenant].charged += seconds;
}

// --- FairShare: the blocking gate per device ------------------------------

namespace {

// Set while this thread holds a turn, so that an op running ops inside it
// (the autograd engine, fused optimizers) does not wait for itself.
thread_local bool t_holding_turn = false;

// A tenant with no turn running or waiting for this long is idle: it
// restarts at the device's virtual time (no banked credit).
constexpr double kIdleSeconds = 0.005;

double SteadySeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

struct FairShare::Waiter {
  size_t tenant;
  std::condition_variable cv;
};

struct FairShare::DeviceGate {
  std::mutex mu;
  int free_slots;
  FairQueue queue;
  std::vector<int> active;        // turns running or waiting, by tenant
  std::vector<double> last_finish;  // when each tenant's last turn ended
  std::vector<Waiter*> waiters;   // arrival order

  explicit DeviceGate(int slots) : free_slots(slots) {}
  // May `tenant` (waiting as `self`, or not yet waiting) take a slot now? Yes
  // when one is free and fewer waiting sessions than there are free slots
  // belong to tenants strictly further behind.
  bool Eligible(size_t tenant, const Waiter* self) const {
    if (free_slots <= 0) return false;
    if (Reserved() && tenant != reserved_for) return false;
    const double mine = queue.virtual_time(tenant);
    int ahead = 0;
    for (const Waiter* w : waiters) {
      if (w != self && queue.virtual_time(w->tenant) < mine) ++ahead;
    }
    return ahead < free_slots;
  }
  // The slot is held briefly for a tenant whose kernel just ended while it
  // was still the furthest behind: its session asks again within
  // microseconds when it has more work, but a waiter woken at release would
  // usually get in first, and any two tenants would alternate whatever their
  // weights.
  static constexpr std::chrono::microseconds kHoldFor{300};
  size_t reserved_for = SIZE_MAX;
  std::chrono::steady_clock::time_point reserved_until;
  bool Reserved() const {
    return reserved_for != SIZE_MAX && std::chrono::steady_clock::now() < reserved_until;
  }
  // Wakes the waiter whose tenant is furthest behind (first come on ties).
  void WakeBest() {
    if (waiters.empty()) return;
    std::vector<size_t> candidates;
    candidates.reserve(waiters.size());
    for (const Waiter* w : waiters) candidates.push_back(w->tenant);
    waiters[queue.Pick(candidates)]->cv.notify_one();
  }
  void Ensure(size_t tenant, double weight) {
    while (active.size() <= tenant) {
      queue.AddTenant(1);
      active.push_back(0);
      last_finish.push_back(-std::numeric_limits<double>::infinity());
    }
    queue.SetWeight(tenant, weight);
  }
};

FairShare::FairShare(int slots_per_device, Clock clock)
    : slots_(std::max(1, slots_per_device)), clock_(clock ? std::move(clock) : SteadySeconds) {
  for (auto& g : gates_) g = std::make_unique<DeviceGate>(slots_);
}

FairShare::~FairShare() = default;

std::shared_ptr<const FairShare::Tenant> FairShare::AddTenant(const std::string& name,
                                                              double weight) {
  std::lock_guard<std::mutex> lock(tenants_mu_);
  auto& t = tenants_[name];
  if (!t) {
    t = std::make_shared<Tenant>();
    t->name = name;
    t->index = weights_.size();
    weights_.push_back(1);
  }
  if (weight > 0) weights_[t->index] = weight;
  return t;
}

size_t FairShare::Slot(const Device& device) {
  if (device.is_cpu()) return 0;
  return std::min<size_t>(1 + static_cast<size_t>(std::max(device.index, 0)), kMaxDevices - 1);
}

FairShare::Turn FairShare::Acquire(const Tenant& tenant, const Device& device) {
  Turn turn;
  if (t_holding_turn) return turn;
  double weight;
  {
    std::lock_guard<std::mutex> lock(tenants_mu_);
    weight = weights_[tenant.index];
  }
  const size_t slot = Slot(device);
  DeviceGate& g = *gates_[slot];
  {
    std::unique_lock<std::mutex> lock(g.mu);
    g.Ensure(tenant.index, weight);
    // Catch up only after a real idle spell: a backlogged session asks again
    // microseconds after its kernel ends (or one network round trip later),
    // and treating that gap as idleness would forfeit its earned place.
    if (g.active[tenant.index]++ == 0 &&
        clock_() - g.last_finish[tenant.index] > kIdleSeconds) {
      g.queue.Activate(tenant.index);
    }
    // Eligibility is decided here, by whoever asks, not handed over at
    // release: a session whose kernel just ended asks again at once, and
    // when its tenant is the furthest behind it must be able to go again
    // (handing the slot to a waiter at release would make any two tenants
    // alternate, whatever their weights).
    Waiter w{tenant.index};
    bool queued = false;
    while (!g.Eligible(tenant.index, &w)) {
      if (!queued) {
        g.waiters.push_back(&w);
        queued = true;
      }
      if (g.Reserved()) {
        w.cv.wait_until(lock, g.reserved_until);
      } else {
        w.cv.wait(lock);
      }
    }
    if (g.reserved_for == tenant.index || !g.Reserved()) g.reserved_for = SIZE_MAX;
    if (queued) g.waiters.erase(std::find(g.waiters.begin(), g.waiters.end(), &w));
    --g.free_slots;
    g.queue.Start(tenant.index);
    // More than one free slot: the next waiter in line may go too.
    if (g.free_slots > 0) g.WakeBest();
  }
  t_holding_turn = true;
  turn.owner_ = this;
  turn.device_ = slot;
  turn.tenant_ = tenant.index;
  turn.start_ = clock_();
  return turn;
}

void FairShare::Finish(size_t device, size_t tenant, double start) {
  const double elapsed = clock_() - start;
  t_holding_turn = false;
  DeviceGate& g = *gates_[device];
  std::lock_guard<std::mutex> lock(g.mu);
  g.queue.Charge(tenant, elapsed);
  g.last_finish[tenant] = start + elapsed;
  --g.active[tenant];
  ++g.free_slots;
  if (g.waiters.empty()) return;
  double behind = std::numeric_limits<double>::infinity();
  for (const Waiter* w : g.waiters) behind = std::min(behind, g.queue.virtual_time(w->tenant));
  if (g.queue.virtual_time(tenant) < behind) {
    g.reserved_for = tenant;
    g.reserved_until = std::chrono::steady_clock::now() + DeviceGate::kHoldFor;
  }
  // Woken either way: with a hold it waits for the hold to lapse.
  g.WakeBest();
}

double FairShare::charged_seconds(const Tenant& tenant, const Device& device) const {
  DeviceGate& g = *gates_[Slot(device)];
  std::lock_guard<std::mutex> lock(g.mu);
  return tenant.index < g.active.size() ? g.queue.charged_seconds(tenant.index) : 0.0;
}

size_t FairShare::waiting(const Device& device) const {
  DeviceGate& g = *gates_[Slot(device)];
  std::lock_guard<std::mutex> lock(g.mu);
  return g.waiters.size();
}

FairShare::Turn& FairShare::Turn::operator=(Turn&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = other.owner_;
    device_ = other.device_;
    tenant_ = other.tenant_;
    start_ = other.start_;
    other.owner_ = nullptr;
  }
  return *this;
}

void FairShare::Turn::Release() {
  if (owner_ == nullptr) return;
  FairShare* owner = owner_;
  owner_ = nullptr;
  owner->Finish(device_, tenant_, start_);
}

}  // namespace tensord
