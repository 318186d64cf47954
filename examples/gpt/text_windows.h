// text_windows.h — the GPT example's data: every window of span bytes of a corpus is one sample
// (sample i = bytes [i, i + span)), addressed by index like a LibTorch dataset.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace examples {

// The corpus: a text file, or every regular file of a folder in sorted order, concatenated.
inline std::string read_corpus(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  if (fs::is_directory(path)) {
    for (auto& e : fs::directory_iterator(path))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::string text;
  for (auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text += ss.str();
  }
  if (text.size() < 1024) throw std::runtime_error("corpus too small: " + path);
  return text;
}

class TextWindows {
 public:
  TextWindows(const std::string& text, int64_t span)
      : corpus_(
            torch::from_blob(const_cast<char*>(text.data()), {int64_t(text.size())}, torch::kUInt8)
                .to(torch::kLong)),
        span_(span) {}

  int64_t size() const { return corpus_.size(0) - span_; }

  // The windows at `indices` as a [batch, span] tensor on `device`: on CUDA a page-locked host
  // batch copied asynchronously, overlapping the previous step's kernels.
  torch::Tensor get(const std::vector<size_t>& indices, const torch::Device& device) const {
    std::vector<torch::Tensor> rows;
    rows.reserve(indices.size());
    for (size_t i : indices) rows.push_back(corpus_.narrow(0, static_cast<int64_t>(i), span_));
    auto host = torch::stack(rows);
    if (device.is_cuda()) host = host.pin_memory();
    return host.to(device, /*non_blocking=*/true);
  }

 private:
  torch::Tensor corpus_;
  int64_t span_;
};

}  // namespace examples
