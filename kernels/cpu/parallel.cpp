#include "kernels/cpu/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace tensord {
namespace {

class ComputePool {
 public:
  explicit ComputePool(int n) { Resize(n); }
  ~ComputePool() { Stop(); }

  void Resize(int n) {
    Stop();
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
    size_ = std::max(n, 1);
    for (int i = 0; i < size_ - 1; ++i) workers_.emplace_back([this] { Loop(); });
  }
  int size() const { return size_; }

  void Run(int64_t n, int64_t chunks, const std::function<void(int64_t, int64_t)>& fn) {
    std::mutex done_mu;
    std::condition_variable done_cv;
    int64_t remaining = chunks - 1;
    const int64_t step = (n + chunks - 1) / chunks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int64_t c = 1; c < chunks; ++c) {
        const int64_t b = c * step, e = std::min(n, b + step);
        tasks_.push_back([&, b, e] {
          if (b < e) fn(b, e);
          std::lock_guard<std::mutex> l(done_mu);
          if (--remaining == 0) done_cv.notify_one();
        });
      }
    }
    cv_.notify_all();
    fn(0, std::min(n, step));
    std::unique_lock<std::mutex> l(done_mu);
    done_cv.wait(l, [&] { return remaining == 0; });
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
        if (stop_ && tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
  int size_ = 1;
};

ComputePool& Pool() {
  static ComputePool pool(1);
  return pool;
}

}  // namespace

void SetComputeThreads(int n) { Pool().Resize(n); }
int ComputeThreads() { return Pool().size(); }

void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int threads = Pool().size();
  if (threads <= 1 || n < 2 * grain) {
    fn(0, n);
    return;
  }
  const int64_t chunks = std::min<int64_t>(threads, n / grain);
  Pool().Run(n, chunks, fn);
}

}  // namespace tensord
