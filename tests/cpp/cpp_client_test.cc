// The C++ client library against a real daemon.
#include <gtest/gtest.h>

#include <cstdlib>

#include "daemon_fixture.h"
#include "tensord/tensor.h"

namespace tensord::testing {
namespace {

class CppClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { daemon_ = new Daemon(); }
  static void TearDownTestSuite() { delete daemon_; }
  static Daemon* daemon_;
};
Daemon* CppClientTest::daemon_ = nullptr;

TEST_F(CppClientTest, ArithmeticAndMatmulMatchHandComputedValues) {
  auto s = Session::Connect(daemon_->address());
  auto a = s.FromVector<float>({1, 2, 3, 4}, {2, 2});
  auto b = s.FromVector<float>({10, 20}, {2});
  auto c = a + b;  // broadcasts over rows
  EXPECT_EQ(c.to_vector<float>(), (std::vector<float>{11, 22, 13, 24}));
  EXPECT_EQ(a.matmul(a).to_vector<float>(), (std::vector<float>{7, 10, 15, 22}));
  EXPECT_EQ((-a / 2.0).to_vector<float>(), (std::vector<float>{-0.5, -1, -1.5, -2}));
  EXPECT_FLOAT_EQ(a.sum().item<float>(), 10.0f);
}

TEST_F(CppClientTest, MetadataIsKnownWithoutARoundTrip) {
  auto s = Session::Connect(daemon_->address());
  auto a = s.Zeros({2, 3, 4});
  auto v = a.view({6, -1});
  EXPECT_EQ(v.sizes(), (Shape{6, 4}));
  EXPECT_EQ(v.strides(), (Shape{4, 1}));
  auto d = s.FromVector<int32_t>({1, 2}, {2}) + 1.5;
  EXPECT_EQ(d.dtype(), DType::kFloat32);
  EXPECT_EQ(s.core()->batches_sent(), 0u) << "no op needed the daemon yet";
}

TEST_F(CppClientTest, ShapeErrorsRaiseAtTheCall) {
  auto s = Session::Connect(daemon_->address());
  auto a = s.Zeros({2, 3});
  auto b = s.Zeros({4});
  EXPECT_THROW(a + b, OpError);
  try {
    a.matmul(b);
    FAIL() << "matmul of [2,3] and [4] must fail";
  } catch (const OpError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be multiplied (2x3 and 4x1)"), std::string::npos) << e.what();
  }
}

TEST_F(CppClientTest, DaemonErrorsSurfaceAtTheNextSyncWithTheCallSite) {
  auto s = Session::Connect(daemon_->address());
  auto a = s.FromVector<int64_t>({1, 2}, {2});
  auto z = s.FromVector<int64_t>({0, 1}, {2});
  auto q = s.Call1("div", {a, z, "floor"});  // integer division by zero
  try {
    q.to_vector<int64_t>();
    FAIL() << "expected ZeroDivisionError";
  } catch (const client::RemoteError& e) {
    EXPECT_EQ(e.op(), "div");
    EXPECT_NE(std::string(e.what()).find("ZeroDivisionError"), std::string::npos);
    EXPECT_NE(e.location().find("cpp_client_test.cc:"), std::string::npos) << e.location();
  }
  EXPECT_EQ(a.to_vector<int64_t>(), (std::vector<int64_t>{1, 2})) << "the session keeps working";
}

TEST_F(CppClientTest, LargeTensorsMoveInChunks) {
  auto s = Session::Connect(daemon_->address());
  std::vector<float> big(3'000'000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i % 1000);
  auto t = s.FromVector<float>(big, {3000, 1000});
  auto back = (t * 2.0).to_vector<float>();
  ASSERT_EQ(back.size(), big.size());
  for (size_t i = 0; i < big.size(); i += 99991) EXPECT_EQ(back[i], big[i] * 2);
}

TEST_F(CppClientTest, ExampleProgramRuns) {
  std::string cmd = std::string(TENSORD_EXAMPLE) + " " + daemon_->address() + " > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace tensord::testing
