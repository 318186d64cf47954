#include "run_command.h"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "accel/local/local_run.h"

namespace accel {

void add_run_command(CLI::App& app) {
  auto options = std::make_shared<local::LocalRunOptions>();
  auto style = std::make_shared<std::string>("auto");
  auto* sub = app.add_subcommand(
      "run",
      "Run an AccelJob on this machine, without a cluster: the same YAML `kubectl apply` takes, "
      "validated by the same rules, each node an `accel launch` process group on loopback, with "
      "the operator's own restart policy, timeouts and exit codes.");
  sub->add_option("job", options->job_file, "AccelJob YAML file")->required()->check(CLI::ExistingFile);
  sub->add_option("--dir", options->dir,
                  "Run directory: pods' working directory, logs/<pod>.log, and the root for the "
                  "spec's absolute paths (default ./accel-runs/<job name>)");
  sub->add_option("--output", *style, "auto (a live progress line on a terminal), live, or plain")
      ->check(CLI::IsMember({"auto", "live", "plain"}));
  sub->add_option("--progress-every", options->progress_every_seconds,
                  "Plain output: seconds between progress lines")
      ->check(CLI::PositiveNumber);
  sub->callback([options, style] {
    options->style = *style == "live"    ? local::LocalRunOptions::Style::Live
                     : *style == "plain" ? local::LocalRunOptions::Style::Plain
                                         : local::LocalRunOptions::Style::Auto;
    std::exit(local::run_local_job(*options, std::cout));
  });
}

}  // namespace accel
