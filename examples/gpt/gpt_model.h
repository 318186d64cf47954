// gpt_model.h — a small GPT-style decoder (byte-level) written against LibTorch's C++ API.
#pragma once

#include <torch/torch.h>

namespace examples {

struct GPTConfig {
  int64_t vocab = 256;   // bytes
  int64_t block = 64;    // context length
  int64_t layers = 2;
  int64_t heads = 4;
  int64_t dim = 128;
  double dropout = 0.0;
};

struct CausalSelfAttentionImpl : torch::nn::Module {
  explicit CausalSelfAttentionImpl(const GPTConfig& c)
      : heads(c.heads),
        qkv(register_module("qkv", torch::nn::Linear(c.dim, 3 * c.dim))),
        proj(register_module("proj", torch::nn::Linear(c.dim, c.dim))),
        drop(register_module("drop", torch::nn::Dropout(c.dropout))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const auto B = x.size(0), T = x.size(1), C = x.size(2);
    auto parts = qkv(x).split(C, 2);
    auto shape = [&](const torch::Tensor& t) { return t.view({B, T, heads, C / heads}).transpose(1, 2); };
    auto q = shape(parts[0]), k = shape(parts[1]), v = shape(parts[2]);
    auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(C / heads));
    auto mask = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).triu(1);
    att = att.masked_fill(mask, -1e4).softmax(-1);
    auto y = torch::matmul(drop(att), v).transpose(1, 2).contiguous().view({B, T, C});
    return proj(y);
  }

  int64_t heads;
  torch::nn::Linear qkv, proj;
  torch::nn::Dropout drop;
};
TORCH_MODULE(CausalSelfAttention);

struct BlockImpl : torch::nn::Module {
  explicit BlockImpl(const GPTConfig& c)
      : ln1(register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})))),
        attn(register_module("attn", CausalSelfAttention(c))),
        ln2(register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})))),
        fc(register_module("fc", torch::nn::Linear(c.dim, 4 * c.dim))),
        out(register_module("out", torch::nn::Linear(4 * c.dim, c.dim))),
        drop(register_module("drop", torch::nn::Dropout(c.dropout))) {}

  torch::Tensor forward(torch::Tensor x) {
    x = x + attn(ln1(x));
    return x + drop(out(torch::gelu(fc(ln2(x)))));
  }

  torch::nn::LayerNorm ln1;
  CausalSelfAttention attn;
  torch::nn::LayerNorm ln2;
  torch::nn::Linear fc, out;
  torch::nn::Dropout drop;
};
TORCH_MODULE(Block);

struct GPTImpl : torch::nn::Module {
  explicit GPTImpl(const GPTConfig& c)
      : tok(register_module("tok", torch::nn::Embedding(c.vocab, c.dim))),
        pos(register_module("pos", torch::nn::Embedding(c.block, c.dim))),
        blocks(register_module("blocks", torch::nn::Sequential())),
        ln(register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})))),
        head(register_module("head", torch::nn::Linear(torch::nn::LinearOptions(c.dim, c.vocab).bias(false)))) {
    for (int64_t i = 0; i < c.layers; ++i) blocks->push_back(Block(c));
  }

  // Returns the mean next-byte cross-entropy of `tokens` [B, T+1] (inputs and targets).
  torch::Tensor loss(const torch::Tensor& tokens) {
    auto x = tokens.narrow(1, 0, tokens.size(1) - 1);
    auto y = tokens.narrow(1, 1, tokens.size(1) - 1);
    auto positions = torch::arange(x.size(1), torch::TensorOptions().dtype(torch::kLong).device(x.device()));
    auto h = tok(x) + pos(positions);
    h = blocks->forward(h);
    auto logits = head(ln(h));
    compute_dtype = logits.scalar_type();  // what the matmuls ran in (bf16 under autocast)
    return torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}).to(torch::kFloat), y.reshape({-1}));
  }

  torch::nn::Embedding tok, pos;
  torch::nn::Sequential blocks;
  c10::ScalarType compute_dtype = c10::ScalarType::Undefined;  // of the last loss() call
  torch::nn::LayerNorm ln;
  torch::nn::Linear head;
};
TORCH_MODULE(GPT);

}  // namespace examples
