// accel/data.h — which samples this rank trains on, micro-batch by micro-batch, across epochs
// and restarts: what torch.utils.data's DistributedSampler and a resumable DataLoader do, for
// any indexable data (a LibTorch dataset's get_batch(indices), a corpus, a table).
//
//   accel::Batches batches(acc, dataset.size().value(), /*batch_size=*/8);
//   for (const accel::MicroBatch& mb : batches.until(steps)) {
//     auto scope = acc.accumulate();
//     auto loss = model->forward(dataset.get_batch(mb.indices) ...);
//     ...
//   }
//
// The order: epoch e is a permutation of [0, num_samples) (shuffled by seed and epoch, the same
// on every rank), cut into micro-batches of batch_size × num_processes samples; micro-batch m
// gives rank r the samples at positions m·B·W + r·B ... + B − 1. So 2 ranks × B and 1 rank × 2B,
// or k micro-batches × B and one of k·B, see exactly the same samples per optimizer step.
// Where to start comes from the Accelerator (epoch(), batch_in_epoch(): restored by prepare()
// from a checkpoint), so a resumed run continues with the micro-batch after the last one
// trained, with nothing for the program to save or restore. Each micro-batch is expected to
// be trained inside one Accelerator::accumulate() scope.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace accel {

class Accelerator;

struct BatchOptions {
  bool shuffle = true;            // a new order every epoch; false: 0, 1, 2, ...
  int64_t seed = -1;              // of the shuffle; -1: the Accelerator's seed key
  int64_t batches_per_epoch = 0;  // at most this many micro-batches per epoch; 0: every full one
};

struct MicroBatch {
  int64_t epoch = 0;
  int64_t index = 0;                 // micro-batch index within the epoch
  std::vector<std::size_t> indices;  // this rank's samples (batch_size of them)
};

class Batches {
 public:
  // `num_samples` samples per epoch, `batch_size` per rank per micro-batch (the last partial
  // micro-batch of an epoch is dropped). Throws std::invalid_argument when not even one
  // micro-batch of batch_size × num_processes fits.
  Batches(Accelerator& acc, int64_t num_samples, int64_t batch_size, BatchOptions options = {});

  int64_t batches_per_epoch() const { return per_epoch_; }
  // This rank's micro-batch `index` of `epoch`.
  MicroBatch at(int64_t epoch, int64_t index) const;

  class Range;
  class iterator {
   public:
    const MicroBatch& operator*() const { return current_; }
    const MicroBatch* operator->() const { return &current_; }
    iterator& operator++();
    bool operator!=(const iterator&) const;  // false once the steps are done

   private:
    friend class Range;
    iterator(const Batches* b, int64_t steps);
    const Batches* batches_;
    int64_t steps_;
    MicroBatch current_;
  };
  // The micro-batches from where training stands until `steps` optimizer steps are completed
  // (Accelerator::completed_steps()), across as many epochs as that takes; every epoch begins
  // with Accelerator::begin_epoch, so the last accumulation window of an epoch may be short.
  class Range {
   public:
    iterator begin() const { return iterator(batches_, steps_); }
    iterator end() const { return iterator(nullptr, steps_); }

   private:
    friend class Batches;
    Range(const Batches* b, int64_t steps) : batches_(b), steps_(steps) {}
    const Batches* batches_;
    int64_t steps_;
  };
  Range until(int64_t steps) const { return Range(this, steps); }

 private:
  const std::vector<std::size_t>& order(int64_t epoch) const;

  Accelerator& acc_;
  int64_t num_samples_, batch_size_, world_, rank_, per_epoch_;
  bool shuffle_;
  uint64_t seed_;
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<std::size_t> cached_order_;
};

}  // namespace accel
