// Memory accounting per session and device, and a tenant's memory quota.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/core/error.h"
#include "kernels/core/quota_observer.h"
#include "kernels/core/tensor.h"

namespace tensord {
namespace {

TEST(MemoryQuota, CountsPerDeviceAndReturnsToZero) {
  auto quota = std::make_shared<MemoryQuota>();
  quota->tenant = "alice";
  auto s1 = std::make_shared<MemoryTracker>();
  auto s2 = std::make_shared<MemoryTracker>();
  s1->quota = s2->quota = quota;
  const Device cuda1{Device::Kind::kCUDA, 1};
  {
    Storage a(1000, Device{}, CpuAllocator(), s1);
    Storage b(24, cuda1, CpuAllocator(), s2);
    Storage c(76, cuda1, CpuAllocator(), s1);
    EXPECT_EQ(s1->bytes.load(), 1076);
    EXPECT_EQ(s1->device_bytes[0].load(), 1000);
    EXPECT_EQ(s1->device_bytes[2].load(), 76);
    EXPECT_EQ(quota->used[0].load(), 1000);
    EXPECT_EQ(quota->used[MemoryQuota::Slot(cuda1)].load(), 100);
  }
  EXPECT_EQ(s1->bytes.load(), 0);
  EXPECT_EQ(s2->bytes.load(), 0);
  for (const auto& u : quota->used) EXPECT_EQ(u.load(), 0);
}

TEST(MemoryQuota, RefusesOverTheLimitAndKeepsAccounts) {
  auto quota = std::make_shared<MemoryQuota>();
  quota->tenant = "bob";
  quota->cpu_limit = 1000;
  quota->cuda_limit = 100;
  auto s = std::make_shared<MemoryTracker>();
  s->quota = quota;
  Storage kept(600, Device{}, CpuAllocator(), s);
  try {
    Storage over(401, Device{}, CpuAllocator(), s);
    FAIL() << "allocated over the quota";
  } catch (const OpError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kResource);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("tenant 'bob'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("quotas.memory_bytes.cpu"), std::string::npos) << msg;
    EXPECT_NE(msg.find("1001 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("limit of 1000 bytes"), std::string::npos) << msg;
  }
  EXPECT_EQ(quota->used[0].load(), 600) << "a refused allocation must not stay counted";
  EXPECT_EQ(s->bytes.load(), 600);
  Storage fits(400, Device{}, CpuAllocator(), s);  // exactly at the limit
  try {
    Storage gpu(101, Device{Device::Kind::kCUDA, 0}, CpuAllocator(), s);
    FAIL() << "allocated over the cuda quota";
  } catch (const OpError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kOutOfMemory) << "GPU quotas raise torch.cuda.OutOfMemoryError";
  }
}

std::vector<Device> g_rejected_on;
void RecordRejection(const Device& device) { g_rejected_on.push_back(device); }

TEST(MemoryQuota, TellsTheObserverOfEachRefusal) {
  auto quota = std::make_shared<MemoryQuota>();
  quota->cpu_limit = 100;
  quota->cuda_limit = 100;
  auto s = std::make_shared<MemoryTracker>();
  s->quota = quota;
  g_rejected_on.clear();
  SetMemoryQuotaRejectionObserver(&RecordRejection);
  Storage fits(100, Device{}, CpuAllocator(), s);
  EXPECT_THROW(Storage(1, Device{}, CpuAllocator(), s), OpError);
  EXPECT_THROW(Storage(101, Device{Device::Kind::kCUDA, 3}, CpuAllocator(), s), OpError);
  SetMemoryQuotaRejectionObserver(nullptr);
  EXPECT_THROW(Storage(1, Device{}, CpuAllocator(), s), OpError);  // no observer: not recorded
  ASSERT_EQ(g_rejected_on.size(), 2u);
  EXPECT_TRUE(g_rejected_on[0].is_cpu());
  EXPECT_EQ(g_rejected_on[1].str(), "cuda:3");
}

}  // namespace
}  // namespace tensord
