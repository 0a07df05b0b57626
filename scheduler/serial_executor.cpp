#include "scheduler/serial_executor.h"

#include <pthread.h>

namespace tensord {

SerialExecutor::SerialExecutor(std::string name) : name_(std::move(name)) {
  thread_ = std::thread([this] { Loop(); });
  pthread_setname_np(thread_.native_handle(), name_.substr(0, 15).c_str());
}

SerialExecutor::~SerialExecutor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SerialExecutor::Submit(std::function<void()> item) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
}

size_t SerialExecutor::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() + running_;
}

void SerialExecutor::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return queue_.empty() && running_ == 0; });
}

bool SerialExecutor::RunOneInline(std::chrono::milliseconds timeout) {
  std::function<void()> item;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return !queue_.empty(); })) return false;
    item = std::move(queue_.front());
    queue_.pop_front();
  }
  item();
  return true;
}

void SerialExecutor::Loop() {
  for (;;) {
    std::function<void()> item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and nothing left
      item = std::move(queue_.front());
      queue_.pop_front();
      running_ = 1;
    }
    item();
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = 0;
      if (queue_.empty()) idle_cv_.notify_all();
    }
  }
}

}  // namespace tensord
