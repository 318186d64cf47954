#include "accel/api/yaml_bounds.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace accel::api {

namespace {

int line_of(const std::string& text, std::size_t offset) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
}

// Length of the UTF-8 sequence at text[i], or 0 when it is not a valid one (overlong forms,
// surrogates and code points above U+10FFFF included).
std::size_t utf8_length(const std::string& text, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;
  else if (c >= 0xE1 && c <= 0xEC) n = 3;
  else if (c == 0xED) n = 3, hi = 0x9F;
  else if (c >= 0xEE && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) n = 4, hi = 0x8F;
  else return 0;
  if (i + n > text.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

struct Walk {
  const YamlBounds& bounds;
  std::size_t nodes = 0;

  void visit(const YAML::Node& n, int depth) {
    if (++nodes > bounds.max_nodes)
      throw YamlBoundsError("more than " + std::to_string(bounds.max_nodes) +
                                " nodes with its aliases expanded (an alias expands to a copy of "
                                "what it names): refusing to read it",
                            n.Mark().is_null() ? 0 : n.Mark().line + 1);
    if (depth > bounds.max_depth)
      throw YamlBoundsError("nested more than " + std::to_string(bounds.max_depth) + " levels deep",
                            n.Mark().is_null() ? 0 : n.Mark().line + 1);
    if (n.IsSequence()) {
      for (const auto& item : n) visit(item, depth + 1);
    } else if (n.IsMap()) {
      for (const auto& kv : n) {
        visit(kv.first, depth + 1);
        visit(kv.second, depth + 1);
      }
    }
  }
};

// Parses without building anything: only the number of documents matters.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

bool is_utf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_length(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void check_yaml_text(const std::string& text, const YamlBounds& bounds) {
  if (text.size() > bounds.max_bytes)
    throw YamlBoundsError("is " + std::to_string(text.size()) + " bytes; the limit is " +
                              std::to_string(bounds.max_bytes) + " bytes",
                          0);
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_length(text, i);
    if (n == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[i]));
      throw YamlBoundsError(std::string("is not UTF-8 (byte ") + hex + " at offset " + std::to_string(i) +
                                "); save it as UTF-8",
                            line_of(text, i));
    }
    i += n;
  }
  // yaml-cpp 0.7's LoadAll never returns on some malformed text (a stray ',' before a
  // document's content: each call of the parser yields an empty document without consuming
  // anything, and LoadAll keeps every one, until memory runs out). Counting the documents
  // first, with a parser that builds nothing, stops there. YAML::Exception passes through.
  std::stringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  for (std::size_t documents = 0; parser.HandleNextDocument(counter);)
    if (++documents > bounds.max_documents)
      throw YamlBoundsError("holds more than " + std::to_string(bounds.max_documents) +
                                " YAML documents",
                            0);
}

void check_yaml_tree(const YAML::Node& document, const YamlBounds& bounds) {
  Walk{bounds}.visit(document, 1);
}

}  // namespace accel::api
