// Tests of the CUDA backend (kernels/cuda) through its C ABI, loaded with
// dlopen() as the daemon loads it. The test binary does not link CUDA.
//
// Without a GPU (or driver) the loading tests still run, check that
// device_count() returns 0 with a reason and that calls fail cleanly, and the
// device tests are skipped with that reason. Set TENSORD_REQUIRE_GPU=1 to
// make a missing GPU a failure instead (tests/gpu/device_check.sh does).
// TENSORD_CUDA_LIB=<path> picks the library (see tests/gpu/backend_loader.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/gpu/backend_loader.h"

namespace {

const TensordCudaBackend* Api() { return tensord_test::LoadBackend().api; }

struct DeviceCountResult {
  int count = 0;
  std::string why;
};

const DeviceCountResult& Devices() {
  static const DeviceCountResult r = [] {
    DeviceCountResult d;
    char why[512] = {0};
    d.count = Api()->device_count(why, sizeof(why));
    d.why = why;
    return d;
  }();
  return r;
}

bool RequireGpu() {
  const char* v = std::getenv("TENSORD_REQUIRE_GPU");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

std::string LastError() { return Api()->last_error(); }

// ---- loading and the no-GPU contract ---------------------------------------

TEST(CudaBackendLoad, ResolvesSymbolAndAbiVersion) {
  const auto& loaded = tensord_test::LoadBackend();
  ASSERT_NE(loaded.api, nullptr) << loaded.error;
  std::printf("backend: %s\n", loaded.path.c_str());
  const TensordCudaBackend* api = loaded.api;
  EXPECT_EQ(api->abi_version, TENSORD_CUDA_ABI_VERSION);
  EXPECT_NE(api->device_count, nullptr);
  EXPECT_NE(api->device_info, nullptr);
  EXPECT_NE(api->alloc, nullptr);
  EXPECT_NE(api->free, nullptr);
  EXPECT_NE(api->empty_cache, nullptr);
  EXPECT_NE(api->allocator_stats, nullptr);
  EXPECT_NE(api->copy_to_device, nullptr);
  EXPECT_NE(api->copy_to_host, nullptr);
  EXPECT_NE(api->copy_device_to_device, nullptr);
  EXPECT_NE(api->fill_f32, nullptr);
  EXPECT_NE(api->synchronize, nullptr);
  EXPECT_NE(api->binary_f32, nullptr);
  EXPECT_NE(api->unary_f32, nullptr);
  EXPECT_NE(api->matmul_f32, nullptr);
  EXPECT_NE(api->last_error, nullptr);
}

TEST(CudaBackendLoad, DeviceCountGivesAReasonWhenZero) {
  ASSERT_NE(Api(), nullptr) << tensord_test::LoadBackend().error;
  const DeviceCountResult& d = Devices();
  EXPECT_GE(d.count, 0);
  if (d.count == 0) {
    std::printf("device_count() = 0: %s\n", d.why.c_str());
    EXPECT_FALSE(d.why.empty());
    EXPECT_NE(d.why.find("no CUDA device"), std::string::npos) << d.why;
    EXPECT_FALSE(RequireGpu()) << "TENSORD_REQUIRE_GPU=1 but: " << d.why;
  } else {
    std::printf("device_count() = %d\n", d.count);
    EXPECT_EQ(d.why, "");
  }
  // A short buffer is truncated and terminated; no buffer is fine too.
  char small[8];
  std::memset(small, 'x', sizeof(small));
  EXPECT_EQ(Api()->device_count(small, sizeof(small)), d.count);
  EXPECT_LT(std::strlen(small), sizeof(small));
  EXPECT_EQ(Api()->device_count(nullptr, 0), d.count);
}

TEST(CudaBackendLoad, CallsOnAMissingDeviceFailCleanly) {
  ASSERT_NE(Api(), nullptr) << tensord_test::LoadBackend().error;
  const TensordCudaBackend* api = Api();
  const int n = Devices().count;
  for (int dev : {-1, n}) {
    SCOPED_TRACE("device " + std::to_string(dev));
    EXPECT_EQ(api->alloc(dev, 64), nullptr);
    EXPECT_FALSE(LastError().empty());
    if (n == 0) {
      EXPECT_NE(LastError().find("no CUDA device"), std::string::npos)
          << LastError();
    }
    TensordCudaDeviceInfo info;
    EXPECT_NE(api->device_info(dev, &info), 0);
    TensordCudaAllocatorStats stats;
    EXPECT_NE(api->allocator_stats(dev, &stats), 0);
    EXPECT_NE(api->empty_cache(dev), 0);
    EXPECT_NE(api->synchronize(dev), 0);
    float host[4] = {0};
    EXPECT_NE(api->copy_to_host(dev, host, host, sizeof(host)), 0);
    EXPECT_NE(api->fill_f32(dev, host, 1.0f, 4), 0);
    EXPECT_NE(api->binary_f32(dev, TENSORD_CUDA_ADD, host, host, host, 4), 0);
    EXPECT_NE(api->unary_f32(dev, TENSORD_CUDA_NEG, host, host, 4), 0);
    EXPECT_NE(api->matmul_f32(dev, 2, 2, 2, host, host, host), 0);
    EXPECT_FALSE(LastError().empty());
    api->free(dev, nullptr);  // a no-op, never a crash
  }
}

TEST(CudaBackendLoad, LastErrorIsPerThread) {
  ASSERT_NE(Api(), nullptr) << tensord_test::LoadBackend().error;
  EXPECT_EQ(Api()->alloc(-1, 16), nullptr);
  const std::string mine = LastError();
  EXPECT_FALSE(mine.empty());
  std::string other = "unset";
  std::thread([&] { other = LastError(); }).join();
  EXPECT_EQ(other, "");
  EXPECT_EQ(LastError(), mine);
}

// ---- device tests ------------------------------------------------------------

class CudaBackendGpu : public ::testing::Test {
 protected:
  static constexpr int kDev = 0;

  void SetUp() override {
    api_ = Api();
    ASSERT_NE(api_, nullptr) << tensord_test::LoadBackend().error;
    if (Devices().count == 0) {
      if (RequireGpu()) {
        FAIL() << "TENSORD_REQUIRE_GPU=1 but " << Devices().why;
      }
      GTEST_SKIP() << "no GPU on this machine, device test skipped ("
                   << Devices().why << ")";
    }
  }

  void TearDown() override {
    for (void* p : owned_) api_->free(kDev, p);
    owned_.clear();
  }

  float* Alloc(int64_t n) {
    void* p = api_->alloc(kDev, sizeof(float) * static_cast<size_t>(n));
    EXPECT_NE(p, nullptr) << LastError();
    if (p != nullptr) owned_.push_back(p);
    return static_cast<float*>(p);
  }

  float* Upload(const std::vector<float>& v) {
    float* d = Alloc(static_cast<int64_t>(v.size()));
    if (d == nullptr) return nullptr;
    EXPECT_EQ(api_->copy_to_device(kDev, d, v.data(), v.size() * sizeof(float)), 0)
        << LastError();
    return d;
  }

  std::vector<float> Download(const float* d, int64_t n) {
    std::vector<float> v(static_cast<size_t>(n), std::nanf(""));
    EXPECT_EQ(api_->copy_to_host(kDev, v.data(), d, v.size() * sizeof(float)), 0)
        << LastError();
    return v;
  }

  static std::vector<float> Random(int64_t n, float lo, float hi,
                                   uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = dist(rng);
    return v;
  }

  // Counts elements that differ by more than atol + rtol * |want|, and
  // reports the first few.
  static void ExpectNear(const std::vector<float>& got,
                         const std::vector<float>& want, double rtol,
                         double atol, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    size_t bad = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double tol = atol + rtol * std::fabs(want[i]);
      if (!(std::fabs(double{got[i]} - double{want[i]}) <= tol)) {
        if (++bad <= 3) {
          ADD_FAILURE() << what << ": element " << i << " got " << got[i]
                        << " want " << want[i];
        }
      }
    }
    EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << got.size()
                       << " elements off";
  }

  TensordCudaAllocatorStats Stats() {
    TensordCudaAllocatorStats s{};
    EXPECT_EQ(api_->allocator_stats(kDev, &s), 0) << LastError();
    return s;
  }

  const TensordCudaBackend* api_ = nullptr;
  std::vector<void*> owned_;
};

TEST_F(CudaBackendGpu, DeviceInfo) {
  TensordCudaDeviceInfo info;
  ASSERT_EQ(api_->device_info(kDev, &info), 0) << LastError();
  std::printf("device 0: %s, sm_%d%d, %.1f GiB\n", info.name, info.cc_major,
              info.cc_minor, info.total_memory / 1073741824.0);
  EXPECT_EQ(info.index, 0);
  EXPECT_GT(std::strlen(info.name), 0u);
  EXPECT_GT(info.total_memory, 0u);
  EXPECT_GE(info.cc_major, 7);
  EXPECT_EQ(api_->device_info(kDev, nullptr) != 0, true);
}

TEST_F(CudaBackendGpu, AllocFreeReusesCachedBlocks) {
  ASSERT_EQ(api_->empty_cache(kDev), 0) << LastError();
  const TensordCudaAllocatorStats s0 = Stats();
  EXPECT_EQ(s0.bytes_reserved, s0.bytes_in_use);

  const size_t nbytes = (size_t{1} << 20) + 100;
  void* p = api_->alloc(kDev, nbytes);
  ASSERT_NE(p, nullptr) << LastError();
  const TensordCudaAllocatorStats s1 = Stats();
  EXPECT_GE(s1.bytes_in_use - s0.bytes_in_use, nbytes);
  EXPECT_EQ(s1.num_cuda_mallocs, s0.num_cuda_mallocs + 1);
  EXPECT_EQ(s1.bytes_reserved - s0.bytes_reserved,
            s1.bytes_in_use - s0.bytes_in_use);

  api_->free(kDev, p);
  const TensordCudaAllocatorStats s2 = Stats();
  EXPECT_EQ(s2.bytes_in_use, s0.bytes_in_use);
  EXPECT_EQ(s2.bytes_reserved, s1.bytes_reserved);  // cached, not released

  // Same size class: served from the cache, no cudaMalloc.
  void* q = api_->alloc(kDev, nbytes + 100);
  ASSERT_NE(q, nullptr) << LastError();
  EXPECT_EQ(q, p);
  EXPECT_EQ(Stats().num_cuda_mallocs, s1.num_cuda_mallocs);
  api_->free(kDev, q);

  // alloc(0) gives a real, freeable block.
  void* z = api_->alloc(kDev, 0);
  EXPECT_NE(z, nullptr) << LastError();
  api_->free(kDev, z);

  // Freeing something that is not ours is reported, not a crash.
  int local = 0;
  api_->free(kDev, &local);
  EXPECT_NE(LastError().find("free"), std::string::npos) << LastError();

  ASSERT_EQ(api_->empty_cache(kDev), 0) << LastError();
  const TensordCudaAllocatorStats s3 = Stats();
  EXPECT_EQ(s3.bytes_in_use, s0.bytes_in_use);
  EXPECT_EQ(s3.bytes_reserved, s0.bytes_reserved);
}

TEST_F(CudaBackendGpu, ConcurrentAllocFree) {
  const TensordCudaAllocatorStats s0 = Stats();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t, &failures] {
      std::vector<void*> held;
      for (int i = 0; i < 200; ++i) {
        void* p = api_->alloc(kDev, 256 + 4096 * ((i * 7 + t) % 37));
        if (p == nullptr) {
          ++failures;
          continue;
        }
        held.push_back(p);
        if (held.size() > 4) {
          api_->free(kDev, held.front());
          held.erase(held.begin());
        }
      }
      for (void* p : held) api_->free(kDev, p);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Stats().bytes_in_use, s0.bytes_in_use);
}

