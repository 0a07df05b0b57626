// OpRate: how many ops a session ran in total and per second lately, for
// Admin.ListSessions. One writer (the session's executor thread), any number
// of readers (Admin handlers); readers see a count that may lag one op,
// which is all a listing needs, so there is no lock.
#ifndef TENSORD_SERVER_OP_RATE_H_
#define TENSORD_SERVER_OP_RATE_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace tensord {

class OpRate {
 public:
  using Clock = std::chrono::steady_clock;
  // The rate is the ops of the last kWindowSeconds whole seconds before the
  // current one, divided by that span (shorter for a younger session).
  static constexpr int64_t kWindowSeconds = 10;

  explicit OpRate(Clock::time_point start = Clock::now()) : start_(start) {}

  // Executor thread only.
  void Record(Clock::time_point now = Clock::now()) {
    total_.fetch_add(1, std::memory_order_relaxed);
    const int64_t second = SecondOf(now);
    Bucket& b = buckets_[static_cast<size_t>(second % kBuckets)];
    if (b.second.load(std::memory_order_relaxed) != second) {
      b.count.store(0, std::memory_order_relaxed);
      b.second.store(second, std::memory_order_relaxed);
    }
    b.count.fetch_add(1, std::memory_order_relaxed);
  }

  uint64_t total() const { return total_.load(std::memory_order_relaxed); }

  double PerSecond(Clock::time_point now = Clock::now()) const {
    const int64_t current = SecondOf(now);
    const int64_t span = current < kWindowSeconds ? current : kWindowSeconds;
    if (span <= 0) return 0;  // not one whole second old yet
    uint64_t ops = 0;
    for (const Bucket& b : buckets_) {
      const int64_t s = b.second.load(std::memory_order_relaxed);
      if (s >= current - span && s < current) ops += b.count.load(std::memory_order_relaxed);
    }
    return static_cast<double>(ops) / static_cast<double>(span);
  }

 private:
  // One more bucket than the window: the current second fills one while the
  // window's seconds stay intact.
  static constexpr int64_t kBuckets = kWindowSeconds + 1;
  struct Bucket {
    std::atomic<int64_t> second{-1};  // whole seconds since start_
    std::atomic<uint64_t> count{0};
  };

  int64_t SecondOf(Clock::time_point t) const {
    const int64_t s = std::chrono::duration_cast<std::chrono::seconds>(t - start_).count();
    return s < 0 ? 0 : s;
  }

  const Clock::time_point start_;
  std::atomic<uint64_t> total_{0};
  std::array<Bucket, kBuckets> buckets_;
};

}  // namespace tensord

#endif  // TENSORD_SERVER_OP_RATE_H_
