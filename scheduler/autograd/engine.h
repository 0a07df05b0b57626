// The backward pass: runs the graph's nodes from the roots in dependency
// order (later nodes first among the ready ones, as PyTorch does), summing
// the gradients that meet at each node input.
#ifndef TENSORD_SCHEDULER_AUTOGRAD_ENGINE_H_
#define TENSORD_SCHEDULER_AUTOGRAD_ENGINE_H_

#include <vector>

#include "scheduler/autograd/variable.h"

namespace tensord::autograd {

struct BackwardRequest {
  std::vector<Tensor> roots;
  std::vector<Tensor> root_grads;  // empty: ones for scalar roots
  bool keep_graph = false;
  bool create_graph = false;
  // backward(inputs=...) / autograd.grad(inputs): only these get gradients.
  std::vector<Tensor> inputs;
  // autograd.grad: return the inputs' gradients instead of accumulating.
  bool capture = false;
  bool allow_unused = false;
  // Anomaly mode (torch.autograd.detect_anomaly): a node returning NaN raises.
  bool check_nan = false;
  std::string op = "backward";  // for messages
};

// Runs backward. With `capture`, returns one gradient per input (undefined
// for unused ones when allowed); otherwise accumulates into leaves' .grad.
std::vector<Tensor> RunBackward(const BackwardRequest& req);

}  // namespace tensord::autograd

#endif  // TENSORD_SCHEDULER_AUTOGRAD_ENGINE_H_