TEST_F(CudaBackendGpu, CopiesRoundTrip) {
  const int64_t n = 1000003;
  const std::vector<float> host = Random(n, -100.f, 100.f, 1);
  float* a = Upload(host);
  float* b = Alloc(n);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(api_->copy_device_to_device(kDev, b, a, n * sizeof(float)), 0)
      << LastError();
  EXPECT_EQ(Download(b, n), host);
  EXPECT_EQ(api_->copy_to_device(kDev, b, host.data(), 0), 0);  // 0 bytes
  EXPECT_EQ(api_->synchronize(kDev), 0) << LastError();
}

TEST_F(CudaBackendGpu, Fill) {
  const int64_t n = (int64_t{1} << 20) + 3;
  float* d = Alloc(n);
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(api_->fill_f32(kDev, d, 3.25f, n), 0) << LastError();
  EXPECT_EQ(Download(d, n), std::vector<float>(n, 3.25f));
  // Misaligned start (the scalar path): element 0 keeps its value.
  ASSERT_EQ(api_->fill_f32(kDev, d + 1, -1.5f, n - 1), 0) << LastError();
  std::vector<float> want(n, -1.5f);
  want[0] = 3.25f;
  EXPECT_EQ(Download(d, n), want);
  EXPECT_EQ(api_->fill_f32(kDev, d, 0.f, 0), 0) << LastError();
  EXPECT_NE(api_->fill_f32(kDev, d, 0.f, -1), 0);
}

