// accel — the command-line front end of libaccel.
//
//   accel config [set|show|explain]   write or inspect the configuration file
//   accel launch [flags] -- PROGRAM   run one node's ranks of a training gang
//   accel run JOB.yaml                run an AccelJob on this machine
#include <CLI/CLI.hpp>

#include <iostream>

#include "accel/config/config_command.h"
#include "launch_command.h"
#include "run_command.h"

#ifndef ACCEL_VERSION
#define ACCEL_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{"accel: distributed training with libaccel, on one machine or on Kubernetes"};
  app.set_version_flag("--version", std::string("accel ") + ACCEL_VERSION);
  app.require_subcommand(1);
  accel::add_config_command(app);
  accel::add_launch_command(app);
  accel::add_run_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // A usage error (a missing program, an unknown flag, a bad value) is a configuration
    // error: 78, never retried, instead of CLI11's own codes (106 "program is required"),
    // which the operator would retry. --help and --version still exit 0.
    return app.exit(e) == 0 ? 0 : 78;
  } catch (const std::exception& e) {
    std::cerr << "accel: " << e.what() << std::endl;
    return 78;  // configuration error (api/EXIT_CODES.md)
  }
  return 0;
}
