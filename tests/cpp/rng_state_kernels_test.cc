// _get_rng_state / _set_rng_state run directly on the CPU kernels: a saved
// state replays the draws after it (also from a strided copy of its bytes),
// and a state the daemon did not write is refused without touching the
// generator.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernel_test_base.h"
#include "kernels/core/error.h"
#include "kernels/meta/rng_state.h"

namespace tensord {
namespace {

class RngStateKernelsTest : public testing::KernelTestBase {
 protected:
  std::vector<float> Draw() {
    Tensor t = Run("rand", {Value::Ints({6}), Value::None(), Value::None()}, {});
    return Values<float>(t);
  }

  Tensor State() { return Run("_get_rng_state", {}, {}); }

  void SetState(Tensor state) { RunAll("_set_rng_state", {Value::Tensor(0)}, {state}); }

  // The message of the OpError that setting `state` raises ("" if none).
  std::string SetStateError(Tensor state) {
    try {
      SetState(state);
    } catch (const OpError& e) {
      return e.what();
    }
    return "";
  }

  static std::vector<uint64_t> Words(const Tensor& state) {
    std::vector<uint64_t> w(kRngStateWords);
    std::memcpy(w.data(), state.data<uint8_t>(), kRngStateBytes);
    return w;
  }
};

TEST_F(RngStateKernelsTest, ASavedStateReplaysTheDrawsAfterIt) {
  generator_.Seed(7);
  Draw();
  Tensor saved = State();
  ASSERT_EQ(saved.dtype(), DType::kUInt8);
  ASSERT_EQ(saved.numel(), kRngStateBytes);
  EXPECT_EQ(Words(saved)[0], kRngStateTag);
  EXPECT_EQ(Words(saved)[1], 7u);
  std::vector<float> next = Draw();
  generator_.Seed(99);
  Draw();
  SetState(saved);
  EXPECT_EQ(Draw(), next);
  EXPECT_EQ(generator_.initial_seed, 7u);
}

TEST_F(RngStateKernelsTest, AStridedCopyOfTheBytesIsReadAsTheState) {
  generator_.Seed(3);
  Tensor saved = State();
  std::vector<float> next = Draw();
  // The bytes at every other element of a buffer twice the size.
  Tensor wide = Tensor::Empty(TensorMeta::Contiguous(DType::kUInt8, {}, {2 * kRngStateBytes}));
  for (int64_t i = 0; i < kRngStateBytes; ++i) {
    wide.data<uint8_t>()[2 * i] = saved.data<uint8_t>()[i];
    wide.data<uint8_t>()[2 * i + 1] = 0xAB;
  }
  SetState(Stepped(wide));
  EXPECT_EQ(Draw(), next);
}

TEST_F(RngStateKernelsTest, StatesItDidNotWriteAreRefusedAndTheGeneratorIsKept) {
  generator_.Seed(11);
  Tensor good = State();
  std::vector<float> expected = Draw();
  SetState(good);

  Tensor zeros = Tensor::Empty(TensorMeta::Contiguous(DType::kUInt8, {}, {kRngStateBytes}));
  std::memset(zeros.data<uint8_t>(), 0, kRngStateBytes);
  EXPECT_NE(SetStateError(zeros).find("[set_rng_state] the state was not made by"),
            std::string::npos);

  Tensor bad_position = State();
  std::memset(bad_position.data<uint8_t>() + kRngStateBytes - 8, 0xFF, 8);
  EXPECT_NE(SetStateError(bad_position).find("invalid generator position"), std::string::npos);

  Tensor short_state = Make<uint8_t>({1, 2, 3}, {3});
  EXPECT_NE(SetStateError(short_state).find("found the input RNG state size to be 3"),
            std::string::npos);
  Tensor floats = Tensor::Empty(TensorMeta::Contiguous(DType::kFloat32, {}, {kRngStateBytes}));
  EXPECT_NE(SetStateError(floats).find("expected a CPU torch.uint8 tensor"), std::string::npos);

  EXPECT_EQ(Draw(), expected);
  EXPECT_EQ(generator_.initial_seed, 11u);
}

}  // namespace
}  // namespace tensord
