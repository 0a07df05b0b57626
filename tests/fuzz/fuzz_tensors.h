// The tensors a fuzzed session "has": ids 1..kFuzzTensorCount with fixed
// metadata (contiguous CPU storages of every common rank and dtype), shared
// by the fuzzer and the seed generator.
#ifndef TENSORD_TESTS_FUZZ_FUZZ_TENSORS_H_
#define TENSORD_TESTS_FUZZ_FUZZ_TENSORS_H_

#include <vector>

#include "kernels/core/tensor_meta.h"

namespace tensord::fuzz {

inline const std::vector<TensorMeta>& FuzzTensors() {
  static const std::vector<TensorMeta> tensors = {
      TensorMeta::Contiguous(DType::kFloat32, Device{}, {2, 3}),        // 1
      TensorMeta::Contiguous(DType::kInt64, Device{}, {6}),             // 2
      TensorMeta::Contiguous(DType::kFloat32, Device{}, {}),            // 3
      TensorMeta::Contiguous(DType::kBool, Device{}, {2, 3}),           // 4
      TensorMeta::Contiguous(DType::kFloat64, Device{}, {3, 3}),        // 5
      TensorMeta::Contiguous(DType::kFloat32, Device{}, {2, 3, 4, 5}),  // 6
      TensorMeta::Contiguous(DType::kInt64, Device{}, {2}),             // 7
      TensorMeta::Contiguous(DType::kFloat32, Device{}, {1, 1, 4, 4}),  // 8
      TensorMeta::Contiguous(DType::kFloat16, Device{}, {0, 3}),        // 9
  };
  return tensors;
}

}  // namespace tensord::fuzz

#endif  // TENSORD_TESTS_FUZZ_FUZZ_TENSORS_H_
