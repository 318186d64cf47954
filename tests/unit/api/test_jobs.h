// test_jobs.h — small helpers shared by the api unit tests.
#pragma once

#include <string>

#include "accel/api/acceljob.h"

namespace accel::api::testing {

// An AccelJob document named `name` whose spec is `spec_body` (lines indented by two spaces);
// "  image: img" and "  command: [train]" are added unless the body sets image, or command or
// args, itself.
inline std::string job_yaml(const std::string& spec_body, const std::string& name = "t") {
  std::string y = "apiVersion: accel.dev/v1alpha1\nkind: AccelJob\nmetadata:\n  name: " + name +
                  "\nspec:\n";
  if (spec_body.find("image:") == std::string::npos) y += "  image: img\n";
  y += spec_body;  // before the command line, so the body keeps its line numbers
  if (spec_body.find("command:") == std::string::npos && spec_body.find("args:") == std::string::npos)
    y += "  command: [train]\n";
  return y;
}

// Parses, defaults and validates as `accel run` does; returns the error text, or "" if accepted.
inline std::string rejection(const std::string& yaml) {
  try {
    AccelJob job = parse_acceljob_yaml(yaml);
    apply_defaults(job);
    validate_or_throw(job);
    return "";
  } catch (const SpecError& e) {
    return e.what();
  } catch (const ValidationError& e) {
    return e.what();
  }
}

inline std::string example_path(const std::string& file) {
  return std::string(ACCEL_SOURCE_DIR) + "/examples/" + file;
}

}  // namespace accel::api::testing
