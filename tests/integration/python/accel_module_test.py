"""The accel Python package (python/) with the REAL torch and accelerate (the bench venv), under
the real `accel launch`, 2 ranks on Gloo:

- the kohya-style example changed only in its import line (examples/python/train_accel.py)
  trains to the same losses and parameters as with Hugging Face Accelerate, same seed and data;
- a value set in code is not overridden by a launch flag or env (Accelerate's trap: its
  ACCELERATE_GRADIENT_ACCUMULATION_STEPS overrides the constructor), and each value's source
  is the precedence table's;
- kill -> resume gives bitwise-identical parameters (model, optimizer, scheduler, torch and
  Python RNG, data position with a short last window);
- TensorBoard's own reader (the trackers venv) sees the scalars logged;
- torch dynamo: the dynamo_* keys compile the prepared model (torch.compile), a C++ program
  says they do not apply to it;
- errors end the process with the documented exit code (78 for a configuration error);
- `pip install ./python` builds and installs an importable package.

Run by run_accel_module_test.sh (ctest accel_module_test), which finds the venvs.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.environ["ACCEL_SOURCE_DIR"]
CLI = os.environ["ACCEL_CLI"]
PACKAGE_DIR = os.environ["ACCEL_PYTHON_PACKAGE_DIR"]  # <build>/python
TRACKERS_PYTHON = os.environ["ACCEL_TRACKERS_PYTHON"]
MLP = os.environ.get("ACCEL_TRAIN_MLP", "")
PYTHON = sys.executable
EXAMPLES = os.path.join(ROOT, "examples", "python")
SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")


def run(cmd, env_extra=None, cwd=None, check=True, timeout=300):
    env = dict(os.environ)
    env.update({"PYTHONPATH": PACKAGE_DIR, "OMP_NUM_THREADS": "1"})
    env.update(env_extra or {})
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} exited {p.returncode}:\n{p.stdout[-6000:]}")
    return p


def launch(args, program, env_extra=None, check=True, cwd=None, timeout=300):
    cmd = [CLI, "launch", "--num_processes", "2", "--main_process_port", "0", "--cpu", *args, "--", PYTHON, *program]
    return run(cmd, env_extra, cwd=cwd, check=check, timeout=timeout)


class AccelModule(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="accel-module-")
        # No user config file: only the layers each test sets.
        self.env = {"XDG_CONFIG_HOME": os.path.join(self.dir, "xdg"), "ACCEL_PROJECT_DIR": self.dir}

    def tearDown(self):
        if not os.environ.get("ACCEL_KEEP_TEST_DIRS"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def report(self, report_dir, rank=0):
        with open(os.path.join(report_dir, f"accelerate-attempt0-rank{rank}.json")) as f:
            return json.load(f)

    def example(self, script, report_dir, *extra, launch_args=(), env=None):
        e = dict(self.env)
        e.update(env or {})
        return launch(list(launch_args), [os.path.join(EXAMPLES, script), "--report-dir", report_dir, *extra], e)

    def test_example_differs_from_accelerate_by_its_import_line_only(self):
        with open(os.path.join(EXAMPLES, "train_accelerate.py")) as f:
            a = f.read().splitlines()
        with open(os.path.join(EXAMPLES, "train_accel.py")) as f:
            b = f.read().splitlines()
        self.assertEqual(len(a), len(b))
        diff = [(x, y) for x, y in zip(a, b) if x != y]
        self.assertEqual(diff, [("from accelerate import Accelerator, DistributedDataParallelKwargs, InitProcessGroupKwargs",
                                 "from accel import Accelerator, DistributedDataParallelKwargs, InitProcessGroupKwargs")])

    def test_same_losses_and_parameters_as_accelerate(self):
        flags = ["--no_shuffle", "--gradient_accumulation_steps", "2", "--samples", "64", "--batch_size", "4",
                 "--mixed_precision", "no", "--seed", "3"]
        self.example("train_accelerate.py", os.path.join(self.dir, "hf"), *flags)
        out = self.example("train_accel.py", os.path.join(self.dir, "accel"), *flags).stdout
        self.assertIn("[accel] configuration", out)  # libaccel resolved it, and said so
        for rank in (0, 1):
            hf = self.report(os.path.join(self.dir, "hf"), rank)
            ac = self.report(os.path.join(self.dir, "accel"), rank)
            self.assertEqual(ac["num_processes"], 2)
            self.assertEqual(ac["optimizer_steps"], hf["optimizer_steps"])
            self.assertEqual(hf["optimizer_steps"], 4)  # 8 micro-batches per rank, windows of 2
            self.assertEqual(len(ac["losses"]), len(hf["losses"]))
            # Tolerance: 1e-5 relative on every step's loss, 1e-5 absolute on every parameter.
            # Same kernels, same Reducer, same order of the two-rank sums: in practice equal.
            for x, y in zip(ac["losses"], hf["losses"]):
                self.assertAlmostEqual(x, y, delta=1e-5 * max(1.0, abs(y)))
            self.assertEqual(len(ac["parameters"]), len(hf["parameters"]))
            worst = max(abs(x - y) for x, y in zip(ac["parameters"], hf["parameters"]))
            self.assertLess(worst, 1e-5)
        # The parameters moved: a run that did not train would "match" trivially.
        first = self.report(os.path.join(self.dir, "accel"))["losses"]
        self.assertLess(first[-1], first[0])

    def test_code_beats_launch_flag_and_environment(self):
        # The script sets gradient_accumulation_steps=2 in code; launch flag and env say 4 and 8.
        args = ["--gradient_accumulation_steps", "4", "--mixed_precision", "bf16"]
        env = {"ACCEL_GRADIENT_ACCUMULATION_STEPS": "8"}
        self.example("train_accel.py", os.path.join(self.dir, "accel"), "--gradient_accumulation_steps", "2",
                     launch_args=args, env=env)
        self.example("train_accelerate.py", os.path.join(self.dir, "hf"), "--gradient_accumulation_steps", "2",
                     launch_args=args, env=env)
        ac = self.report(os.path.join(self.dir, "accel"))
        hf = self.report(os.path.join(self.dir, "hf"))
        self.assertEqual(ac["gradient_accumulation_steps"], 2)  # code wins
        self.assertEqual(hf["gradient_accumulation_steps"], 4)  # Accelerate: the launcher's env wins over code
        # Not set in code (the script passes None): the launch flag's bf16, in autocast.
        self.assertEqual(ac["mixed_precision"], "bf16")
        self.assertEqual(ac["layer_dtype"], "torch.bfloat16")
        self.assertEqual(ac["optimizer_steps"], 4)  # 8 micro-batches per rank / 2

        # Every value's source, as `accel config explain` prints it.
        probe = ("import accel, json; a = accel.Accelerator(gradient_accumulation_steps=2, cpu=True); "
                 "print('SOURCES ' + json.dumps(a.config))")
        out = run([PYTHON, "-c", probe], {**self.env, "ACCEL_GRADIENT_ACCUMULATION_STEPS": "8",
                                          "ACCEL_LAUNCH_GRADIENT_ACCUMULATION_STEPS": "4",
                                          "ACCEL_LAUNCH_MIXED_PRECISION": "bf16", "ACCEL_SEED": "7"}).stdout
        sources = json.loads(out.split("SOURCES ", 1)[1].splitlines()[0])
        self.assertEqual(sources["gradient_accumulation_steps"], ["2", "code (Accelerator(gradient_accumulation_steps=...))"])
        self.assertEqual(sources["mixed_precision"], ["bf16", "launch flag --mixed_precision"])
        self.assertEqual(sources["seed"], ["7", "environment variable ACCEL_SEED"])
        self.assertEqual(sources["backend"], ["auto", "default"])
        self.assertIn("code (Accelerator(gradient_accumulation_steps=...))", out)  # the table printed at start

    def test_kill_then_resume_gives_identical_parameters(self):
        script = os.path.join(SCRIPTS, "accel_resume.py")
        common = {**self.env, "ACCEL_CHECKPOINT_EVERY_STEPS": "3", "ACCEL_LOG_WITH": "tensorboard",
                  "ACCEL_RUN_NAME": "run"}
        # A: uninterrupted.
        a_dir = os.path.join(self.dir, "a")
        launch([], [script, "--out", os.path.join(self.dir, "a.pt")], {**common, "ACCEL_PROJECT_DIR": a_dir})
        # B: rank 1 is SIGKILLed right after step 5 (newest checkpoint: step 3); then started again.
        b_dir = os.path.join(self.dir, "b")
        env_b = {**common, "ACCEL_PROJECT_DIR": b_dir}
        died = launch([], [script, "--out", os.path.join(self.dir, "b.pt"), "--die-after-step", "5"], env_b, check=False)
        self.assertNotEqual(died.returncode, 0, died.stdout[-3000:])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "b.pt")))
        self.assertEqual(sorted(os.listdir(os.path.join(b_dir, "checkpoints"))), ["checkpoint_00000003"])
        again = launch([], [script, "--out", os.path.join(self.dir, "b.pt")], env_b)
        self.assertIn("resumed from", again.stdout)
        self.assertRegex(again.stdout, r"resumed from \S+checkpoint_00000003 \(step 3, epoch 0, batch 6\)")

        import torch
        a = torch.load(os.path.join(self.dir, "a.pt"), weights_only=True)
        b = torch.load(os.path.join(self.dir, "b.pt"), weights_only=True)
        self.assertEqual(a["steps"], 8)
        self.assertEqual(b["steps"], 8)
        self.assertEqual(a["lr"], b["lr"])  # the scheduler's state came back
        self.assertAlmostEqual(a["lr"], 0.05 * 0.7 ** 4, places=12)  # StepLR(2, 0.7) stepped once per step
        for x, y in zip(a["parameters"], b["parameters"]):
            self.assertTrue(torch.equal(x, y), f"max difference {(x - y).abs().max().item()}")
        for step in range(7, 9):  # steps after the resume point
            self.assertEqual(a["losses"][step], b["losses"][step])

        # TensorBoard's own reader sees what run A logged: loss and lr at steps 1..8.
        reader = ("import json, sys\n"
                  "from tensorboard.backend.event_processing.event_accumulator import EventAccumulator\n"
                  "acc = EventAccumulator(sys.argv[1]); acc.Reload()\n"
                  "print(json.dumps({t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()['scalars']}))\n")
        runs = glob.glob(os.path.join(a_dir, "**", "events.out.tfevents.*"), recursive=True)
        self.assertTrue(runs, f"no TensorBoard event file below {a_dir}")
        seen = json.loads(run([TRACKERS_PYTHON, "-c", reader, os.path.dirname(runs[0])]).stdout.splitlines()[-1])
        self.assertEqual([s for s, _ in seen["loss"]], list(range(1, 9)))
        for s, v in seen["loss"]:
            self.assertAlmostEqual(v, a["losses"][s], places=5)
        self.assertAlmostEqual(seen["lr"][-1][1], a["lr"], places=6)

    def test_dynamo_keys_compile_the_model(self):
        probe = ("import accel, torch\n"
                 "acc = accel.Accelerator(cpu=True)\n"
                 "m = torch.nn.Linear(4, 2); o = torch.optim.SGD(m.parameters(), lr=0.1)\n"
                 "pm, po = acc.prepare(m, o)\n"
                 "print('TYPE', type(pm).__name__, acc.config['dynamo_backend'])\n"
                 "with acc.accumulate(pm):\n"
                 "    acc.backward(pm(torch.randn(3, 4)).sum()); po.step()\n"
                 "print('STEPS', acc.completed_steps, acc.unwrap_model(pm) is m)\n")
        out = run([PYTHON, "-c", probe], {**self.env, "ACCEL_DYNAMO_BACKEND": "eager"}).stdout
        self.assertIn("TYPE OptimizedModule ('eager', 'environment variable ACCEL_DYNAMO_BACKEND')", out)
        self.assertIn("STEPS 1 True", out)
        out = run([PYTHON, "-c", probe], self.env).stdout
        self.assertIn("TYPE Linear ('no', 'default')", out)
        if MLP:  # a C++ program: the key does not apply, and it says so once
            out = run([MLP, "--steps", "1"], {**self.env, "ACCEL_DYNAMO_BACKEND": "inductor"}, cwd=self.dir).stdout
            self.assertEqual(out.count("dynamo_backend inductor (environment variable ACCEL_DYNAMO_BACKEND) "
                                       "does not apply to this program"), 1, out)

    def test_no_wait_on_the_process_group_holds_the_gil(self):
        # Rank 0 waits ~2 s in the bucket rebuild's broadcast; another Python thread ran during
        # it only if that wait let go of the GIL (it cannot run at all otherwise). Holding it
        # can also deadlock with Gloo's thread: then the harness's timeout fails the test.
        out = launch([], [os.path.join(SCRIPTS, "gil_collectives.py")], self.env, timeout=120).stdout
        self.assertIn("DONE 4", out)
        ticks = int(out.split("TICKS ", 1)[1].split()[0])
        self.assertGreater(ticks, 0, out[-2000:])

    def test_configuration_error_exits_78_naming_the_key(self):
        p = run([PYTHON, "-c", "import accel; accel.Accelerator(mixed_precision='bf17')"], self.env, check=False)
        self.assertEqual(p.returncode, 78, p.stdout)
        self.assertIn("mixed_precision: 'bf17' from code (Accelerator(mixed_precision=...)) is not one of", p.stdout)
        p = run([PYTHON, "-c", "import accel; accel.Accelerator(no_such_key=1)"], self.env, check=False)
        self.assertEqual(p.returncode, 78, p.stdout)
        self.assertIn("no_such_key", p.stdout)

    def test_pip_install_builds_an_importable_package(self):
        target = os.path.join(self.dir, "site")
        # ACCEL_BUILD_DIR: the build tree the test command already built (python/build_backend.py).
        env = {"ACCEL_BUILD_DIR": os.path.dirname(PACKAGE_DIR), "PIP_NO_INDEX": "1"}
        run([PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", target,
             os.path.join(ROOT, "python")], env)
        probe = "import accel, accel._core; print('FROM', accel.__file__, accel._core.__file__, accel.__version__)"
        out = run([PYTHON, "-c", probe], {"PYTHONPATH": target}).stdout
        self.assertIn(f"FROM {target}/accel/__init__.py {target}/accel/_core.", out)
        self.assertTrue(glob.glob(os.path.join(target, "accel-*.dist-info", "RECORD")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
