// The C++ frontend (autograd API, tensord::nn, optim, save/load) against a
// real daemon.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "daemon_fixture.h"
#include "tensord/nn.h"
#include "tensord/optim.h"
#include "tensord/serialize.h"

namespace tensord::testing {
namespace {

namespace F = nn::functional;

class CppNnTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { daemon_ = new Daemon(); }
  static void TearDownTestSuite() { delete daemon_; }
  void SetUp() override { s_ = std::make_unique<Session>(Session::Connect(daemon_->address())); }
  Session& s() { return *s_; }
  static Daemon* daemon_;
  std::unique_ptr<Session> s_;
};
Daemon* CppNnTest::daemon_ = nullptr;

void Set(const Tensor& t, const std::vector<float>& v) {
  NoGradGuard no_grad;
  t.copy_(t.session().FromVector<float>(v, t.sizes()));
}

void ExpectNear(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

TEST_F(CppNnTest, LinearGradientsMatchHandComputation) {
  nn::Linear lin(s(), 3, 2);
  Set(lin.weight, {1, 2, 3, -1, 0, 1});
  Set(lin.bias, {0.5, -0.5});
  const std::vector<float> xv = {1, -2, 0.5, 3, 1, -1};
  auto x = s().FromVector<float>(xv, {2, 3}).set_requires_grad();
  const std::vector<float> cv = {1, 2, -1, 0.5};  // L = sum(y * c)
  auto c = s().FromVector<float>(cv, {2, 2});
  auto y = lin(x);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(y.is_leaf());
  EXPECT_TRUE(lin.weight.is_leaf());
  ExpectNear(y.to_vector<float>(), {-1, -1, 2.5, -4.5}, 1e-6);
  (y * c).sum().backward();
  // dL/dW[o][i] = sum_n c[n][o] x[n][i]; dL/db[o] = sum_n c[n][o]; dL/dx[n][i] = sum_o c[n][o]
  // W[o][i].
  const float w[6] = {1, 2, 3, -1, 0, 1};
  std::vector<double> dw(6, 0), db(2, 0), dx(6, 0);
  for (int n = 0; n < 2; ++n) {
    for (int o = 0; o < 2; ++o) {
      db[o] += cv[n * 2 + o];
      for (int i = 0; i < 3; ++i) {
        dw[o * 3 + i] += cv[n * 2 + o] * xv[n * 3 + i];
        dx[n * 3 + i] += cv[n * 2 + o] * w[o * 3 + i];
      }
    }
  }
  ExpectNear(lin.weight.grad().to_vector<float>(), dw, 1e-5);
  ExpectNear(lin.bias.grad().to_vector<float>(), db, 1e-5);
  ExpectNear(x.grad().to_vector<float>(), dx, 1e-5);
}

TEST_F(CppNnTest, LinearGradientMatchesFiniteDifferences) {
  nn::Linear lin(s(), 4, 3);
  auto x = s().FromVector<float>({0.3f, -1, 2, 0.5f, 1, 1, -0.5f, 0}, {2, 4});
  auto target = s().FromVector<float>({1, 0, -1, 0.5f, 0.5f, 2}, {2, 3});
  auto loss = [&] { return F::mse_loss(lin(x), target); };
  loss().backward();
  const std::vector<float> grad = lin.weight.grad().to_vector<float>();
  std::vector<float> w = lin.weight.to_vector<float>();
  const float h = 1e-2f;
  for (size_t i = 0; i < w.size(); ++i) {
    NoGradGuard no_grad;
    std::vector<float> plus = w, minus = w;
    plus[i] += h;
    minus[i] -= h;
    Set(lin.weight, plus);
    const float lp = loss().item<float>();
    Set(lin.weight, minus);
    const float lm = loss().item<float>();
    EXPECT_NEAR(grad[i], (lp - lm) / (2 * h), 2e-3) << "weight element " << i;
  }
}

TEST_F(CppNnTest, GradIsUndefinedBeforeBackwardAndAccumulates) {
  auto p = s().FromVector<float>({1, 2}, {2}).set_requires_grad();
  EXPECT_FALSE(p.grad().defined());
  (p * p).sum().backward();
  ExpectNear(p.grad().to_vector<float>(), {2, 4}, 0);
  (p * 3.0).sum().backward();
  SCOPED_TRACE("backward accumulates into .grad");
  ExpectNear(p.grad().to_vector<float>(), {5, 7}, 0);
  p.zero_grad_();
  ExpectNear(p.grad().to_vector<float>(), {0, 0}, 0);
  p.zero_grad_(/*set_to_none=*/true);
  EXPECT_FALSE(p.grad().defined());
  p.set_grad(s().FromVector<float>({9, 8}, {2}));
  ExpectNear(p.grad().to_vector<float>(), {9, 8}, 0);
}

TEST_F(CppNnTest, BackwardErrorsRaiseAtTheCall) {
  auto a = s().FromVector<float>({1, 2}, {2});
  EXPECT_THROW(a.sum().backward(), OpError) << "does not require grad";
  auto p = s().FromVector<float>({1, 2}, {2}).set_requires_grad();
  EXPECT_THROW((p * 2.0).backward(), OpError) << "non-scalar output without a gradient";
  EXPECT_THROW((p * 2.0).backward(s().Ones({3})), OpError) << "gradient of the wrong shape";
  EXPECT_THROW((p * 2.0).set_requires_grad(false), OpError) << "not a leaf";
}

TEST_F(CppNnTest, NoGradGuardStopsRecordingAndRestores) {
  auto p = s().FromVector<float>({1, 2}, {2}).set_requires_grad();
  {
    NoGradGuard no_grad;
    EXPECT_FALSE((p * 2.0).requires_grad());
    { NoGradGuard nested; }
    EXPECT_FALSE(client::GradEnabled());
  }
  EXPECT_TRUE(client::GradEnabled());
  EXPECT_TRUE((p * 2.0).requires_grad());
  EXPECT_FALSE(p.detach().requires_grad());
}

TEST_F(CppNnTest, ModulesNameParametersAndBuffersAsTorch) {
  nn::Sequential model(nn::Conv2d(s(), 1, 2, {3}), nn::BatchNorm2d(s(), 2), nn::ReLU(),
                       nn::Flatten(), nn::Linear(s(), 8, 2, /*bias=*/false));
  std::vector<std::string> names;
  for (auto& [n, p] : model.named_parameters()) {
    names.push_back(n);
    EXPECT_TRUE(p.requires_grad() && p.is_leaf()) << n;
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "4.weight"}));
  names.clear();
  for (auto& [n, t] : model.state_dict()) names.push_back(n);
  EXPECT_EQ(names,
            (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                      "1.running_var", "1.num_batches_tracked", "4.weight"}));
  EXPECT_EQ(model.children().size(), 5u);
  model.eval();
  EXPECT_FALSE(model[1]->is_training());
  model.train();
  EXPECT_TRUE(model[1]->is_training());
  // PyTorch's default init bounds: 1/sqrt(fan_in).
  auto w = std::dynamic_pointer_cast<nn::Conv2d>(model[0])->weight.to_vector<float>();
  for (float v : w) EXPECT_LE(std::fabs(v), 1 / 3.0 + 1e-6);
  auto x = s().Ones({2, 1, 4, 4});
  EXPECT_EQ(model.forward(x).sizes(), (Shape{2, 2}));
}

