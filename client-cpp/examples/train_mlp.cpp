// Trains a 2-layer MLP through a tensord daemon, from C++:
//   tensord_train_mlp ADDRESS [CHECKPOINT] [EPOCHS]
// The data (three Gaussian blobs, separable) is made here on the client;
// the model, autograd and SGD run on the daemon. Prints the loss per epoch
// and the final accuracy, saves the model's state_dict to CHECKPOINT (torch's
// format), and exits 1 if the accuracy is 90% or less.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "tensord/nn.h"
#include "tensord/optim.h"
#include "tensord/serialize.h"

namespace nn = tensord::nn;

int main(int argc, char** argv) {
  const char* address = argc > 1 ? argv[1] : "127.0.0.1:7070";
  const std::string checkpoint = argc > 2 ? argv[2] : "mlp.pt";
  const int epochs = argc > 3 ? std::atoi(argv[3]) : 20;
  constexpr int kClasses = 3, kPerClass = 200, kBatch = 50;
  constexpr int kN = kClasses * kPerClass;
  try {
    auto s = tensord::Session::Connect(address);
    s.ManualSeed(0);  // the daemon draws the initial weights

    // Blob k is centred at radius 2, angle 2*pi*k/3, with std 0.5.
    std::mt19937 rng(0);
    std::normal_distribution<float> noise(0.0f, 0.5f);
    std::vector<float> xs;
    std::vector<int64_t> ys;
    for (int i = 0; i < kN; ++i) {
      const int k = i % kClasses;
      const double a = 2 * M_PI * k / kClasses;
      xs.push_back(static_cast<float>(2 * std::cos(a)) + noise(rng));
      xs.push_back(static_cast<float>(2 * std::sin(a)) + noise(rng));
      ys.push_back(k);
    }
    auto x = s.FromVector<float>(xs, {kN, 2});
    auto y = s.FromVector<int64_t>(ys, {kN});

    auto model = std::make_shared<nn::Sequential>(nn::Linear(s, 2, 16), nn::ReLU(),
                                                  nn::Linear(s, 16, kClasses));
    tensord::optim::SGD opt(model->parameters(), {.lr = 0.1, .momentum = 0.9});

    for (int epoch = 0; epoch < epochs; ++epoch) {
      model->train();
      tensord::Tensor total = s.Zeros({});
      for (int start = 0; start < kN; start += kBatch) {
        auto xb = s.Call1("narrow", {x, 0, start, kBatch});
        auto yb = s.Call1("narrow", {y, 0, start, kBatch});
        opt.zero_grad();
        auto loss = nn::functional::cross_entropy(model->forward(xb), yb);
        loss.backward();
        opt.step();
        tensord::NoGradGuard no_grad;
        total = total + loss.detach();
      }
      std::printf("epoch %d loss %.4f\n", epoch + 1, total.item<float>() / (kN / kBatch));
    }

    model->eval();
    tensord::NoGradGuard no_grad;
    auto correct = model->forward(x).argmax(1).eq(y).to(tensord::DType::kFloat32).mean();
    const float accuracy = correct.item<float>();
    std::printf("accuracy %.4f\n", accuracy);
    tensord::save(*model, checkpoint);
    std::printf("saved %s\n", checkpoint.c_str());
    return accuracy > 0.9f ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
