// api_probe — exercises the Accelerator's collective and checkpoint API on every rank and prints
// what it saw, one "probe <name> <value>" line per check (read by accelerator_api_test):
// gather, reduce with each ReduceOp, main_process_first, save_state / load_state(path) with a
// state registered for checkpointing, and accel::Batches' shards.
#include <accel/accelerator.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

std::string values(const torch::Tensor& t) {
  std::ostringstream o;
  auto c = t.to(torch::kDouble).contiguous();
  for (int64_t i = 0; i < c.numel(); ++i) o << (i ? "," : "") << c.data_ptr<double>()[i];
  return o.str();
}

}  // namespace

int main() {
  return accel::run_main([] {
    accel::Accelerator acc;
    const int rank = acc.process_index();
    auto say = [&](const std::string& name, const std::string& value) {
      std::cout << "probe rank" << rank << " " << name << " " << value << std::endl;
    };

    say("gather", values(acc.gather(torch::tensor({double(rank), double(rank) + 10}))));
    const auto mine = torch::tensor({double(rank) + 1});
    say("sum", values(acc.reduce(mine, accel::ReduceOp::Sum)));
    say("mean", values(acc.reduce(mine, accel::ReduceOp::Mean)));
    say("max", values(acc.reduce(mine, accel::ReduceOp::Max)));
    say("min", values(acc.reduce(mine, accel::ReduceOp::Min)));

    // main_process_first: the main process makes a file; the others run after it and see it.
    const std::string marker = acc.config().project_dir() + "/made-by-main";
    acc.main_process_first([&] {
      if (acc.is_main_process()) std::ofstream(marker) << "ready";
      say("sees_marker", std::filesystem::exists(marker) ? "yes" : "no");
    });

    // A registered state travels with save_state / load_state(path).
    std::string counter = "41";
    acc.register_for_checkpointing(
        "counter", [&] { return counter; }, [&](const std::string& s) { counter = s; });
    torch::nn::Linear model(3, 1);
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.5));
    acc.prepare(model, opt);
    const auto before = model->weight.detach().clone();
    const std::string path = acc.save_state();
    say("saved", std::filesystem::exists(path + "/COMPLETE") ? "complete" : "missing");
    counter = "changed";
    {
      auto scope = acc.accumulate();
      acc.backward(model->forward(torch::ones({2, 3})).sum());
      acc.step();
    }
    say("moved", torch::equal(before, model->weight.detach()) ? "no" : "yes");
    say("loaded", acc.load_state(path) ? "yes" : "no");
    say("counter", acc.is_main_process() ? counter : "41");  // only the main process saves extras
    say("restored", torch::equal(before, model->weight.detach()) ? "yes" : "no");
    say("step", std::to_string(acc.completed_steps()));

    // Batches: the two ranks' shards of a micro-batch are disjoint and together the first
    // 2 x batch positions of the epoch's order.
    accel::Batches batches(acc, 20, 3);
    auto mb = batches.at(0, 1);
    std::ostringstream shard;
    for (size_t i = 0; i < mb.indices.size(); ++i) shard << (i ? "," : "") << mb.indices[i];
    say("shard", shard.str());
    say("per_epoch", std::to_string(batches.batches_per_epoch()));
    acc.end_training();
  });
}