TEST_F(CppNnTest, Conv2dAndMaxPool2dMatchHandComputation) {
  nn::Conv2d conv(s(), 1, 1, {2});
  Set(conv.weight, {1, 1, 1, 1});
  Set(conv.bias, {0.5});
  auto x = s().Arange(0, 9).view({1, 1, 3, 3}).to(DType::kFloat32);
  auto y = conv(x);
  EXPECT_EQ(y.sizes(), (Shape{1, 1, 2, 2}));
  ExpectNear(y.to_vector<float>(), {8.5, 12.5, 20.5, 24.5}, 1e-6);
  y.sum().backward();  // dW[i][j]: the sum of the inputs window (i, j) touches
  ExpectNear(conv.weight.grad().to_vector<float>(), {8, 12, 20, 24}, 1e-5);
  ExpectNear(conv.bias.grad().to_vector<float>(), {4}, 1e-6);
  EXPECT_EQ(conv(x.view({1, 3, 3})).sizes(), (Shape{1, 2, 2})) << "unbatched input";

  nn::MaxPool2d pool({2});
  auto p = pool(s().Arange(0, 16).view({1, 1, 4, 4}).to(DType::kFloat32));
  ExpectNear(p.to_vector<float>(), {5, 7, 13, 15}, 0);
  EXPECT_EQ(x.size(-1), 3);
  EXPECT_THROW(x.size(4), OpError);
  EXPECT_THROW(s().Zeros({}).size(0), OpError);
}

