// questionnaire.cpp — `accel config` without a subcommand.
#include "accel/config/questionnaire.h"

#include "accel/config.h"
#include "cross_checks.h"

namespace accel {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::map<std::string, std::string> run_questionnaire(
    std::istream& in, std::ostream& out, const std::map<std::string, std::string>& current,
    const std::string& target) {
  // Values known so far, canonical: defaults, then the current file, then the answers.
  std::map<std::string, std::string> known;
  for (const auto& k : config_keys())
    if (k.derived_default.empty()) known[k.name] = k.default_value;
  for (const auto& [key, raw] : current) {
    const KeySpec& spec = require_config_key(key, target);
    known[key] = normalize_value(spec, raw, "config file " + target);
  }
  std::map<std::string, std::string> result = current;

  auto as_resolved = [&] {
    std::map<std::string, ResolvedValue> v;
    for (const auto& [key, value] : known)
      v[key] = ResolvedValue{value, ConfigSource::ConfigFile, target};
    return v;
  };

  for (const KeySpec& k : config_keys()) {
    if (k.question.empty()) continue;
    if (k.ask_if && !k.ask_if(known)) {
      result.erase(k.name);
      if (k.derived_default.empty()) known[k.name] = k.default_value;
      continue;
    }
    const std::string def = known.count(k.name) ? known[k.name] : "";
    for (;;) {
      out << k.question << " [" << def << "]: " << std::flush;
      std::string line;
      const bool got = static_cast<bool>(std::getline(in, line));
      if (!got) out << "\n";
      const std::string answer = trim(line);
      const std::string previous = known[k.name];
      try {
        const bool none = k.type == KeyType::List && (answer == "none" || answer == "None");
        const std::string value = none             ? ""
                                  : answer.empty() ? def
                                                   : normalize_value(k, answer, "your answer");
        known[k.name] = value;
        config_detail::check_cross_key(as_resolved());
        result[k.name] = value;
        break;
      } catch (const ConfigError& e) {
        known[k.name] = previous;
        if (!got) throw;  // no more input and the default does not fit
        out << "  " << e.what() << "\n";
      }
    }
  }
  return result;
}

}  // namespace accel
