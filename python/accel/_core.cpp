// _core.cpp — accel._core: libaccel's Accelerator for Python programs (python/accel/__init__.py
// wraps it in Hugging Face Accelerate's shape; python/README.md).
//
// The C++ Accelerator trains a torch::nn::Module with a torch::optim::Optimizer. A Python
// program has a torch.nn.Module and a torch.optim.Optimizer; both are reached through adapters
// that share the very tensors (at::Tensor is a handle to the same TensorImpl Python holds):
//   PythonModule     registers the Python module's parameters and buffers under their
//                    qualified names ('.' written '-', which no Python attribute contains), so
//                    DDP's Reducer hooks, the broadcast from rank 0, clipping, checkpoints and
//                    resume all act on the Python tensors themselves;
//   PythonOptimizer  one parameter group of the Python optimizer's parameters; step() calls the
//                    Python optimizer's step(), save()/load() carry its state_dict (torch.save
//                    bytes) inside libaccel's optimizer.pt, and the learning rate metrics report
//                    is the Python optimizer's first group's.
// Everything else (precedence, process group, accumulation windows, loss scaling, the step
// cycle, atomic checkpoints with resume, watchdog, /metrics, trackers) is libaccel unchanged.
//
// The GIL is released around everything that may wait on other ranks or run autograd (whose
// engine threads may need it for Python hooks); Python callbacks take it back (pybind11's
// std::function wrapper does).
#include <pybind11/functional.h>
#include <pybind11/stl.h>
#include <torch/csrc/utils/pybind.h>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/schedulers/lr_scheduler.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "accel/accelerator.h"
#include "accel/api/exit_codes.h"
#include "accel/config.h"
#include "failure.h"

namespace py = pybind11;

namespace {

std::string module_key(std::string name) {
  for (auto& c : name)
    if (c == '.') c = '-';
  return name;
}

class PythonModule : public torch::nn::Module {
 public:
  PythonModule(const std::vector<std::pair<std::string, at::Tensor>>& parameters,
               const std::vector<std::pair<std::string, at::Tensor>>& buffers) {
    for (const auto& [name, t] : parameters)
      register_parameter(module_key(name), t, t.requires_grad());
    for (const auto& [name, t] : buffers) register_buffer(module_key(name), t);
  }
};

struct PythonOptimizerOptions : torch::optim::OptimizerCloneableOptions<PythonOptimizerOptions> {
  std::function<double()> lr;
  double get_lr() const override { return lr ? lr() : 0.0; }
  void set_lr(const double) override {}
};

struct PythonOptimizerCalls {
  std::function<void()> step;
  std::function<py::bytes()> state;
  std::function<void(py::bytes)> load;
  std::function<double()> lr;
};

class PythonOptimizer : public torch::optim::Optimizer {
 public:
  PythonOptimizer(std::vector<at::Tensor> params, PythonOptimizerCalls calls)
      : Optimizer({torch::optim::OptimizerParamGroup(std::move(params))}, defaults(calls.lr)),
        calls_(std::move(calls)) {}

  at::Tensor step(LossClosure) override {
    calls_.step();
    return {};
  }

  void save(torch::serialize::OutputArchive& archive) const override {
    std::string bytes;
    {
      py::gil_scoped_acquire gil;
      bytes = std::string(calls_.state());
    }
    auto t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
    if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
    archive.write("python_state_dict", t);
  }

  void load(torch::serialize::InputArchive& archive) override {
    at::Tensor t;
    archive.read("python_state_dict", t);
    t = t.to(torch::kCPU).contiguous();
    std::string bytes(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()));
    py::gil_scoped_acquire gil;
    calls_.load(py::bytes(bytes));
  }

 private:
  static std::unique_ptr<torch::optim::OptimizerOptions> defaults(std::function<double()> lr) {
    auto o = std::make_unique<PythonOptimizerOptions>();
    o->lr = std::move(lr);
    return o;
  }
  PythonOptimizerCalls calls_;
};

// The Python LR scheduler, stepped by libaccel's step() after a real optimizer step (before a
// periodic checkpoint, so the checkpoint holds the stepped schedule). Its state_dict travels as
// the extra checkpoint state "python.scheduler" (accel/accelerator.py), restored after
// libaccel's resume replayed the steps.
class PythonScheduler : public torch::optim::LRScheduler {
 public:
  PythonScheduler(torch::optim::Optimizer& optimizer, std::function<void()> step)
      : LRScheduler(optimizer), step_(std::move(step)) {}

 protected:
  std::vector<double> get_lrs() override {
    step_();
    return get_current_lrs();
  }

 private:
  std::function<void()> step_;
};

// A context manager around one of libaccel's RAII scopes.
template <class Scope>
class ScopeContext {
 public:
  explicit ScopeContext(std::function<std::unique_ptr<Scope>()> open) : open_(std::move(open)) {}
  void enter() {
    if (scope_) throw std::logic_error("this context is already entered");
    scope_ = open_();
  }
  void exit() { scope_.reset(); }

 private:
  std::function<std::unique_ptr<Scope>()> open_;
  std::unique_ptr<Scope> scope_;
};