TEST_F(CppNnTest, ManualSeedMakesInitialisationReproducible) {
  s().ManualSeed(42);
  nn::Linear a(s(), 4, 3);
  s().ManualSeed(42);
  nn::Linear b(s(), 4, 3);
  nn::Linear c(s(), 4, 3);
  EXPECT_EQ(a.weight.to_vector<float>(), b.weight.to_vector<float>());
  EXPECT_EQ(a.bias.to_vector<float>(), b.bias.to_vector<float>());
  EXPECT_NE(b.weight.to_vector<float>(), c.weight.to_vector<float>());
}

TEST_F(CppNnTest, BatchNormUpdatesRunningStatsInTrainingAndUsesThemInEval) {
  nn::BatchNorm2d bn(s(), 1, 1e-5, 0.1);
  auto x = s().FromVector<float>({1, 2, 3, 6}, {4, 1, 1, 1});  // mean 3, unbiased var 14/3
  auto y = bn(x);
  ExpectNear(bn.running_mean.to_vector<float>(), {0.3}, 1e-6);
  ExpectNear(bn.running_var.to_vector<float>(), {0.9 + 0.1 * 14 / 3.0}, 1e-5);
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 1);
  const double sd = std::sqrt(3.5 + 1e-5);  // biased var 14/4
  ExpectNear(y.to_vector<float>(), {-2 / sd, -1 / sd, 0, 3 / sd}, 1e-5);
  bn.eval();
  const double rsd = std::sqrt(0.9 + 0.1 * 14 / 3.0 + 1e-5);
  ExpectNear(bn(x).to_vector<float>(), {0.7 / rsd, 1.7 / rsd, 2.7 / rsd, 5.7 / rsd}, 1e-5);
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 1) << "eval does not count";
}

TEST_F(CppNnTest, DropoutScalesKeptValuesAndIsIdentityInEval) {
  nn::Dropout drop(0.25);
  auto x = s().Ones({1000});
  auto v = drop(x).to_vector<float>();
  int kept = 0;
  for (float e : v) {
    EXPECT_TRUE(e == 0 || std::fabs(e - 1 / 0.75) < 1e-6) << e;
    kept += e != 0;
  }
  EXPECT_GT(kept, 650);
  EXPECT_LT(kept, 850);
  drop.eval();
  EXPECT_EQ(drop(x).impl(), x.impl());
  EXPECT_THROW(nn::Dropout(1.5), OpError);
}

TEST_F(CppNnTest, CrossEntropyMatchesHandComputation) {
  auto logits = s().FromVector<float>({1, 2, 3, 0, 0, 0}, {2, 3});
  auto target = s().FromVector<int64_t>({2, 0}, {2});
  const double l0 = -3 + std::log(std::exp(1) + std::exp(2) + std::exp(3));
  const double l1 = std::log(3.0);
  EXPECT_NEAR(F::cross_entropy(logits, target).item<float>(), (l0 + l1) / 2, 1e-5);
  EXPECT_NEAR(F::cross_entropy(logits, target, F::Reduction::kSum).item<float>(), l0 + l1, 1e-5);
}

