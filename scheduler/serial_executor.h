// Runs one session's work items in submission order on a thread of its own,
// so the network thread that submits never waits on a kernel.
//
// Thread-safe: Submit may be called from any thread. Items run one at a
// time; the destructor runs what is queued, then joins.
#ifndef TENSORD_SCHEDULER_SERIAL_EXECUTOR_H_
#define TENSORD_SCHEDULER_SERIAL_EXECUTOR_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace tensord {

class SerialExecutor {
 public:
  explicit SerialExecutor(std::string name);
  ~SerialExecutor();
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  void Submit(std::function<void()> item);
  // Items queued and not yet finished (including the one running).
  size_t pending() const;
  // Blocks until every item submitted so far has run.
  void Drain();
  // From inside an item (on the executor's thread): runs the next queued item
  // now, waiting up to `timeout` for one. False when none came. Lets an item
  // that waits on its client (an autograd callback) run the client's
  // messages meanwhile.
  bool RunOneInline(std::chrono::milliseconds timeout);

 private:
  void Loop();

  std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> queue_;
  size_t running_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tensord

#endif  // TENSORD_SCHEDULER_SERIAL_EXECUTOR_H_