// Binds a ScopeContext as a Python context manager. Entering and leaving run libaccel code that
// may wait on the process group (the first synchronising forward rebuilds DDP's buckets with a
// broadcast): never with the GIL held, since a Gloo worker thread frees a finished collective's
// Python-owned tensors (it takes the GIL for that) while holding its queue's lock.
using released = py::call_guard<py::gil_scoped_release>;

template <class Context>
void bind_scope(py::module_& m, const char* name) {
  py::class_<Context>(m, name)
      .def(
          "__enter__", [](Context& s) { s.enter(); }, released())
      .def(
          "__exit__",
          [](Context& s, const py::args&) {
            s.exit();
            return false;
          },
          released());
}

// The Python side's view of the core: one Accelerator and its adapters.
class Core {
 public:
  explicit Core(const std::map<std::string, std::string>& code_values,
                const std::string& config_file) {
    accel::AcceleratorOptions options;
    options.python_program(true);
    for (const auto& [k, v] : code_values) options.set(k, v);
    if (!config_file.empty()) options.config_file(config_file);
    acc_ = std::make_unique<accel::Accelerator>(options);
  }

  ~Core() { close(); }
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  accel::Accelerator& acc() {
    if (!acc_) throw std::logic_error("this Accelerator has been closed (the program is exiting)");
    return *acc_;
  }

  // Ends libaccel's Accelerator (its process group, DDP, watchdog, servers) before the Python
  // objects it references. Without the GIL: the process group joins Gloo's threads, and one
  // may be freeing a finished collective's Python-owned tensor (it needs the GIL for that)
  // while holding the lock the destructor waits for. During interpreter finalisation no other
  // thread may take the GIL again, so accel's atexit handler calls this before it.
  void close() {
    if (acc_) {
      if (PyGILState_Check() && !_Py_IsFinalizing()) {
        py::gil_scoped_release no_gil;
        acc_.reset();
      } else {
        acc_.reset();
      }
    }
    scheduler_.reset();
    optimizer_.reset();
    module_.reset();
  }

  void prepare(const std::vector<std::pair<std::string, at::Tensor>>& parameters,
               const std::vector<std::pair<std::string, at::Tensor>>& buffers,
               std::vector<at::Tensor> optimizer_params, PythonOptimizerCalls calls,
               std::function<void()> scheduler_step) {
    module_ = std::make_shared<PythonModule>(parameters, buffers);
    optimizer_ = std::make_unique<PythonOptimizer>(std::move(optimizer_params), std::move(calls));
    if (scheduler_step)
      scheduler_ = std::make_unique<PythonScheduler>(*optimizer_, std::move(scheduler_step));
    acc_->prepare(*module_, *optimizer_, scheduler_.get());
  }

  py::dict config() const {
    py::dict d;
    for (const auto& [key, v] : acc_->config().values)
      d[py::str(key)] = py::make_tuple(v.value, v.describe());
    return d;
  }

