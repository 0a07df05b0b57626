// Per-op timing of one session while torch.profiler is on: the daemon's side
// of tensord.profiler. The [profiler] ops of the schema start and stop it and
// open and close record_function ranges; Execute times every other op.
//
// Threading: a profiler belongs to one session's ExecContext and is touched
// only on that session's executor thread.
#ifndef TENSORD_SCHEDULER_AUTOGRAD_PROFILER_OPS_H_
#define TENSORD_SCHEDULER_AUTOGRAD_PROFILER_OPS_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace tensord::autograd {

class OpProfiler {
 public:
  explicit OpProfiler(bool record_shapes) : record_shapes_(record_shapes) {}

  // Opens an event (an op, or a record_function range when `range`); events
  // opened before it closes are its children.
  void Begin(std::string name, const OpArgs* args, bool range);
  void End();
  // Closes the innermost open record_function range; false when the
  // innermost open event is not one.
  bool EndRange();
  // The closed events as JSON lines, one object per event:
  // {"id", "name", "start_ns", "dur_ns", "parent" (index or -1), "range", "shapes"},
  // then {"dropped": n} when events past kMaxEvents were not kept.
  std::string Report() const;

  // A session that profiles without end keeps at most this many events
  // (about 100 MiB); later ones are counted, not kept.
  static constexpr size_t kMaxEvents = size_t{1} << 20;
  // Longer record_function names are cut to this many bytes.
  static constexpr size_t kMaxNameBytes = 1024;

 private:
  struct Event {
    std::string name;
    std::string shapes;  // "[[2, 3], []]" (record_shapes), else empty
    int64_t start_ns = 0;
    int64_t dur_ns = -1;  // -1: still open
    int64_t parent = -1;
    bool range = false;
  };
  int64_t Now() const;

  const bool record_shapes_;
  const std::chrono::steady_clock::time_point origin_ = std::chrono::steady_clock::now();
  std::vector<Event> events_;
  std::vector<int64_t> open_;  // indices of open events, innermost last; -1: not kept
  std::vector<bool> open_range_;  // parallel to open_: whether each is a range
  uint64_t dropped_ = 0;
};

// Times one op's Execute when the session is profiling; no clock read when
// it is not. Holds the profiler so a stop inside the op cannot free it.
class ProfileScope {
 public:
  ProfileScope(const std::shared_ptr<OpProfiler>& profiler, const OpSchema& op,
               const OpArgs& args);
  ~ProfileScope() {
    if (profiler_) profiler_->End();
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  std::shared_ptr<OpProfiler> profiler_;
};

// Registers the [profiler] ops' kernels.
void RegisterProfilerKernels();

}  // namespace tensord::autograd

#endif  // TENSORD_SCHEDULER_AUTOGRAD_PROFILER_OPS_H_
