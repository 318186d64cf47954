// yaml_scalar.h — (private) how kubectl types a plain YAML scalar (YAML 1.1: yes/no/on/off are
// booleans, 0x1F is an integer, ~ is null). The CRD emitter quotes any string this would
// not read back as a string.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace accel::api {
nlohmann::json resolve_plain_scalar(const std::string& text);
}