struct BinaryCase {
  int op;
  const char* name;
  float (*ref)(float, float);
};

TEST_F(CudaBackendGpu, EveryBinaryOpMatchesCpu) {
  const BinaryCase cases[] = {
      {TENSORD_CUDA_ADD, "add", [](float a, float b) { return a + b; }},
      {TENSORD_CUDA_SUB, "sub", [](float a, float b) { return a - b; }},
      {TENSORD_CUDA_MUL, "mul", [](float a, float b) { return a * b; }},
      {TENSORD_CUDA_DIV, "div", [](float a, float b) { return a / b; }},
      {TENSORD_CUDA_MAXIMUM, "maximum", [](float a, float b) { return std::fmax(a, b); }},
      {TENSORD_CUDA_MINIMUM, "minimum", [](float a, float b) { return std::fmin(a, b); }},
  };
  const int64_t n = (int64_t{1} << 20) + 3;  // float4 body plus a tail
  const std::vector<float> a = Random(n, -5.f, 5.f, 2);
  std::vector<float> b = Random(n, 0.5f, 5.f, 3);
  for (int64_t i = 0; i < n; i += 2) b[i] = -b[i];
  float* da = Upload(a);
  float* db = Upload(b);
  float* dout = Alloc(n);
  ASSERT_TRUE(da && db && dout);
  for (const BinaryCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<float> want(n);
    for (int64_t i = 0; i < n; ++i) want[i] = c.ref(a[i], b[i]);
    ASSERT_EQ(api_->binary_f32(kDev, c.op, da, db, dout, n), 0) << LastError();
    ExpectNear(Download(dout, n), want, 1e-6, 0, c.name);
    // Misaligned pointers take the scalar path.
    ASSERT_EQ(api_->binary_f32(kDev, c.op, da + 1, db + 1, dout + 1, n - 1), 0)
        << LastError();
    std::vector<float> got = Download(dout, n);
    got[0] = want[0];
    ExpectNear(got, want, 1e-6, 0, std::string(c.name) + " misaligned");
  }
  // In place: a *= b.
  float* dinplace = Upload(a);
  ASSERT_EQ(api_->binary_f32(kDev, TENSORD_CUDA_MUL, dinplace, db, dinplace, n), 0)
      << LastError();
  std::vector<float> want(n);
  for (int64_t i = 0; i < n; ++i) want[i] = a[i] * b[i];
  ExpectNear(Download(dinplace, n), want, 0, 0, "in-place mul");

  EXPECT_NE(api_->binary_f32(kDev, 99, da, db, dout, n), 0);
  EXPECT_NE(LastError().find("unknown op"), std::string::npos) << LastError();
  EXPECT_EQ(api_->synchronize(kDev), 0);
  EXPECT_EQ(LastError(), "");  // a successful call clears it
}

