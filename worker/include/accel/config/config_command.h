// accel/config/config_command.h — `accel config`: write, change and inspect the configuration file.
//
//   accel config [--config_file F]                 ask the questions, write the file
//   accel config set KEY VALUE [--config_file F]   change one key (validated)
//   accel config show [--config_file F]            print the file's settings
//   accel config explain [--config_file F]         resolve (file < env < ACCEL_LAUNCH_*) and print
//                                                  key | value | source
// The file is --config_file, else ACCEL_CONFIG_FILE, else the default path (see
// accel/config.h): the one a training program would read. Errors are accel::ConfigError
// (the `accel` main turns them into exit code 78).
#pragma once

#include <functional>
#include <iostream>
#include <map>
#include <string>

namespace CLI {
class App;
}

namespace accel {

// Where the command reads answers, writes output, and finds the environment (tests replace
// them; the real command uses std::cin, std::cout and the process environment).
struct ConfigCommandIO {
  std::istream* in = &std::cin;
  std::ostream* out = &std::cout;
  std::function<std::map<std::string, std::string>()> environment;  // empty: the process's
};

void add_config_command(CLI::App& app);
void add_config_command(CLI::App& app, ConfigCommandIO io);

}  // namespace accel
