// accel/local/local_run.h — `accel run JOB.yaml`: an AccelJob on this machine, without a cluster.
//
// The operator's own reconciler and executor (operator/controller: reconcile(), desired(),
// execute()) decide and carry out everything — gang creation, whole-gang restarts with
// backoff, startup/stall/deadline timers, exit-code classification, clean-up — against a
// LocalCluster: an in-process store of pods whose "kubelet" runs each pod as one
// `accel launch` process group on loopback with the pod's own env contract. operator/local/RUN.md says what is mapped how.
#pragma once

#include <iosfwd>
#include <string>

namespace accel::local {

struct LocalRunOptions {
  std::string job_file;  // the AccelJob YAML (the same file `kubectl apply` takes)
  // Run directory: pods' working directory, their logs (logs/<pod>.log), and the root that
  // absolute paths of the spec (checkpoint.dir, logging.projectDir, logging.loggingDir) are
  // placed under, as if a volume were mounted there. Empty: ./accel-runs/<job name>.
  std::string dir;
  // Program run as the pods' entrypoint (`<entrypoint> launch -- <command> <args>`). Empty:
  // this very executable.
  std::string entrypoint;
  // Output style: a live progress line redrawn in place (terminal), or plain log lines.
  enum class Style { Auto, Live, Plain } style = Style::Auto;
  // Plain style: a progress line at most this often (seconds).
  int progress_every_seconds = 10;
};

// Runs the job to its end and returns the process exit code: 0 when the job Succeeded; when
// it Failed, the exit code of the failure that ended it (api/EXIT_CODES.md: 78 config error,
// 79 rendezvous, 80 collective timeout, 81 stalled, 128+N signal N), 1 when there is none
// (deadline exceeded); 78 when the spec is invalid (nothing runs then); 128+N when stopped by
// signal N (SIGINT/SIGTERM: the gang is stopped cleanly, completed checkpoints stay).
// Human-readable output goes to `out`.
int run_local_job(const LocalRunOptions& options, std::ostream& out);

}  // namespace accel::local