struct UnaryCase {
  int op;
  const char* name;
  float lo, hi;  // input range
  double (*ref)(double);
};

TEST_F(CudaBackendGpu, EveryUnaryOpMatchesCpu) {
  const UnaryCase cases[] = {
      {TENSORD_CUDA_NEG, "neg", -10.f, 10.f, [](double x) { return -x; }},
      {TENSORD_CUDA_EXP, "exp", -20.f, 20.f, [](double x) { return std::exp(x); }},
      {TENSORD_CUDA_LOG, "log", 1e-3f, 1e3f, [](double x) { return std::log(x); }},
      {TENSORD_CUDA_RELU, "relu", -10.f, 10.f, [](double x) { return x > 0 ? x : 0.0; }},
      {TENSORD_CUDA_SIGMOID, "sigmoid", -20.f, 20.f, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
      {TENSORD_CUDA_TANH, "tanh", -10.f, 10.f, [](double x) { return std::tanh(x); }},
      {TENSORD_CUDA_SQRT, "sqrt", 0.f, 1e4f, [](double x) { return std::sqrt(x); }},
      {TENSORD_CUDA_ABS, "abs", -10.f, 10.f, [](double x) { return std::fabs(x); }},
  };
  const int64_t n = (int64_t{1} << 18) + 1;
  float* dout = Alloc(n);
  ASSERT_NE(dout, nullptr);
  uint32_t seed = 10;
  for (const UnaryCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<float> a = Random(n, c.lo, c.hi, seed++);
    std::vector<float> want(n);
    for (int64_t i = 0; i < n; ++i) want[i] = static_cast<float>(c.ref(a[i]));
    float* da = Upload(a);
    ASSERT_NE(da, nullptr);
    ASSERT_EQ(api_->unary_f32(kDev, c.op, da, dout, n), 0) << LastError();
    ExpectNear(Download(dout, n), want, 2e-6, 1e-7, c.name);
  }
  EXPECT_NE(api_->unary_f32(kDev, 42, dout, dout, n), 0);
  EXPECT_NE(LastError().find("unknown op"), std::string::npos) << LastError();
}

// Row-major C[m,n] = A[m,k] * B[k,n], reference in double.
std::vector<float> CpuMatmul(const std::vector<float>& a,
                             const std::vector<float>& b, int64_t m, int64_t n,
                             int64_t k) {
  std::vector<float> c(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += double{a[i * k + p]} * b[p * n + j];
      c[i * n + j] = static_cast<float>(s);
    }
  }
  return c;
}

