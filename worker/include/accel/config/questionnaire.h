// accel/config/questionnaire.h — the questions `accel config` asks (like `accelerate config`).
#pragma once

#include <istream>
#include <map>
#include <ostream>
#include <string>

namespace accel {

// Asks, one line each on `out`, the questions of the key table (config_keys() entries with a
// question whose ask_if holds for the values known so far), reading one answer line each from
// `in`. The default shown in brackets is the key's value in `current` (the existing file),
// else its built-in default; an empty line (or end of input) keeps it. An invalid answer prints
// the error and asks again; so does an answer that contradicts an earlier one (machine_rank
// >= num_machines). Returns `current` updated with every answer (also answers equal to the
// default: the file then states them explicitly); keys whose question was skipped are removed
// from it, so a stale machine_rank cannot outlive num_machines = 1. `target` (the file to be
// written) is used in error messages. Throws ConfigError when input ends on a default that is
// itself invalid.
std::map<std::string, std::string> run_questionnaire(
    std::istream& in, std::ostream& out, const std::map<std::string, std::string>& current = {},
    const std::string& target = "the new config file");

}  // namespace accel
