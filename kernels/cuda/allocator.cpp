// Caching device allocator.
//
// Blocks come from cudaMalloc in rounded size classes and go back to a
// per-device free list on free(); a later alloc() of the same class reuses
// one without calling cudaMalloc. empty_cache() returns the cached blocks to
// the driver. Reuse is safe without events because every kernel and copy of a
// device runs on that device's one stream, in order: work enqueued after the
// reuse runs after work enqueued before the free.
//
// Size classes: up to 1 MiB, multiples of 512 bytes; above, four classes per
// power of two (2^k, 1.25*2^k, 1.5*2^k, 1.75*2^k), so at most 25% waste.
#include <bit>
#include <cstdio>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/internal.h"

namespace tensord_cuda {
namespace {

constexpr size_t kGranule = 512;
constexpr size_t kSmallLimit = size_t{1} << 20;
constexpr size_t kMaxAlloc = size_t{1} << 48;

size_t RoundUp(size_t n, size_t m) { return (n + m - 1) / m * m; }

size_t SizeClass(size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
  if (nbytes <= kSmallLimit) return RoundUp(nbytes, kGranule);
  const size_t step = std::bit_floor(nbytes) / 4;
  return RoundUp(nbytes, step);
}

struct Pool {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> cached;  // class -> blocks
  std::unordered_map<void*, size_t> live;                 // block -> class
  uint64_t bytes_in_use = 0;
  uint64_t bytes_reserved = 0;
  uint64_t num_cuda_mallocs = 0;
};

// One pool per device; never freed (it must outlive CUDA's teardown).
Pool& GetPool(int device) {
  static Pool* pools = new Pool[DeviceCount(nullptr, 0) > 0
                                    ? DeviceCount(nullptr, 0)
                                    : 1];
  return pools[device];
}

// Returns every cached block of `pool` to the driver; pool.mu must be held.
// Returns the first error, cudaSuccess if none.
cudaError_t ReleaseCachedLocked(Pool& pool) {
  cudaError_t first = cudaSuccess;
  for (auto& [size, blocks] : pool.cached) {
    for (void* p : blocks) {
      cudaError_t err = cudaFree(p);
      if (err != cudaSuccess && first == cudaSuccess) first = err;
      pool.bytes_reserved -= size;
    }
  }
  pool.cached.clear();
  return first;
}

}  // namespace

void* Alloc(int device, size_t nbytes) {
  if (UseDevice("alloc", device) != 0) return nullptr;
  if (nbytes > kMaxAlloc) {
    SetError("alloc: %zu bytes is too large", nbytes);
    return nullptr;
  }
  const size_t size = SizeClass(nbytes);
  Pool& pool = GetPool(device);
  std::lock_guard<std::mutex> lock(pool.mu);

  void* p = nullptr;
  auto it = pool.cached.find(size);
  if (it != pool.cached.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
  } else {
    cudaError_t err = cudaMalloc(&p, size);
    if (err != cudaSuccess) {
      // Out of memory (or similar): give the cache back and retry once.
      cudaGetLastError();
      ReleaseCachedLocked(pool);
      cudaGetLastError();
      err = cudaMalloc(&p, size);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      char what[160];
      std::snprintf(what, sizeof(what),
                    "alloc: cudaMalloc(%zu bytes) on device %d "
                    "(%llu bytes in use)",
                    size, device,
                    static_cast<unsigned long long>(pool.bytes_in_use));
      SetCudaError(what, err);
      return nullptr;
    }
    ++pool.num_cuda_mallocs;
    pool.bytes_reserved += size;
  }
  pool.live.emplace(p, size);
  pool.bytes_in_use += size;
  return p;
}

void Free(int device, void* ptr) {
  if (ptr == nullptr) return;
  if (UseDevice("free", device) != 0) return;
  Pool& pool = GetPool(device);
  std::lock_guard<std::mutex> lock(pool.mu);
  auto it = pool.live.find(ptr);
  if (it == pool.live.end()) {
    SetError("free: %p was not allocated on device %d by this backend "
             "(or was freed already)",
             ptr, device);
    return;
  }
  const size_t size = it->second;
  pool.live.erase(it);
  pool.bytes_in_use -= size;
  pool.cached[size].push_back(ptr);
}

int EmptyCache(int device) {
  if (int rc = UseDevice("empty_cache", device)) return rc;
  Pool& pool = GetPool(device);
  std::lock_guard<std::mutex> lock(pool.mu);
  cudaError_t err = ReleaseCachedLocked(pool);
  if (err != cudaSuccess) return SetCudaError("empty_cache: cudaFree", err);
  return 0;
}

int AllocatorStats(int device, TensordCudaAllocatorStats* out) {
  if (out == nullptr) return SetError("allocator_stats: out is NULL");
  if (int rc = UseDevice("allocator_stats", device)) return rc;
  Pool& pool = GetPool(device);
  std::lock_guard<std::mutex> lock(pool.mu);
  out->bytes_in_use = pool.bytes_in_use;
  out->bytes_reserved = pool.bytes_reserved;
  out->num_cuda_mallocs = pool.num_cuda_mallocs;
  return 0;
}

}  // namespace tensord_cuda
