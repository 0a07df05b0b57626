// Derivative helpers of pointwise activations, reductions and scans. Each is
// built from call() so that its own gradient exists (double backward).
#include <cmath>

#include "kernels/core/error.h"
#include "scheduler/autograd/exec.h"
#include "scheduler/autograd/formula_api.h"
#include "scheduler/autograd/variable.h"

namespace tensord::autograd {
namespace {

int64_t Ndim(const Shape& s) { return static_cast<int64_t>(s.size()); }

// grad of a reduction over `dims`, unsqueezed back (not expanded).
Tensor Restore(const Tensor& grad, const Shape& sizes, const std::vector<int64_t>& dims,
               bool keepdim) {
  return unsqueeze_dims(grad, dims, Ndim(sizes), keepdim);
}

Tensor Where(const Tensor& cond, const Arg& a, const Arg& b) { return call("where", {cond, a, b}); }

// Divisor N - correction of var/std over `dims`.
double VarDivisor(const Shape& sizes, const std::vector<int64_t>& dims, const Arg& unbiased,
                  const Arg& correction) {
  int64_t corr = 1;
  if (!correction.is_none()) {
    corr = correction.to_int();
  } else if (!unbiased.is_none() && !unbiased.to_bool()) {
    corr = 0;
  }
  return static_cast<double>(count_over(sizes, dims) - corr);
}

}  // namespace

Tensor expand_reduced(const Tensor& grad, const Shape& sizes, const Arg& dim, bool keepdim) {
  return call("expand", {Restore(grad, sizes, reduced_dims(dim, Ndim(sizes)), keepdim), sizes});
}

Tensor logit_backward(const Tensor& grad, const Arg& self, const Arg& eps) {
  Tensor d = call("div", {grad, call("mul", {self, call("sub", {1, self})})});
  if (eps.is_none()) {
    // Outside [0, 1] logit is NaN, and so is its gradient.
    Tensor out = call("logical_or", {call("lt", {self, 0}), call("gt", {self, 1})});
    return Where(out, NAN, d);
  }
  const double e = eps.to_double();
  Tensor out = call("logical_or", {call("lt", {self, e}), call("gt", {self, 1.0 - e})});
  return Where(out, 0.0, d);
}

Tensor gelu_grad(const Tensor& grad, const Arg& self, const Arg& approximate) {
  const Tensor& x = self.tensor;
  if (approximate.value.s == "tanh") {
    const double beta = std::sqrt(2.0 / M_PI), kappa = 0.044715;
    Tensor x_sq = call("mul", {x, x});
    Tensor inner = call("mul", {call("add", {x, call("mul", {call("mul", {x_sq, x}), kappa})}), beta});
    Tensor t = call("tanh", {inner});
    Tensor left = call("mul", {call("add", {t, 1}), 0.5});
    Tensor dt = call("sub", {1, call("mul", {t, t})});
    Tensor dinner = call("mul", {call("add", {call("mul", {x_sq, 3 * kappa}), 1}), beta});
    Tensor right = call("mul", {call("mul", {call("mul", {x, 0.5}), dt}), dinner});
    return call("mul", {grad, call("add", {left, right})});
  }
  Tensor cdf = call("mul", {call("add", {call("erf", {call("mul", {x, M_SQRT1_2})}), 1}), 0.5});
  Tensor pdf = call("mul", {call("exp", {call("mul", {call("mul", {x, x}), -0.5})}),
                            0.5 * M_2_SQRTPI * M_SQRT1_2});
  return call("mul", {grad, call("add", {cdf, call("mul", {x, pdf})})});
}

Tensor softplus_grad(const Tensor& grad, const Arg& self, const Arg& beta, const Arg& threshold) {
  Tensor z = call("mul", {self, beta});
  return Where(call("gt", {z, threshold}), grad, call("mul", {grad, call("sigmoid", {z})}));
}

Tensor clamp_backward(const Tensor& grad, const Arg& self, const Arg& min, const Arg& max,
                      int which) {
  const bool has_min = !min.is_none(), has_max = !max.is_none();
  if (which == 0) {
    Tensor mask;
    if (has_min) mask = call("ge", {self, min});
    if (has_max) {
      Tensor le = call("le", {self, max});
      mask = mask.defined() ? call("logical_and", {mask, le}) : le;
    }
    return mask.defined() ? Where(mask, grad, 0.0) : grad;
  }
  // A tensor bound gets the gradient where it is the value clamp returned.
  Tensor mask;
  if (which == 1) {
    mask = call("lt", {self, min});
    if (has_max) mask = call("logical_and", {mask, call("lt", {min, max})});
  } else {
    mask = call("gt", {self, max});
    if (has_min) mask = call("logical_or", {mask, call("lt", {max, min})});
  }
  return Where(mask, grad, 0.0);
}

Tensor evenly_distribute_backward(const Tensor& grad, const Arg& self, const Tensor& result) {
  Tensor both_nan = call("logical_and", {call("isnan", {self}), call("isnan", {result})});
  Tensor mask = call("logical_or", {call("eq", {self, result}), both_nan});
  return call("mul", {mask, call("div", {grad, call("sum", {mask})})});
}

Tensor amax_backward(const Tensor& grad, const Arg& self, const Tensor& result, const Arg& dim,
                     bool keepdim) {
  const Shape& sizes = self.sizes();
  const std::vector<int64_t> dims = reduced_dims(dim, Ndim(sizes));
  Tensor mask = call("eq", {self, Restore(result, sizes, dims, keepdim)});
  Tensor count = call("sum", {mask, dims, true});
  return call("mul", {mask, call("div", {Restore(grad, sizes, dims, keepdim), count})});
}

Tensor select_values_backward(const Tensor& grad, const Tensor& indices, const Shape& sizes,
                              const Arg& dim, bool keepdim) {
  if (sizes.empty()) return call("reshape", {grad, sizes});
  const int64_t d = WrapDim(dim.to_int(), Ndim(sizes));
  Tensor g = keepdim ? grad : call("unsqueeze", {grad, d});
  Tensor i = keepdim ? indices : call("unsqueeze", {indices, d});
  return call("scatter", {zeros_sized(grad, sizes), d, i, g});
}

namespace {
// grad * (product of the other elements along d), without dividing (zeros).
Tensor ProdAlong(const Tensor& grad, const Tensor& x, int64_t d) {
  const int64_t n = x.sizes()[d];
  if (n == 0) return zeros_like(x);
  Shape one = x.sizes();
  one[d] = 1;
  Tensor ones = call("ones", {one, x.dtype(), x.meta.device});
  auto exclusive = [&](const Tensor& t) {
    Tensor shifted = call("cat", {std::vector<Tensor>{ones, call("narrow", {t, d, 0, n - 1})}, d});
    return call("cumprod", {shifted, d});
  };
  std::vector<int64_t> flip_d{d};
  Tensor left = exclusive(x);
  Tensor right = call("flip", {exclusive(call("flip", {x, flip_d})), flip_d});
  return call("mul", {grad, call("mul", {left, right})});
}
}  // namespace

Tensor prod_backward(const Tensor& grad, const Arg& self, const Arg& dim, bool keepdim) {
  const Tensor& x = self.tensor;
  if (x.dim() == 0) return grad;
  if (dim.is_none()) {
    Tensor flat = call("reshape", {x, std::vector<int64_t>{-1}});
    Tensor g = call("expand", {call("reshape", {grad, std::vector<int64_t>{1}}), flat.sizes()});
    return call("reshape", {ProdAlong(g, flat, 0), x.sizes()});
  }
  const int64_t d = WrapDim(dim.to_int(), x.dim());
  return ProdAlong(expand_reduced(grad, x.sizes(), dim, keepdim), x, d);
}

Tensor var_backward(const Tensor& grad, const Arg& self, const Arg& dim, const Arg& unbiased,
                    bool keepdim, const Arg& correction) {
  const Shape& sizes = self.sizes();
  const std::vector<int64_t> dims = reduced_dims(dim, Ndim(sizes));
  const double n = VarDivisor(sizes, dims, unbiased, correction);
  Tensor centered = call("sub", {self, call("mean", {self, dims, true})});
  return call("mul", {Restore(grad, sizes, dims, keepdim), call("mul", {centered, 2.0 / n})});
}

Tensor std_backward(const Tensor& grad, const Arg& self, const Tensor& result, const Arg& dim,
                    const Arg& unbiased, bool keepdim, const Arg& correction) {
  Tensor g = Where(call("eq", {result, 0}), 0.0, call("div", {grad, call("mul", {result, 2})}));
  return var_backward(g, self, dim, unbiased, keepdim, correction);
}

Tensor var_mean_backward(const std::vector<Tensor>& grads, const Arg& self, const Tensor& result0,
                         const Arg& dim, const Arg& unbiased, bool keepdim, const Arg& correction,
                         bool is_std) {
  const Shape& sizes = self.sizes();
  Tensor g = is_std ? std_backward(grads[0], self, result0, dim, unbiased, keepdim, correction)
                    : var_backward(grads[0], self, dim, unbiased, keepdim, correction);
  const int64_t n = count_over(sizes, reduced_dims(dim, Ndim(sizes)));
  Tensor gm = call("div", {expand_reduced(grads[1], sizes, dim, keepdim), n});
  return call("add", {g, gm});
}

Tensor norm_backward(const Tensor& grad, const Arg& self, const Arg& p, const Tensor& result,
                     const Arg& dim, bool keepdim) {
  const Shape& sizes = self.sizes();
  const std::vector<int64_t> dims = reduced_dims(dim, Ndim(sizes));
  const double pv = p.is_none() ? 2.0 : p.to_double();
  Tensor g = Restore(grad, sizes, dims, keepdim);
  Tensor r = Restore(result, sizes, dims, keepdim);
  if (pv == 0.0) return zeros_sized(grad, sizes);
  if (pv == 1.0) return call("mul", {call("sign", {self}), g});
  if (std::isinf(pv)) {
    Tensor mask = call("eq", {call("abs", {self}), r});
    Tensor count = call("sum", {mask, dims, true});
    return call("mul", {call("mul", {call("sign", {self}), call("div", {g, count})}), mask});
  }
  if (pv == 2.0) {
    return call("mul", {self, Where(call("eq", {r, 0}), 0.0, call("div", {g, r}))});
  }
  Tensor abs = call("abs", {self});
  if (pv < 1.0) {
    Tensor scaled = Where(call("eq", {self, 0}), 0.0,
                          call("mul", {call("sign", {self}), call("pow", {abs, pv - 1.0})}));
    return call("mul", {call("mul", {scaled, g}), call("pow", {r, 1.0 - pv})});
  }
  Tensor scaled = pv < 2.0 ? call("mul", {call("sign", {self}), call("pow", {abs, pv - 1.0})})
                           : call("mul", {self, call("pow", {abs, pv - 2.0})});
  Tensor sv = Where(call("eq", {r, 0}), 0.0, call("div", {g, call("pow", {r, pv - 1.0})}));
  return call("mul", {scaled, sv});
}

Tensor logsumexp_backward(const Tensor& grad, const Arg& self, const Tensor& result,
                          const Arg& dim, bool keepdim) {
  const Shape& sizes = self.sizes();
  const std::vector<int64_t> dims = reduced_dims(dim, Ndim(sizes));
  Tensor e = call("exp", {call("sub", {self, Restore(result, sizes, dims, keepdim)})});
  return call("mul", {Restore(grad, sizes, dims, keepdim), e});
}

Tensor cumsum_backward(const Tensor& grad, const Arg& dim) {
  if (grad.dim() == 0) return grad;
  const std::vector<int64_t> d{WrapDim(dim.to_int(), grad.dim())};
  return call("flip", {call("cumsum", {call("flip", {grad, d}), d[0]}), d});
}

namespace {
// sum_{k>=i} g_k prod_{j<=k, j!=i} x_j with every i's products built
// ([..., n, n] along d): O(n^2), but smooth everywhere, zeros included, so
// that double backward is right there too (torch does the same).
Tensor CumprodBackwardSmooth(const Tensor& grad, const Tensor& x, int64_t d) {
  const int64_t n = x.sizes()[d];
  const std::vector<int64_t> from{d}, to{-1};
  Tensor xm = call("movedim", {x, from, to});
  Tensor gm = call("movedim", {grad, from, to});
  Tensor eye = call("eye", {n, n, DType::kBool, x.meta.device});
  // xs[..., i, j] = x_j, with x_i replaced by 1.
  Tensor xs = Where(eye, 1.0, call("unsqueeze", {xm, -2}));
  Tensor ys = call("cumprod", {xs, -1});
  Tensor k_ge_i = call("triu", {call("ones", {Shape{n, n}, DType::kBool, x.meta.device})});
  Tensor terms = call("mul", {call("mul", {ys, call("unsqueeze", {gm, -2})}), k_ge_i});
  Tensor r = call("sum", {terms, std::vector<int64_t>{-1}, false});
  return call("movedim", {r, to, from});
}
}  // namespace

Tensor cumprod_backward(const Tensor& grad, const Arg& self, const Tensor& result, const Arg& dim) {
  const Tensor& x = self.tensor;
  if (x.dim() == 0) return grad;
  if (x.numel() == 0) return zeros_like(x);
  const int64_t d = WrapDim(dim.to_int(), x.dim());
  if (CurrentExecContext().grad_enabled && (RequiresGrad(grad) || RequiresGrad(x))) {
    return CumprodBackwardSmooth(grad, x, d);
  }
  // Before the first zero along d: the classic sum_{k>=i} g_k y_k / x_i.
  // At the first zero z: sum_{k>=z} g_k y'_k with y' the cumprod of x with
  // x_z replaced by 1. After it: 0 (each product has x_z in it).
  Tensor zeros_seen = call("cumsum", {call("eq", {x, 0}), d});
  Tensor before = call("eq", {zeros_seen, 0});
  Tensor first = call("logical_and", {call("eq", {x, 0}), call("eq", {zeros_seen, 1})});
  Tensor x_safe = Where(before, x, 1.0);
  Tensor part1 = call("div", {cumsum_backward(call("mul", {grad, result}), d), x_safe});
  Tensor y_prime = call("cumprod", {Where(first, 1.0, x), d});
  Tensor at_or_after = call("logical_not", {before});
  Tensor s = call("sum", {call("mul", {call("mul", {grad, y_prime}), at_or_after}),
                          std::vector<int64_t>{d}, true});
  return Where(before, part1, Where(first, s, 0.0));
}

}  // namespace tensord::autograd