TEST_F(CudaBackendGpu, MatmulMatchesCpu) {
  const int64_t shapes[][3] = {{128, 96, 64}, {33, 5, 17}, {1, 1, 1}, {7, 300, 1000}};
  uint32_t seed = 100;
  for (const auto& s : shapes) {
    const int64_t m = s[0], n = s[1], k = s[2];
    const std::string what = "matmul " + std::to_string(m) + "x" +
                             std::to_string(k) + " * " + std::to_string(k) +
                             "x" + std::to_string(n);
    SCOPED_TRACE(what);
    const std::vector<float> a = Random(m * k, -1.f, 1.f, seed++);
    const std::vector<float> b = Random(k * n, -1.f, 1.f, seed++);
    float* da = Upload(a);
    float* db = Upload(b);
    float* dc = Alloc(m * n);
    ASSERT_TRUE(da && db && dc);
    ASSERT_EQ(api_->matmul_f32(kDev, m, n, k, da, db, dc), 0) << LastError();
    // FP32 accumulation over k terms of size <= 1.
    ExpectNear(Download(dc, m * n), CpuMatmul(a, b, m, n, k), 1e-5,
               2e-6 * std::sqrt(double(k)) * 8, what);
  }
  // k = 0: C is all zeros; m = 0: nothing to do.
  float* dc = Alloc(6);
  ASSERT_NE(dc, nullptr);
  ASSERT_EQ(api_->fill_f32(kDev, dc, 7.f, 6), 0);
  ASSERT_EQ(api_->matmul_f32(kDev, 2, 3, 0, nullptr, nullptr, dc), 0) << LastError();
  EXPECT_EQ(Download(dc, 6), std::vector<float>(6, 0.f));
  EXPECT_EQ(api_->matmul_f32(kDev, 0, 3, 4, nullptr, nullptr, dc), 0) << LastError();
  EXPECT_NE(api_->matmul_f32(kDev, -1, 3, 4, dc, dc, dc), 0);
}

}  // namespace
