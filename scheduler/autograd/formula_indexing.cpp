// Derivative helpers of shape ops, scatters/gathers and einsum, built from
// call() so that their own gradients exist (double backward).
#include <algorithm>
#include <map>
#include <string>

#include "kernels/core/error.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/autograd/formula_api.h"
#include "scheduler/autograd/views.h"

namespace tensord::autograd {
namespace {

int64_t Ndim(const Shape& s) { return static_cast<int64_t>(s.size()); }

Tensor Arange(int64_t start, int64_t count, int64_t step, const Tensor& like) {
  return call("arange", {start, start + count * step, step, DType::kInt64, like.meta.device});
}

}  // namespace

Tensor diagonal_backward(const Tensor& grad, const Shape& sizes, const Arg& offset,
                         const Arg& dim1, const Arg& dim2) {
  const int64_t n = Ndim(sizes);
  const int64_t d1 = WrapDim(dim1.to_int(), n), d2 = WrapDim(dim2.to_int(), n);
  const int64_t off = offset.to_int();
  const int64_t len = grad.sizes().back();
  Tensor z = zeros_sized(grad, sizes);
  if (len == 0) return z;
  // zeros with grad put at (rows[k], cols[k]) of dims (d1, d2).
  Tensor rows = Arange(off >= 0 ? 0 : -off, len, 1, grad);
  Tensor cols = Arange(off >= 0 ? off : 0, len, 1, grad);
  const bool in_order = d1 < d2;
  std::vector<Tensor> indices = in_order ? std::vector<Tensor>{rows, cols}
                                         : std::vector<Tensor>{cols, rows};
  std::vector<int64_t> dims = in_order ? std::vector<int64_t>{d1, d2}
                                       : std::vector<int64_t>{d2, d1};
  // Advanced indexing puts the index dim where the indexed dims were when
  // they are adjacent, else first.
  const int64_t at = dims[1] == dims[0] + 1 ? dims[0] : 0;
  Tensor values = call("movedim", {grad, std::vector<int64_t>{-1}, std::vector<int64_t>{at}});
  return call("index_put", {z, indices, dims, values, false});
}

Tensor diag_backward(const Tensor& grad, const Shape& sizes, const Arg& diagonal) {
  if (sizes.size() == 1) return call("diagonal", {grad, diagonal, 0, 1});
  return diagonal_backward(grad, sizes, diagonal, Arg(0), Arg(1));
}

Tensor repeat_backward(const Tensor& grad, const Shape& sizes, const Arg& repeats) {
  const std::vector<int64_t>& reps = repeats.ints();
  const size_t lead = reps.size() - sizes.size();
  std::vector<int64_t> split, sum_dims;
  for (size_t i = 0; i < reps.size(); ++i) {
    split.push_back(reps[i]);
    split.push_back(i < lead ? 1 : sizes[i - lead]);
    sum_dims.push_back(static_cast<int64_t>(2 * i));
  }
  if (sum_dims.empty()) return call("reshape", {grad, sizes});
  Tensor r = call("sum", {call("reshape", {grad, split}), sum_dims, false});
  return call("reshape", {r, sizes});
}

Tensor repeat_interleave_backward(const Tensor& grad, const Shape& sizes, const Arg& repeats,
                                  const Arg& dim) {
  // Output element j came from input index idx[j] = repeat_interleave(arange(n), repeats).
  Shape in = sizes;
  int64_t d = 0;
  if (dim.is_none()) {
    int64_t numel = 1;
    for (int64_t s : sizes) numel *= s;
    in = Shape{numel};
  } else {
    d = WrapDim(dim.to_int(), std::max<int64_t>(Ndim(sizes), 1));
    if (in.empty()) in = Shape{1};
  }
  Tensor idx = call("repeat_interleave", {Arange(0, in[d], 1, grad), repeats, 0});
  Tensor g = grad.dim() == 0 ? call("reshape", {grad, std::vector<int64_t>{1}}) : grad;
  Tensor r = call("index_add", {zeros_sized(grad, in), d, idx, g});
  return call("reshape", {r, sizes});
}

Tensor roll_backward(const Tensor& grad, const Arg& shifts, const Arg& dims) {
  std::vector<int64_t> back;
  for (int64_t s : shifts.ints()) back.push_back(-s);
  return call("roll", {grad, back, dims});
}

Tensor tensor_split_backward(const std::vector<Tensor>& grads,
                             const std::vector<TensorMeta>& metas, const Shape& sizes,
                             const Arg& indices, const Arg& dim) {
  const int64_t n = Ndim(sizes);
  const int64_t d = WrapDim(dim.to_int(), n);
  int64_t total = 0;
  for (const TensorMeta& m : metas) total += m.sizes[d];
  if (total == sizes[d]) return pieces_backward(grads, metas, sizes, d, false);
  // Indices out of order give overlapping pieces: add each one back in place.
  Tensor acc;
  for (size_t i = 0; i < metas.size(); ++i) {
    int64_t start = 0;
    if (i > 0) {
      start = indices.ints()[i - 1];
      if (start < 0) start += sizes[d];
      start = std::clamp<int64_t>(start, 0, sizes[d]);
    }
    Tensor g = grads[i].defined()
                   ? grads[i]
                   : call("zeros", {metas[i].sizes, metas[i].dtype, metas[i].device});
    Tensor part = slice_backward(g, sizes, Arg(d), Arg(start), Arg(start + metas[i].sizes[d]),
                                 Arg(1));
    acc = acc.defined() ? call("add", {acc, part}) : part;
  }
  return acc;
}

Tensor scatter_backward(const Tensor& grad, const Arg& dim, const Arg& index, const Arg& reduce,
                        int which) {
  TD_CHECK(reduce.is_none(), kNotImplemented,
           "the derivative for 'scatter' with reduce is not implemented.");
  if (which == 0) return call("scatter", {grad, dim, index, 0.0});
  return call("gather", {grad, dim, index});
}

Tensor scatter_reduce_backward(const Tensor& grad, const Arg& self, const Arg& dim,
                               const Arg& index, const Arg& src, const Arg& reduce,
                               const Arg& include_self, const Tensor& result, int which) {
  const std::string& r = reduce.value.s;
  Tensor gs, gsrc;
  if (r == "sum") {
    gs = grad;
    if (which == 1) gsrc = call("gather", {grad, dim, index});
  } else if (r == "mean") {
    Tensor n = include_self.to_bool() ? ones_like(grad) : zeros_like(grad);
    n = call("scatter_add", {n, dim, index, ones_like(src.tensor)});
    n = call("masked_fill", {n, call("eq", {n, 0}), 1});
    gs = call("div", {grad, n});
    if (which == 1) gsrc = call("div", {call("gather", {grad, dim, index}),
                                        call("gather", {n, dim, index})});
  } else if (r == "amax" || r == "amin") {
    Tensor value = call("gather", {result, dim, index});
    Tensor self_is = call("to_dtype", {call("eq", {self, result}), grad.dtype()});
    Tensor src_is = call("to_dtype", {call("eq", {src, value}), grad.dtype()});
    Tensor count = call("scatter_add", {self_is, dim, index, src_is});
    Tensor spread = call("div", {grad, count});
    gs = call("mul", {self_is, spread});
    if (which == 1) gsrc = call("mul", {src_is, call("gather", {spread, dim, index})});
  } else {
    Fail(ErrorKind::kNotImplemented, "the derivative for 'scatter_reduce' with reduce='", r,
         "' is not implemented.");
  }
  if (which == 1) return gsrc;
  // Without include_self, self's values at scattered positions were dropped.
  if (!include_self.to_bool()) gs = call("scatter", {gs, dim, index, 0.0});
  return gs;
}

Tensor masked_select_backward(const Tensor& grad, const Shape& self_sizes, const Arg& mask) {
  Shape sizes = BroadcastShapes("masked_select", self_sizes, mask.sizes());
  return call("masked_scatter", {zeros_sized(grad, sizes), mask, grad});
}

Tensor masked_scatter_source_backward(const Tensor& grad, const Arg& mask,
                                      const Shape& source_sizes) {
  int64_t n = 1;
  for (int64_t s : source_sizes) n *= s;
  Tensor sel = call("masked_select", {grad, mask});
  const int64_t missing = n - sel.numel();
  if (missing > 0) {
    sel = call("cat", {std::vector<Tensor>{sel, zeros_sized(grad, Shape{missing})}, 0});
  }
  return call("reshape", {sel, source_sizes});
}

Tensor take_backward(const Tensor& grad, const Shape& self_sizes, const Arg& index) {
  int64_t n = 1;
  for (int64_t s : self_sizes) n *= s;
  Tensor idx = call("reshape", {index, std::vector<int64_t>{-1}});
  idx = call("where", {call("lt", {idx, 0}), call("add", {idx, n}), idx});
  Tensor flat = call("index_put", {zeros_sized(grad, Shape{n}), std::vector<Tensor>{idx},
                                   std::vector<int64_t>{0},
                                   call("reshape", {grad, std::vector<int64_t>{-1}}), true});
  return call("reshape", {flat, self_sizes});
}

namespace {

struct EinsumSpec {
  std::vector<std::string> inputs;
  std::string output;
};

EinsumSpec ParseEinsum(const std::string& eq, size_t num) {
  EinsumSpec spec;
  std::string s;
  for (char c : eq) {
    if (c != ' ') s += c;
  }
  const size_t arrow = s.find("->");
  std::string lhs = arrow == std::string::npos ? s : s.substr(0, arrow);
  size_t start = 0;
  while (true) {
    const size_t comma = lhs.find(',', start);
    spec.inputs.push_back(lhs.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  TD_CHECK(spec.inputs.size() == num, kRuntime, "[einsum] backward: equation has ",
           spec.inputs.size(), " operands for ", num, " tensors");
  if (arrow != std::string::npos) {
    spec.output = s.substr(arrow + 2);
  } else {
    // Implicit output: the letters used once, in alphabetical order.
    std::map<char, int> count;
    for (const auto& in : spec.inputs) for (char c : in) ++count[c];
    for (const auto& [c, k] : count) if (k == 1) spec.output += c;
  }
  return spec;
}

}  // namespace

std::vector<Tensor> einsum_backward(const Tensor& grad, const Arg& equation, const Arg& tensors) {
  const std::vector<Tensor>& ts = tensors.list;
  EinsumSpec spec = ParseEinsum(equation.value.s, ts.size());
  std::vector<Tensor> out;
  for (size_t i = 0; i < ts.size(); ++i) {
    const std::string& sub = spec.inputs[i];
    TD_CHECK(sub.find('.') == std::string::npos, kNotImplemented,
             "[einsum] the derivative of an equation with '...' is not implemented in tensord");
    for (size_t a = 0; a < sub.size(); ++a) {
      TD_CHECK(sub.find(sub[a], a + 1) == std::string::npos, kNotImplemented,
               "[einsum] the derivative of an equation with a repeated subscript in one operand ('",
               sub, "') is not implemented in tensord");
    }
    // d/d operand i = einsum(grad and the other operands -> the letters of i
    // that appear elsewhere), then expanded along the letters only i has.
    std::string lhs = spec.output;
    std::vector<Tensor> operands{grad};
    std::string present;
    for (size_t j = 0; j < ts.size(); ++j) {
      if (j == i) continue;
      lhs += "," + spec.inputs[j];
      operands.push_back(ts[j]);
    }
    for (char c : sub) {
      if (lhs.find(c) != std::string::npos) present += c;
    }
    Tensor g = operands.size() == 1 && lhs == present
                   ? grad
                   : call("einsum", {Value::Str(lhs + "->" + present), operands});
    // Unsqueeze the missing letters and expand along them (the engine sums
    // dims the operand broadcast).
    std::vector<int64_t> expand_to;
    for (size_t a = 0; a < sub.size(); ++a) {
      if (present.find(sub[a]) == std::string::npos) {
        g = call("unsqueeze", {g, static_cast<int64_t>(a)});
        expand_to.push_back(ts[i].sizes()[a]);
      } else {
        expand_to.push_back(-1);
      }
    }
    out.push_back(call("expand", {g, expand_to}));
  }
  return out;
}

Tensor as_strided_backward(const Tensor& grad, const TensorMeta& input, const Arg& size,
                           const Arg& stride, const Arg& storage_offset) {
  TensorMeta out = input;
  out.sizes = Shape(size.ints().begin(), size.ints().end());
  out.strides = Shape(stride.ints().begin(), stride.ints().end());
  if (!storage_offset.is_none()) out.offset = storage_offset.to_int();
  // Both geometries in one buffer that starts at the lower offset.
  const int64_t shift = std::min(input.offset, out.offset);
  TensorMeta in_rel = input, out_rel = out;
  in_rel.offset -= shift;
  out_rel.offset -= shift;
  const int64_t extent = std::max(StorageExtent(in_rel), StorageExtent(out_rel));
  const Device device = grad.meta.device;
  Tensor in_idx = LinearIndices(in_rel, 0, Device{});
  // How often the input reaches each storage element (it may overlap, as
  // an expanded tensor does).
  std::vector<int64_t> count(static_cast<size_t>(extent), 0);
  bool input_overlaps = false;
  const int64_t* in = in_idx.data<int64_t>();
  for (int64_t k = 0; k < in_idx.numel(); ++k) input_overlaps |= ++count[in[k]] > 1;
  if (!device.is_cpu()) in_idx = call("to_device", {in_idx, device});

  Tensor storage = zeros_sized(grad, Shape{extent});
  // index_add, not a strided copy: elements of the result may share storage.
  storage = call("index_add", {storage, 0, LinearIndices(out_rel, 0, device),
                               call("reshape", {grad, std::vector<int64_t>{-1}})});
  if (input_overlaps) {
    // Each input element gets its share of the gradient at its location.
    Tensor divisor = Tensor::Empty(TensorMeta::Contiguous(DType::kFloat64, Device{}, Shape{extent}),
                                   CurrentExecContext().tracker);
    double* d = divisor.data<double>();
    for (int64_t k = 0; k < extent; ++k) d[k] = count[k] > 0 ? static_cast<double>(count[k]) : 1.0;
    divisor = call("to_dtype", {divisor, grad.dtype()});
    if (!device.is_cpu()) divisor = call("to_device", {divisor, device});
    storage = call("div", {storage, divisor});
  }
  return call("reshape", {call("index_select", {storage, 0, in_idx}), input.sizes});
}

}  // namespace tensord::autograd