TEST_F(CppNnTest, SgdStepsMatchHandComputation) {
  for (bool nesterov : {false, true}) {
    auto p = s().FromVector<float>({1, -2, 3}, {3}).set_requires_grad();
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = nesterov});
    std::vector<double> w = {1, -2, 3}, buf(3, 0);
    for (int step = 0; step < 3; ++step) {
      opt.zero_grad();
      (p * p).sum().backward();  // grad 2p
      opt.step();
      for (int i = 0; i < 3; ++i) {
        const double g = 2 * w[i] + 0.01 * w[i];
        buf[i] = step == 0 ? g : 0.9 * buf[i] + g;
        w[i] -= 0.1 * (nesterov ? g + 0.9 * buf[i] : buf[i]);
      }
      ExpectNear(p.to_vector<float>(), w, 1e-5);
    }
  }
}

TEST_F(CppNnTest, AdamStepsMatchHandComputation) {
  for (int variant = 0; variant < 3; ++variant) {  // Adam, Adam(amsgrad), AdamW
    const bool amsgrad = variant == 1, decoupled = variant == 2;
    SCOPED_TRACE(variant);
    auto p = s().FromVector<float>({1, -2, 3}, {3}).set_requires_grad();
    const optim::AdamOptions o{.lr = 0.1, .weight_decay = 0.1, .amsgrad = amsgrad};
    std::unique_ptr<optim::Optimizer> opt;
    if (decoupled) {
      opt = std::make_unique<optim::AdamW>(std::vector<Tensor>{p}, o);
    } else {
      opt = std::make_unique<optim::Adam>(std::vector<Tensor>{p}, o);
    }
    std::vector<double> w = {1, -2, 3}, m(3, 0), v(3, 0), vmax(3, 0);
    for (int step = 1; step <= 3; ++step) {
      opt->zero_grad();
      (p * p * p).sum().backward();  // grad 3p^2: the second moment can shrink
      opt->step();
      for (int i = 0; i < 3; ++i) {
        double g = 3 * w[i] * w[i];
        if (decoupled) {
          w[i] *= 1 - 0.1 * 0.1;
        } else {
          g += 0.1 * w[i];
        }
        m[i] = 0.9 * m[i] + 0.1 * g;
        v[i] = 0.999 * v[i] + 0.001 * g * g;
        vmax[i] = std::max(vmax[i], v[i]);
        const double second = amsgrad ? vmax[i] : v[i];
        const double denom = std::sqrt(second) / std::sqrt(1 - std::pow(0.999, step)) + 1e-8;
        w[i] -= 0.1 / (1 - std::pow(0.9, step)) * m[i] / denom;
      }
      ExpectNear(p.to_vector<float>(), w, 1e-5);
    }
  }
}

TEST_F(CppNnTest, OptimizersSkipParametersWithoutGrad) {
  auto used = s().FromVector<float>({1}, {1}).set_requires_grad();
  auto unused = s().FromVector<float>({5}, {1}).set_requires_grad();
  optim::SGD opt({used, unused}, {.lr = 0.5, .momentum = 0.9});
  (used * 2.0).sum().backward();
  opt.step();
  ExpectNear(used.to_vector<float>(), {0}, 1e-6);
  ExpectNear(unused.to_vector<float>(), {5}, 0);
  EXPECT_FALSE(unused.grad().defined());
  opt.zero_grad(/*set_to_none=*/true);
  EXPECT_FALSE(used.grad().defined());
}

