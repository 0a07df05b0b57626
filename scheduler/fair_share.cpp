#include "scheduler/fair_share.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>

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

double SteadySeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

struct FairShare::Waiter {
  size_t tenant;
  std::condition_variable cv;
  bool granted = false;
};

struct FairShare::DeviceGate {
  std::mutex mu;
  int free_slots;
  FairQueue queue;
  std::vector<int> active;        // turns running or waiting, by tenant
  std::vector<Waiter*> waiters;   // arrival order

  explicit DeviceGate(int slots) : free_slots(slots) {}
  void Ensure(size_t tenant, double weight) {
    while (active.size() <= tenant) {
      queue.AddTenant(1);
      active.push_back(0);
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
    if (g.active[tenant.index]++ == 0) g.queue.Activate(tenant.index);
    if (g.free_slots > 0 && g.waiters.empty()) {
      --g.free_slots;
      g.queue.Start(tenant.index);
    } else {
      Waiter w{tenant.index};
      g.waiters.push_back(&w);
      w.cv.wait(lock, [&] { return w.granted; });
    }
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
  --g.active[tenant];
  if (g.waiters.empty()) {
    ++g.free_slots;
    return;
  }
  std::vector<size_t> candidates;
  candidates.reserve(g.waiters.size());
  for (const Waiter* w : g.waiters) candidates.push_back(w->tenant);
  const size_t k = g.queue.Pick(candidates);
  Waiter* next = g.waiters[k];
  g.waiters.erase(g.waiters.begin() + static_cast<std::ptrdiff_t>(k));
  g.queue.Start(next->tenant);
  next->granted = true;
  next->cv.notify_one();
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
