// data.cpp — Batches (accel/data.h).
#include "accel/data.h"

#include <numeric>
#include <stdexcept>
#include <string>

#include "accel/accelerator.h"

namespace accel {

namespace {

// splitmix64: a permutation that a Python reference (bench/python/gpt_common.py) reproduces
// bit for bit.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

Batches::Batches(Accelerator& acc, int64_t num_samples, int64_t batch_size, BatchOptions o)
    : acc_(acc),
      num_samples_(num_samples),
      batch_size_(batch_size),
      world_(acc.num_processes()),
      rank_(acc.process_index()),
      shuffle_(o.shuffle),
      seed_(static_cast<uint64_t>(o.seed >= 0 ? o.seed : acc.config().seed())) {
  if (batch_size_ < 1) throw std::invalid_argument("Batches: batch_size must be at least 1");
  per_epoch_ = num_samples_ / (batch_size_ * world_);
  if (o.batches_per_epoch > 0) per_epoch_ = std::min(per_epoch_, o.batches_per_epoch);
  if (per_epoch_ < 1)
    throw std::invalid_argument(
        "Batches: " + std::to_string(num_samples_) + " samples do not fill one micro-batch of " +
        std::to_string(batch_size_) + " × " + std::to_string(world_) + " processes");
}

const std::vector<std::size_t>& Batches::order(int64_t epoch) const {
  if (epoch == cached_epoch_) return cached_order_;
  cached_order_.resize(static_cast<std::size_t>(num_samples_));
  std::iota(cached_order_.begin(), cached_order_.end(), std::size_t{0});
  if (shuffle_) {
    // Fisher–Yates from the front, one draw per position, seeded by (seed, epoch): position i
    // is final after i draws, so a reference that needs only the first positions of an epoch
    // (bench/python/gpt_common.py) computes just those.
    uint64_t state = mix(seed_ ^ mix(static_cast<uint64_t>(epoch)));
    const std::size_t n = cached_order_.size();
    for (std::size_t i = 0; i + 1 < n; ++i) {
      state = mix(state);
      std::swap(cached_order_[i], cached_order_[i + state % (n - i)]);
    }
  }
  cached_epoch_ = epoch;
  return cached_order_;
}

MicroBatch Batches::at(int64_t epoch, int64_t index) const {
  MicroBatch mb;
  mb.epoch = epoch;
  mb.index = index;
  const auto& o = order(epoch);
  const int64_t first = index * batch_size_ * world_ + rank_ * batch_size_;
  mb.indices.assign(o.begin() + first, o.begin() + first + batch_size_);
  return mb;
}

Batches::iterator::iterator(const Batches* b, int64_t steps) : batches_(b), steps_(steps) {
  if (!b) return;
  Accelerator& acc = b->acc_;
  acc.begin_epoch(acc.epoch(), b->per_epoch_);  // keeps a restored position
  int64_t epoch = acc.epoch(), index = acc.batch_in_epoch();
  if (index >= b->per_epoch_) {  // a checkpoint taken after an epoch's last micro-batch
    acc.begin_epoch(++epoch, b->per_epoch_);
    index = 0;
  }
  current_ = b->at(epoch, index);
}

Batches::iterator& Batches::iterator::operator++() {
  int64_t epoch = current_.epoch, index = current_.index + 1;
  if (index >= batches_->per_epoch_) {
    batches_->acc_.begin_epoch(++epoch, batches_->per_epoch_);
    index = 0;
  }
  current_ = batches_->at(epoch, index);
  return *this;
}

bool Batches::iterator::operator!=(const iterator& other) const {
  const Batches* b = batches_ ? batches_ : other.batches_;
  return b && b->acc_.completed_steps() < steps_;
}

}  // namespace accel
