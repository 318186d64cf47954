// accel-gen-crd — prints the AccelJob CustomResourceDefinition built from the field table.
//   accel-gen-crd > crds/acceljob.yaml
#include <cstring>
#include <iostream>

#include "accel/api/crd.h"

int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) {
    std::cout << "usage: accel-gen-crd > crds/acceljob.yaml\n"
                 "Prints the AccelJob CRD generated from api/src/field_table.cpp.\n";
    return 0;
  }
  if (argc > 1) {
    std::cerr << "accel-gen-crd: unexpected argument '" << argv[1] << "' (try --help)\n";
    return 2;
  }
  std::cout << accel::api::crd_yaml();
  return std::cout ? 0 : 1;
}
