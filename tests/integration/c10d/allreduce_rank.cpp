// One rank of the c10d smoke test: rendezvous through a TCPStore, build a Gloo process group
// from LibTorch 2.11's c10d, all-reduce a tensor, print the result.
// Usage: c10d_allreduce_rank RANK WORLD_SIZE PORT
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: " << argv[0] << " RANK WORLD_SIZE PORT\n";
    return 2;
  }
  const int rank = std::stoi(argv[1]);
  const int world = std::stoi(argv[2]);
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(std::stoi(argv[3]));
  store_options.isServer = rank == 0;
  store_options.numWorkers = world;
  store_options.waitWorkers = true;
  store_options.timeout = std::chrono::seconds(60);
  auto store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", store_options);

  auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(60));
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, options);

  // Rank r contributes (r + 1) * [1, 2, 3]; the sum over ranks is world*(world+1)/2 * [1, 2, 3].
  std::vector<at::Tensor> tensors{torch::tensor({1.0f, 2.0f, 3.0f}) * (rank + 1)};
  gloo->allreduce(tensors)->wait();
  auto t = tensors[0];
  std::cout << "rank " << rank << " result " << t[0].item<float>() << " " << t[1].item<float>()
            << " " << t[2].item<float>() << std::endl;
  return 0;
}
