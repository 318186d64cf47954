// test_jobs.h — small helpers shared by the api unit tests.
#pragma once

#include <string>

#include "accel/api/acceljob.h"

namespace accel::api::testing {

// An AccelJob document named `name` whose spec is `spec_body` (lines indented by two spaces);
// "  image: img" is added unless the body sets image itself.
inline std::string job_yaml(const std::string& spec_body, const std::string& name = "t") {
  std::string y = "apiVersion: accel.dev/v1alpha1\nkind: AccelJob\nmetadata:\n  name: " + name +
                  "\nspec:\n";
  if (spec_body.find("image:") == std::string::npos) y += "  image: img\n";
  return y + spec_body;
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
