// The daemon with its CUDA backend, driven through the C++ client: CUDA
// tensors are created, computed on and fetched, and compared with the same
// work on the CPU. Skips with the daemon's reason where there is no GPU;
// TENSORD_REQUIRE_GPU=1 turns that into a failure (the GPU machine's script
// sets it).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>

#include "../cpp/daemon_fixture.h"
#include "tensord/tensor.h"

namespace tensord::testing {
namespace {

const Device kCuda{Device::Kind::kCUDA, 0};

class DaemonGpuTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { daemon_ = new Daemon(); }
  static void TearDownTestSuite() { delete daemon_; }
  void SetUp() override {
    session_ = std::make_unique<Session>(Session::Connect(daemon_->address()));
    bool has_gpu = false;
    for (const auto& d : session_->info().devices) has_gpu |= d == "cuda:0";
    if (!has_gpu) {
      const char* req = std::getenv("TENSORD_REQUIRE_GPU");
      if (req && std::string(req) == "1") FAIL() << "no cuda:0 on the daemon:\n" << daemon_->log();
      GTEST_SKIP() << "the daemon has no GPU (see its log: 'no GPU: serving CPU only')";
    }
  }
  static Daemon* daemon_;
  std::unique_ptr<Session> session_;
};
Daemon* DaemonGpuTest::daemon_ = nullptr;

std::vector<float> Iota(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(static_cast<float>(i)) * scale;
  return v;
}

TEST_F(DaemonGpuTest, FactoriesAndCopiesRoundTrip) {
  Session& s = *session_;
  auto ones = s.Call1("ones", {std::vector<int64_t>{3, 5}, DType::kFloat32, kCuda});
  EXPECT_EQ(ones.to_vector<float>(), std::vector<float>(15, 1.0f));
  auto full = s.Call1("full", {std::vector<int64_t>{4}, 2.5, Arg::None(), kCuda});
  auto host = s.Call1("to_device", {full, Device{}});
  EXPECT_EQ(host.to_vector<float>(), std::vector<float>(4, 2.5f));
  auto ints = s.Call1("zeros", {std::vector<int64_t>{6}, DType::kInt64, kCuda});
  EXPECT_EQ(ints.to_vector<int64_t>(), std::vector<int64_t>(6, 0));
  auto up = s.Call1("to_device", {s.FromVector<float>(Iota(1000, 3), {10, 100}), kCuda});
  EXPECT_EQ(up.to_vector<float>(), Iota(1000, 3));
}

TEST_F(DaemonGpuTest, ElementwiseAndMatmulMatchTheCpu) {
  Session& s = *session_;
  auto a_cpu = s.FromVector<float>(Iota(256 * 128, 1), {256, 128});
  auto b_cpu = s.FromVector<float>(Iota(128 * 64, 0.5), {128, 64});
  auto a = s.Call1("to_device", {a_cpu, kCuda});
  auto b = s.Call1("to_device", {b_cpu, kCuda});
  auto want = ((a_cpu * 2.0 + 1.0) / 3.0).matmul(b_cpu).to_vector<float>();
  auto got = ((a * 2.0 + 1.0) / 3.0).matmul(b).to_vector<float>();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-3 + 1e-4 * std::fabs(want[i])) << i;
  auto e = s.Call1("exp", {a * 0.1}).to_vector<float>();
  auto ec = s.Call1("exp", {a_cpu * 0.1}).to_vector<float>();
  for (size_t i = 0; i < e.size(); i += 97) EXPECT_NEAR(e[i], ec[i], 1e-5 * ec[i]);
}

TEST_F(DaemonGpuTest, EveryScaffoldOpMatchesTheCpu) {
  Session& s = *session_;
  auto x_cpu = s.FromVector<float>(Iota(4096, 2), {64, 64});
  auto pos_cpu = s.Call1("abs", {x_cpu}) + 0.5;
  auto x = s.Call1("to_device", {x_cpu, kCuda});
  auto pos = s.Call1("to_device", {pos_cpu, kCuda});
  for (const char* op : {"neg", "exp", "log", "relu", "sigmoid", "tanh", "sqrt", "abs"}) {
    const bool positive = std::string(op) == "log" || std::string(op) == "sqrt";
    auto want = s.Call1(op, {positive ? pos_cpu : x_cpu}).to_vector<float>();
    auto got = s.Call1(op, {positive ? pos : x}).to_vector<float>();
    for (size_t i = 0; i < want.size(); i += 13) {
      EXPECT_NEAR(got[i], want[i], 1e-5 + 1e-5 * std::fabs(want[i])) << op << " " << i;
    }
  }
  for (const char* op : {"maximum", "minimum", "sub"}) {
    auto want = s.Call1(op, {x_cpu, pos_cpu}).to_vector<float>();
    auto got = s.Call1(op, {x, pos}).to_vector<float>();
    EXPECT_EQ(got, want) << op;
  }
}

TEST_F(DaemonGpuTest, UnsupportedCudaWorkFailsClearlyAndTheSessionGoesOn) {
  Session& s = *session_;
  auto a = s.Call1("ones", {std::vector<int64_t>{4, 4}, DType::kFloat64, kCuda});
  auto bad = a * 2.0;  // float64 elementwise: not in the scaffold
  try {
    bad.to_vector<double>();
    FAIL() << "expected NotImplementedError";
  } catch (const client::RemoteError& e) {
    EXPECT_EQ(e.exception(), "NotImplementedError") << e.what();
    EXPECT_NE(std::string(e.what()).find("[mul]"), std::string::npos) << e.what();
  }
  auto ok = s.Call1("ones", {std::vector<int64_t>{2}, DType::kFloat32, kCuda}) + 1.0;
  EXPECT_EQ(ok.to_vector<float>(), (std::vector<float>{2, 2}));
}

// Not an assertion of speed: prints the figures for the device script's table.
TEST_F(DaemonGpuTest, ReportMatmulThroughput) {
  Session& s = *session_;
  const int64_t n = 4096;
  auto a = s.Call1("ones", {std::vector<int64_t>{n, n}, DType::kFloat32, kCuda}) * (1.0 / n);
  auto c = a.matmul(a);
  s.Synchronize();
  const int reps = 50;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) c = c.matmul(a);
  s.Synchronize();  // waits for the GPU too
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  float v = c.to_vector<float>()[0];
  EXPECT_NEAR(v, 1.0f / n, 1e-6);
  std::printf("TENSORD_GPU_MATMUL n=%ld reps=%d seconds=%.4f tflops=%.2f\n", static_cast<long>(n), reps,
              secs, 2.0 * n * n * n * reps / secs / 1e12);
}

}  // namespace
}  // namespace tensord::testing
