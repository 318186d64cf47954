// crd.h — builds the AccelJob CustomResourceDefinition from the field table.
//
// crds/acceljob.yaml is the committed output of accel-gen-crd (which prints crd_yaml());
// tests/unit/api/crd_drift_test.cpp fails when the two differ.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace accel::api {

// The CRD as a JSON value (keys in the order they are written).
nlohmann::ordered_json crd_json();
// The CRD as YAML text, with a header comment saying it is generated.
std::string crd_yaml();

}  // namespace accel::api