TEST_F(CppNnTest, MlpLossDecreases) {
  // Two classes split by the sign of x0 + x1.
  std::vector<float> xs;
  std::vector<int64_t> ys;
  for (int i = 0; i < 64; ++i) {
    const float a = static_cast<float>((i * 37) % 64) / 16 - 2,
                b = static_cast<float>((i * 11) % 64) / 16 - 2;
    xs.push_back(a);
    xs.push_back(b);
    ys.push_back(a + b > 0 ? 1 : 0);
  }
  auto x = s().FromVector<float>(xs, {64, 2});
  auto y = s().FromVector<int64_t>(ys, {64});
  nn::Sequential model(nn::Linear(s(), 2, 8), nn::ReLU(), nn::Linear(s(), 8, 2));
  optim::SGD opt(model.parameters(), {.lr = 0.2, .momentum = 0.9});
  float first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    opt.zero_grad();
    auto loss = F::cross_entropy(model(x), y);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item<float>();
  }
  EXPECT_LT(last, first * 0.5) << "first " << first << " last " << last;
}

std::string TempPath(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::to_string(getpid()) + "_" + name))
      .string();
}

TEST_F(CppNnTest, SaveLoadRoundTripRestoresParametersAndBuffers) {
  auto make = [&] {
    return std::make_shared<nn::Sequential>(nn::Conv2d(s(), 1, 2, {3}, {.padding = {1, 1}}),
                                            nn::BatchNorm2d(s(), 2), nn::ReLU(), nn::MaxPool2d({2}),
                                            nn::Flatten(), nn::Linear(s(), 8, 3));
  };
  auto a = make();
  auto x = s().Arange(0, 32).view({2, 1, 4, 4}) / 10.0;
  a->forward(x);  // moves the running stats off their initial values
  const std::string path = TempPath("roundtrip.pt");
  save(*a, path);
  auto b = make();
  load(*b, path);
  auto sa = a->state_dict(), sb = b->state_dict();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].first, sb[i].first);
    EXPECT_EQ(sb[i].second.dtype(), sa[i].second.dtype()) << sa[i].first;
    auto va = sa[i].second.to(DType::kFloat64).to_vector<double>();
    auto vb = sb[i].second.to(DType::kFloat64).to_vector<double>();
    EXPECT_EQ(va, vb) << sa[i].first;
  }
  EXPECT_TRUE(b->parameters()[0].requires_grad() && b->parameters()[0].is_leaf());
  a->eval();
  b->eval();
  EXPECT_EQ(a->forward(x).to_vector<float>(), b->forward(x).to_vector<float>());

  nn::Sequential other(nn::Linear(s(), 2, 2));
  try {
    load(other, path);
    FAIL() << "a checkpoint of another model must be refused";
  } catch (const OpError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("Unexpected key(s) in state_dict: \"1.weight\""), std::string::npos)
        << what;
    EXPECT_NE(what.find("size mismatch for 0.weight"), std::string::npos) << what;
  }
  std::remove(path.c_str());
}

TEST_F(CppNnTest, LoadsAStateDictWrittenByTorch) {
  // Views (a transposed tensor sharing its storage), an int64 0-d buffer and
  // torch's _metadata attribute on the OrderedDict.
  const std::string path = TempPath("from_torch.pt");
  const std::string cmd =
      "/usr/bin/python3 -c \"import torch, collections; b = torch.arange(6.).view(2, 3); "
      "sd = collections.OrderedDict(t=b.t(), row=b[1], n=torch.tensor(7)); sd._metadata = {'': "
      "{'version': 1}}; "
      "torch.save(sd, '" +
      path + "')\" 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "Debian's python3-torch is not installed";
  auto sd = load_state_dict(s(), path);
  ASSERT_EQ(sd.size(), 3u);
  EXPECT_EQ(sd[0].first, "t");
  EXPECT_EQ(sd[0].second.sizes(), (Shape{3, 2}));
  EXPECT_EQ(sd[0].second.clone().to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(sd[1].second.to_vector<float>(), (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(sd[2].second.dtype(), DType::kInt64);
  EXPECT_EQ(sd[2].second.item<int64_t>(), 7);
  std::remove(path.c_str());
}

TEST_F(CppNnTest, LoadRefusesWhatIsNotACheckpoint) {
  const std::string path = TempPath("garbage.pt");
  std::ofstream(path) << "not a zip archive";
  nn::Linear lin(s(), 2, 2);
  EXPECT_THROW(load(lin, path), OpError);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tensord::testing
