// Tiny benchmark of the CUDA backend through its C ABI (dlopen, like the
// daemon): a 4096^3 fp32 matmul (cuBLAS sgemm) and a 64M-element add.
// Times are host wall clock around a batch of calls plus synchronize(),
// the median of several batches. Prints "BENCH <name> <value> <unit>" lines
// that tests/gpu/device_check.sh puts in its table.
//
// Usage: cuda_bench [device]   (library: see backend_loader.h)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "tests/gpu/backend_loader.h"

namespace {

const TensordCudaBackend* api = nullptr;
int dev = 0;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "cuda_bench: %s: %s\n", what,
               api != nullptr ? api->last_error() : "");
  std::exit(1);
}

void Check(int rc, const char* what) {
  if (rc != 0) Die(what);
}

float* Alloc(size_t n) {
  void* p = api->alloc(dev, n * sizeof(float));
  if (p == nullptr) Die("alloc");
  return static_cast<float*>(p);
}

// Median seconds per call of `body` over `reps` batches of `iters` calls.
template <class F>
double TimePerCall(F body, int warmup, int iters, int reps) {
  for (int i = 0; i < warmup; ++i) body();
  Check(api->synchronize(dev), "synchronize");
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) body();
    Check(api->synchronize(dev), "synchronize");
    auto t1 = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double>(t1 - t0).count() / iters);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) dev = std::atoi(argv[1]);
  const auto& loaded = tensord_test::LoadBackend();
  if (loaded.api == nullptr) {
    std::fprintf(stderr, "cuda_bench: %s\n", loaded.error.c_str());
    return 1;
  }
  api = loaded.api;
  char why[512] = {0};
  const int count = api->device_count(why, sizeof(why));
  if (count <= dev) {
    std::fprintf(stderr, "cuda_bench: no device %d: %s\n", dev, why);
    return 2;
  }
  TensordCudaDeviceInfo info;
  Check(api->device_info(dev, &info), "device_info");
  std::printf("BENCH device %s sm_%d%d\n", info.name, info.cc_major,
              info.cc_minor);

  // sgemm 4096^3
  {
    const int64_t n = 4096;
    float* a = Alloc(n * n);
    float* b = Alloc(n * n);
    float* c = Alloc(n * n);
    Check(api->fill_f32(dev, a, 1.0f, n * n), "fill");
    Check(api->fill_f32(dev, b, 0.5f, n * n), "fill");
    const double s = TimePerCall(
        [&] { Check(api->matmul_f32(dev, n, n, n, a, b, c), "matmul"); },
        /*warmup=*/3, /*iters=*/10, /*reps=*/5);
    float c0 = 0;
    Check(api->copy_to_host(dev, &c0, c, sizeof(c0)), "copy_to_host");
    if (std::fabs(c0 - 0.5f * n) > 1e-3f * n) {
      std::fprintf(stderr, "cuda_bench: sgemm gave %g, want %g\n", c0, 0.5 * n);
      return 3;
    }
    std::printf("BENCH sgemm_4096_ms %.3f ms\n", s * 1e3);
    std::printf("BENCH sgemm_4096 %.0f GFLOP/s\n", 2.0 * n * n * n / s / 1e9);
    api->free(dev, a);
    api->free(dev, b);
    api->free(dev, c);
  }

  // add, 64M elements: reads 2, writes 1 float per element.
  {
    const int64_t n = int64_t{64} << 20;
    float* a = Alloc(n);
    float* b = Alloc(n);
    float* c = Alloc(n);
    Check(api->fill_f32(dev, a, 1.0f, n), "fill");
    Check(api->fill_f32(dev, b, 2.0f, n), "fill");
    const double s = TimePerCall(
        [&] { Check(api->binary_f32(dev, TENSORD_CUDA_ADD, a, b, c, n), "add"); },
        /*warmup=*/3, /*iters=*/20, /*reps=*/5);
    float c0 = 0;
    Check(api->copy_to_host(dev, &c0, c + n - 1, sizeof(c0)), "copy_to_host");
    if (c0 != 3.0f) {
      std::fprintf(stderr, "cuda_bench: add gave %g, want 3\n", c0);
      return 3;
    }
    std::printf("BENCH add_64M_ms %.3f ms\n", s * 1e3);
    std::printf("BENCH add_64M %.0f GB/s\n", 3.0 * 4.0 * n / s / 1e9);
    api->free(dev, a);
    api->free(dev, b);
    api->free(dev, c);
  }
  return 0;
}
