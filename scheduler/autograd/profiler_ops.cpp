#include "scheduler/autograd/profiler_ops.h"

#include <cstring>

#include "kernels/core/error.h"
#include "scheduler/autograd/exec.h"

namespace tensord::autograd {
namespace {

void AppendJsonString(std::string& out, const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

void AppendShape(std::string& out, const TensorMeta& m) {
  out += '[';
  for (size_t d = 0; d < m.sizes.size(); ++d) {
    if (d) out += ", ";
    out += std::to_string(m.sizes[d]);
  }
  out += ']';
}

// torch's "Input Shapes": one entry per argument, [] for non-tensors.
std::string InputShapes(const OpArgs& args) {
  std::string out = "[";
  for (size_t p = 0; p < args.values.size(); ++p) {
    if (p) out += ", ";
    const Value& v = args.values[p];
    if (v.kind == Value::Kind::kTensor) {
      AppendShape(out, *args.metas[v.i]);
    } else if (v.kind == Value::Kind::kTensors) {
      out += '[';
      for (size_t k = 0; k < v.ints.size(); ++k) {
        if (k) out += ", ";
        AppendShape(out, *args.metas[v.ints[k]]);
      }
      out += ']';
    } else {
      out += "[]";
    }
  }
  return out + "]";
}

void StartKernel(KernelContext& ctx) {
  auto& profiler = CurrentExecContext().profiler;
  TD_CHECK(!profiler, kRuntime, "[", ctx.op.name, "] the profiler is already on in this session");
  profiler = std::make_shared<OpProfiler>(ctx.args.get_bool(0));
}

void StopKernel(KernelContext& ctx) {
  auto& profiler = CurrentExecContext().profiler;
  TD_CHECK(profiler, kRuntime, "[", ctx.op.name, "] the profiler is not on in this session");
  const std::string report = profiler->Report();
  profiler.reset();
  Tensor t = ctx.NewTensor(
      TensorMeta::Contiguous(DType::kUInt8, Device{}, {static_cast<int64_t>(report.size())}));
  if (!report.empty()) std::memcpy(t.raw(), report.data(), report.size());
  ctx.outputs = {std::move(t)};
}

// Ranges outside a profile are no-ops, as torch's record_function is.
void RangePushKernel(KernelContext& ctx) {
  if (auto& p = CurrentExecContext().profiler) p->Begin(ctx.args.values[0].s, nullptr, true);
}

void RangePopKernel(KernelContext& ctx) {
  auto& p = CurrentExecContext().profiler;
  TD_CHECK(!p || p->EndRange(), kRuntime, "[", ctx.op.name,
           "] no record_function range is open (ranges must nest)");
}

}  // namespace

int64_t OpProfiler::Now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              origin_).count();
}

void OpProfiler::Begin(std::string name, const OpArgs* args, bool range) {
  open_range_.push_back(range);
  if (events_.size() >= kMaxEvents) {
    ++dropped_;
    open_.push_back(-1);
    return;
  }
  Event e;
  e.name = std::move(name);
  if (e.name.size() > kMaxNameBytes) {
    size_t cut = kMaxNameBytes;  // not inside a UTF-8 sequence
    while (cut > 0 && (static_cast<unsigned char>(e.name[cut]) & 0xC0) == 0x80) --cut;
    e.name.resize(cut);
  }
  if (record_shapes_ && args) e.shapes = InputShapes(*args);
  // The innermost kept event: a dropped one keeps no children either.
  e.parent = open_.empty() ? -1 : open_.back();
  e.range = range;
  e.start_ns = Now();
  open_.push_back(static_cast<int64_t>(events_.size()));
  events_.push_back(std::move(e));
}

void OpProfiler::End() {
  if (open_.empty()) return;
  const int64_t i = open_.back();
  open_.pop_back();
  open_range_.pop_back();
  if (i >= 0) events_[i].dur_ns = Now() - events_[i].start_ns;
}

bool OpProfiler::EndRange() {
  if (open_.empty() || !open_range_.back()) return false;
  End();
  return true;
}

std::string OpProfiler::Report() const {
  std::string out;
  out.reserve(events_.size() * 96);
  for (size_t i = 0; i < events_.size(); ++i) {
    const Event& e = events_[i];
    // Events still open (ranges the client never closed) are left out; so
    // are their children's parent links, which would dangle.
    if (e.dur_ns < 0) continue;
    const bool parent_closed = e.parent >= 0 && events_[e.parent].dur_ns >= 0;
    out += "{\"id\": " + std::to_string(i) + ", \"name\": ";
    AppendJsonString(out, e.name);
    out += ", \"start_ns\": " + std::to_string(e.start_ns) +
           ", \"dur_ns\": " + std::to_string(e.dur_ns) +
           ", \"parent\": " + std::to_string(parent_closed ? e.parent : -1) +
           ", \"range\": " + (e.range ? "true" : "false") + ", \"shapes\": ";
    AppendJsonString(out, e.shapes);
    out += "}\n";
  }
  if (dropped_ > 0) out += "{\"dropped\": " + std::to_string(dropped_) + "}\n";
  return out;
}

ProfileScope::ProfileScope(const std::shared_ptr<OpProfiler>& profiler, const OpSchema& op,
                           const OpArgs& args) {
  if (!profiler || op.variant == "profiler") return;
  profiler_ = profiler;
  profiler_->Begin(op.name, &args, false);
}

void RegisterProfilerKernels() {
  auto& r = KernelRegistry::Get();
  r.Register("_profiler_start", Device::Kind::kCPU, StartKernel);
  r.Register("_profiler_stop", Device::Kind::kCPU, StopKernel);
  r.Register("_profiler_range_push", Device::Kind::kCPU, RangePushKernel);
  r.Register("_profiler_range_pop", Device::Kind::kCPU, RangePopKernel);
}

}  // namespace tensord::autograd
