// yaml_bounds.h — what Accel reads as YAML from a file (`accel run`'s AccelJob, the worker's
// config file) is bounded by design, not by luck: a size, UTF-8, a nesting depth and a number of
// nodes with aliases expanded as a reader expands them ("billion laughs": ten aliases of ten
// aliases … are 10^N nodes in a few hundred bytes). yaml-cpp itself already stops at a parser
// recursion depth of 2000 (its DepthGuard); these limits are far below what memory or the stack
// would hold, and far above any real job (an AccelJob is ~10 levels deep and a few hundred nodes).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace YAML {
class Node;
}

namespace accel::api {

struct YamlBounds {
  std::size_t max_bytes = 1 << 20;  // 1 MiB (kube-apiserver's own limit on an object is ~1.5 MiB)
  int max_depth = 64;
  std::size_t max_nodes = 100000;
  std::size_t max_documents = 16;  // Accel reads one; "---" separators with nothing between count
};

// line() is 1-based, 0 when the error has no place.
class YamlBoundsError : public std::runtime_error {
 public:
  YamlBoundsError(const std::string& what, int line) : std::runtime_error(what), line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

// Before parsing: the size, that the text is UTF-8 (the first bad byte's line is named), and
// the number of documents (a pass of the parser that builds no nodes). Throws YamlBoundsError,
// or YAML::Exception for text that is not YAML.
void check_yaml_text(const std::string& text, const YamlBounds& bounds = {});

// Whether `text` is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
// A file that is UTF-8 can still yield a scalar that is not: yaml-cpp decodes some escapes and
// stray control bytes to raw bytes, which JSON cannot carry.
bool is_utf8(const std::string& text);

// After parsing one document: depth and node count with every alias expanded. Stops as soon as
// a limit is passed, so it costs at most max_nodes steps whatever the document.
void check_yaml_tree(const YAML::Node& document, const YamlBounds& bounds = {});

}  // namespace accel::api