 private:
  std::unique_ptr<accel::Accelerator> acc_;
  std::shared_ptr<PythonModule> module_;
  std::unique_ptr<PythonOptimizer> optimizer_;
  std::unique_ptr<PythonScheduler> scheduler_;
};

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "libaccel's Accelerator for Python programs (use the accel package, not this module)";

  // Errors that end a training process with a documented exit code (api/EXIT_CODES.md) become
  // accel.AccelError subclasses carrying it; accel's excepthook exits with it.
  static py::exception<std::runtime_error> accel_error(m, "AccelError", PyExc_RuntimeError);
  static py::exception<std::runtime_error> config_error(m, "ConfigError", accel_error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    const accel::Failure f = accel::classify_failure(p);
    if (f.exit_code == 1) std::rethrow_exception(p);  // pybind11's own mapping (RuntimeError, ...)
    PyObject* type = f.exit_code == static_cast<int>(accel::api::ExitCode::ConfigError)
                         ? config_error.ptr()
                         : accel_error.ptr();
    py::object e = py::reinterpret_borrow<py::object>(type)(f.message);
    e.attr("exit_code") = f.exit_code;
    e.attr("kind") = f.kind;
    PyErr_SetObject(type, e.ptr());
  });

  py::class_<PythonOptimizerCalls>(m, "OptimizerCalls")
      .def(py::init([](std::function<void()> step, std::function<py::bytes()> state,
                       std::function<void(py::bytes)> load, std::function<double()> lr) {
             return PythonOptimizerCalls{std::move(step), std::move(state), std::move(load),
                                         std::move(lr)};
           }),
           py::arg("step"), py::arg("state"), py::arg("load"), py::arg("lr"));

  // Every call that may wait on other ranks or run autograd releases the GIL (bind_scope says why).
  using Accumulate = ScopeContext<accel::AccumulateScope>;
  using Autocast = ScopeContext<accel::AutocastScope>;
  using Activity = ScopeContext<accel::ActivityScope>;
  bind_scope<Accumulate>(m, "AccumulateContext");
  bind_scope<Autocast>(m, "AutocastContext");
  bind_scope<Activity>(m, "ActivityContext");

  py::class_<Core>(m, "Core")
      .def(py::init<const std::map<std::string, std::string>&, const std::string&>(),
           py::arg("code"), py::arg("config_file") = "", released())
      .def("prepare", &Core::prepare, py::arg("parameters"), py::arg("buffers"),
           py::arg("optimizer_parameters"), py::arg("optimizer"),
           py::arg("scheduler_step") = std::function<void()>(), released())
      .def("close", &Core::close)
      .def("config", &Core::config)
      .def("explain", [](Core& c) { return accel::explain_table(c.acc().config()); })
      .def_property_readonly("process_index", [](Core& c) { return c.acc().process_index(); })
      .def_property_readonly("local_process_index",
                             [](Core& c) { return c.acc().local_process_index(); })
      .def_property_readonly("num_processes", [](Core& c) { return c.acc().num_processes(); })
      .def_property_readonly("node_rank", [](Core& c) { return c.acc().node_rank(); })
      .def_property_readonly("device", [](Core& c) { return c.acc().device().str(); })
      .def_property_readonly("sync_gradients", [](Core& c) { return c.acc().sync_gradients(); })
      .def_property_readonly("completed_steps", [](Core& c) { return c.acc().completed_steps(); })
      .def_property_readonly("epoch", [](Core& c) { return c.acc().epoch(); })
      .def_property_readonly("batch_in_epoch", [](Core& c) { return c.acc().batch_in_epoch(); })
      .def_property_readonly("metrics_port", [](Core& c) { return c.acc().metrics_port(); })
      .def(
          "begin_epoch", [](Core& c, int64_t epoch, int64_t n) { c.acc().begin_epoch(epoch, n); },
          released())
      .def(
          "accumulate",
          [](Core& c) {
            return Accumulate(
                [&c] { return std::make_unique<accel::AccumulateScope>(c.acc().accumulate()); });
          },
          py::keep_alive<0, 1>())
      .def(
          "autocast",
          [](Core& c) {
            // What Accelerator::autocast() opens: this process's device and precision.
            return Autocast([&c] {
              const std::string mp = c.acc().mixed_precision();
              return std::make_unique<accel::AutocastScope>(
                  c.acc().device().type(), mp == "bf16" ? at::kBFloat16 : at::kHalf, mp != "no");
            });
          },
          py::keep_alive<0, 1>())
      .def(
          "evaluating",
          [](Core& c) {
            return Activity(
                [&c] { return std::make_unique<accel::ActivityScope>(c.acc().evaluating()); });
          },
          py::keep_alive<0, 1>())
      .def(
          "backward", [](Core& c, const at::Tensor& loss) { return c.acc().backward(loss); },
          released())
      .def(
          "clip_grad_norm",
          [](Core& c, double max_norm, double norm_type) {
            return c.acc().clip_grad_norm(max_norm, norm_type);
          },
          released())
      .def(
          "step", [](Core& c) { return c.acc().step(); }, released())
      .def("set_batch_shape", [](Core& c, int64_t s, int64_t t) { c.acc().set_batch_shape(s, t); })
      .def("set_total_steps", [](Core& c, int64_t n) { c.acc().set_total_steps(n); })
      .def(
          "wait_for_everyone", [](Core& c) { c.acc().wait_for_everyone(); }, released())
      .def(
          "gather", [](Core& c, const at::Tensor& t) { return c.acc().gather(t); }, released())
      .def(
          "reduce",
          [](Core& c, const at::Tensor& t, const std::string& op) {
            const accel::ReduceOp r = op == "sum"    ? accel::ReduceOp::Sum
                                      : op == "mean" ? accel::ReduceOp::Mean
                                      : op == "max"  ? accel::ReduceOp::Max
                                      : op == "min"  ? accel::ReduceOp::Min
                                                     : throw std::invalid_argument(
                                                           "reduction must be "
                                                            "sum, mean, max or min, not " +
                                                           op);
            return c.acc().reduce(t, r);
          },
          released())
      .def(
          "init_trackers",
          [](Core& c, const std::string& project, const std::map<std::string, std::string>& hp) {
            accel::Hyperparameters h;
            for (const auto& [k, v] : hp) h.emplace(k, accel::HParam(v));
            c.acc().init_trackers(project, h);
          },
          released())
      .def(
          "log",
          [](Core& c, const std::map<std::string, double>& values, std::optional<int64_t> step) {
            c.acc().log(values, step);
          },
          released())
      .def(
          "end_training", [](Core& c, bool success) { c.acc().end_training(success); }, released())
      .def(
          "save_state", [](Core& c) { return c.acc().save_state(); }, released())
      .def(
          "load_state", [](Core& c, const std::string& path) { return c.acc().load_state(path); },
          released())
      .def("register_for_checkpointing",
           [](Core& c, const std::string& name, std::function<py::bytes()> save,
              std::function<void(py::bytes)> load) {
             c.acc().register_for_checkpointing(
                 name,
                 [save] {
                   py::gil_scoped_acquire gil;
                   return std::string(save());
                 },
                 [load](const std::string& blob) {
                   py::gil_scoped_acquire gil;
                   load(py::bytes(blob));
                 });
           });
}
