// The C++ client keeps its session through dropped connections: a proxy
// between it and a real daemon cuts every connection while it computes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "daemon_fixture.h"
#include "tcp_proxy.h"
#include "tensord/tensor.h"

namespace tensord::testing {
namespace {

// Cuts the client's connection `cuts` times at random moments (a cut
// that finds no connection, during a re-attach, does not count). Bounded,
// so a client always gets through in the end.
class RandomCuts {
 public:
  RandomCuts(TcpProxy& proxy, int cuts, int min_ms, int max_ms)
      : thread_([&proxy, cuts, min_ms, max_ms, this] {
          std::mt19937 rng(7);
          std::uniform_int_distribution<int> wait(min_ms, max_ms);
          for (int done = 0; done < cuts && !stop_;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(wait(rng)));
            done += proxy.Sever() > 0;
          }
        }) {}
  ~RandomCuts() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class ReattachTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { daemon_ = new Daemon(); }
  static void TearDownTestSuite() { delete daemon_; }
  static Daemon* daemon_;
};
Daemon* ReattachTest::daemon_ = nullptr;

TEST_F(ReattachTest, NoOpIsLostOrAppliedTwiceThroughRandomCuts) {
  TcpProxy proxy(daemon_->address());
  auto s = Session::Connect(proxy.address());
  auto counter = s.Zeros({1}, DType::kInt64);
  auto x = s.FromVector<float>({0.5f, -0.25f}, {2});
  std::vector<float> expected = {0.5f, -0.25f};
  int64_t adds = 0;
  {
    RandomCuts cuts(proxy, 12, 5, 40);
    for (int round = 0; round < 30; ++round) {
      for (int i = 0; i < 600; ++i) {
        counter.add_(1);
        x = (x * 0.5 + 0.25).exp().log();  // stays in range, depends on every step
        for (float& v : expected) v = std::log(std::exp(v * 0.5f + 0.25f));
        ++adds;
      }
      if (round % 5 == 0) EXPECT_EQ(counter.item<int64_t>(), adds);
    }
  }
  EXPECT_EQ(counter.item<int64_t>(), adds);
  auto got = x.to_vector<float>();
  EXPECT_NEAR(got[0], expected[0], 1e-5);
  EXPECT_NEAR(got[1], expected[1], 1e-5);
  EXPECT_GE(s.core()->reattaches(), 2u) << proxy.severed() << " connections cut";
}

TEST_F(ReattachTest, UploadsAndFetchesInFlightDuringACutComplete) {
  for (bool shared_memory : {true, false}) {
    TcpProxy proxy(daemon_->address());
    client::ConnectOptions options;
    options.shared_memory = shared_memory;
    auto s = Session::Connect(proxy.address(), options);
    std::vector<float> big(3 << 20);  // 12 MiB: chunks and region halves both ways
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i % 1000);
    for (int delay_ms : {0, 2, 10, 40}) {
      std::thread cut([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        proxy.Sever();
      });
      auto t = s.FromVector<float>(big, {static_cast<int64_t>(big.size())});
      auto back = (t + 1.0).to_vector<float>();
      cut.join();
      ASSERT_EQ(back.size(), big.size());
      for (size_t i = 0; i < big.size(); i += 4099) ASSERT_EQ(back[i], big[i] + 1) << i;
      EXPECT_EQ(back.back(), big.back() + 1);
    }
    EXPECT_GE(s.core()->reattaches(), 2u) << "shared_memory " << shared_memory;
    EXPECT_EQ(s.info().shared_memory, shared_memory);
  }
}

TEST(ReattachGrace, AClientAwayPastTheGracePeriodGetsAClearErrorAndTheSessionIsFreed) {
  Daemon d("session_grace_seconds: 1\n");
  TcpProxy proxy(d.address());
  auto s = Session::Connect(proxy.address());
  auto x = s.Ones({100}) * 2.0;
  EXPECT_EQ(x.sum().item<float>(), 200.0f);
  const std::string id = s.core()->session_id();
  proxy.Refuse(true);
  proxy.Sever();
  const auto start = std::chrono::steady_clock::now();
  try {
    x.sum().item<float>();
    FAIL() << "no error after the grace period";
  } catch (const client::RemoteError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(id), std::string::npos) << what;
    EXPECT_NE(what.find("grace period of 1 s"), std::string::npos) << what;
    EXPECT_EQ(e.exception(), "RuntimeError");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  // Later calls fail the same way instead of hanging.
  EXPECT_THROW(x.sum().item<float>(), client::RemoteError);
  const std::string freed = "session " + id.substr(0, 8) + " freed: ";
  for (int i = 0; i < 300 && d.log().find("0 session(s) open") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(d.log().find(freed), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("0 bytes still tracked"), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("0 session(s) open"), std::string::npos) << d.log();
}

}  // namespace
}  // namespace tensord::testing
