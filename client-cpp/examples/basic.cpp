// A C++ program using a tensord daemon: tensord_example ADDRESS
#include <cstdio>

#include "tensord/tensor.h"

int main(int argc, char** argv) {
  const char* address = argc > 1 ? argv[1] : "127.0.0.1:7070";
  try {
    auto s = tensord::Session::Connect(address);
    std::printf("connected to tensord %s\n", s.info().daemon_version.c_str());
    auto a = s.FromVector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    auto b = s.Ones({3, 2});
    auto c = (a * 2.0 + 1.0).matmul(b);  // [[15, 15], [33, 33]]
    auto v = c.to_vector<float>();
    std::printf("c = [[%g, %g], [%g, %g]]\n", v[0], v[1], v[2], v[3]);
    std::printf("sum = %g\n", c.sum().item<float>());
    return v == std::vector<float>{15, 15, 33, 33} ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
