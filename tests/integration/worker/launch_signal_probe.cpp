// launch_signal_probe — a stand-in training program for launch_signals_test: run by
// `accel launch` as every rank, it records what happens to it in files under --dir.
//
//   <dir>/ready_rank<R>    "<pid> <helper pid>" once its signal handlers are installed; the
//                          helper is a child process (like a data-loader worker) that only waits
//   <dir>/signal_rank<R>   the number of every SIGTERM/SIGINT/SIGHUP it received, one a line
//
// On a signal it records it and then dies of it (default action), unless --ignore-term: then
// it records SIGTERM and keeps running. --die-rank R: rank R SIGKILLs itself once every rank
// is ready. Without a signal it exits 0 after --max-seconds (a test never leaves it behind).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

namespace {

volatile sig_atomic_t g_signal = 0;
int g_signal_fd = -1;
bool g_ignore_term = false;

void on_signal(int sig) {
  char line[8];
  int n = 0;
  if (sig >= 10) line[n++] = static_cast<char>('0' + sig / 10);
  line[n++] = static_cast<char>('0' + sig % 10);
  line[n++] = '\n';
  (void)!::write(g_signal_fd, line, static_cast<size_t>(n));
  if (sig == SIGTERM && g_ignore_term) return;
  g_signal = sig;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int die_rank = -1;
  double max_seconds = 60;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--dir")
      dir = next();
    else if (a == "--die-rank")
      die_rank = std::atoi(next().c_str());
    else if (a == "--max-seconds")
      max_seconds = std::atof(next().c_str());
    else if (a == "--ignore-term")
      g_ignore_term = true;
  }
  const char* rank_env = std::getenv("RANK");
  const char* world_env = std::getenv("WORLD_SIZE");
  if (dir.empty() || !rank_env || !world_env) {
    std::fprintf(stderr, "usage: RANK=r WORLD_SIZE=n launch_signal_probe --dir DIR\n");
    return 2;
  }
  const int rank = std::atoi(rank_env), world = std::atoi(world_env);
  const std::string suffix = "_rank" + std::to_string(rank);

  const std::string signal_path = dir + "/signal" + suffix;
  g_signal_fd = ::open(signal_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaction(s, &sa, nullptr);

  pid_t helper = ::fork();
  if (helper == 0) {
    // The helper keeps the default dispositions; it just waits for the group's signal.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaction(s, &dfl, nullptr);
    for (int i = 0; i < static_cast<int>(max_seconds * 10); ++i) ::usleep(100000);
    ::_exit(0);
  }
  {
    std::ofstream ready(dir + "/ready" + suffix + ".tmp");
    ready << ::getpid() << " " << helper << "\n";
  }
  std::rename((dir + "/ready" + suffix + ".tmp").c_str(), (dir + "/ready" + suffix).c_str());

  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int>(max_seconds * 1000));
  bool all_ready = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (g_signal != 0) {
      // Die of the signal, as a program without a handler would.
      signal(g_signal, SIG_DFL);
      ::raise(g_signal);
    }
    if (!all_ready) {
      all_ready = true;
      for (int r = 0; r < world; ++r)
        all_ready = all_ready && exists(dir + "/ready_rank" + std::to_string(r));
      if (all_ready && rank == die_rank) ::raise(SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}
