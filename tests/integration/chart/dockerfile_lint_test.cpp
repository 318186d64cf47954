// dockerfiles/*.Dockerfile against the real hadolint (scripts/setup-lint.sh) with the project's
// policy, dockerfiles/.hadolint.yaml, and against the few rules hadolint has no check for,
// which this file checks itself (PolicyFindings below; dockerfiles/README.md, "## Lint").
//
// Each bad fixture in tests/integration/chart/fixtures/dockerfiles/ makes exactly the findings
// its row in kBad names, so a clean result for dockerfiles/ means something.
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/subprocess.h"
#include "files.h"
#include "lint_env.h"

namespace accel::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSource = ACCEL_SOURCE_DIR;
const std::string kConfig = kSource + "/dockerfiles/.hadolint.yaml";
const std::string kFixtures = kSource + "/tests/integration/chart/fixtures/dockerfiles/";
const std::vector<std::string> kDockerfiles = {kSource + "/dockerfiles/operator.Dockerfile",
                                               kSource + "/dockerfiles/worker.Dockerfile"};

// ---- hadolint ------------------------------------------------------------------------------

struct Hadolint {
  ExitStatus status;
  std::string output;                                  // what it printed (for messages)
  std::map<std::string, std::set<std::string>> codes;  // file name → rule codes it reported
  std::set<std::string> levels;                        // every level it reported
};

// Runs the real hadolint with the project's config over `files`, its JSON report written to a
// scratch file (its stdout and stderr reach us merged), read and removed.
Hadolint run_hadolint(const std::vector<std::string>& files, const std::string& tag) {
  const std::string report =
      (fs::temp_directory_path() /
       ("accel-hadolint-" + std::to_string(::getpid()) + "-" + tag + ".json"))
          .string();
  std::vector<std::string> argv{
      lint_venv() + "/bin/hadolint", "--no-color", "-c", kConfig, "-f", "json", "-o", report};
  argv.insert(argv.end(), files.begin(), files.end());
  auto r = run_command(argv, std::chrono::minutes(2));
  Hadolint h{r.status, r.output, {}, {}};
  const std::string json = read_file_or_throw(report);
  fs::remove(report);
  const nlohmann::json findings = nlohmann::json::parse(json);
  for (const auto& f : findings) {
    h.codes[fs::path(f.at("file").get<std::string>()).filename().string()].insert(
        f.at("code").get<std::string>());
    h.levels.insert(f.at("level").get<std::string>());
    h.output += "\n" + f.dump();
  }
  return h;
}

// ---- the rules hadolint has no check for ----------------------------------------------------

struct Instruction {
  int line = 0;         // 1-based line of its first line
  std::string keyword;  // upper-cased
  std::string args;     // continuation lines joined with a space
};

// Instructions, comment lines dropped and backslash-continued lines joined.
std::vector<Instruction> instructions(const std::string& text) {
  std::vector<Instruction> out;
  std::istringstream in(text);
  std::string line, pending;
  int n = 0, first = 0;
  while (std::getline(in, line)) {
    ++n;
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    if (pending.empty()) first = n;
    const bool more = line.back() == '\\';
    pending += (pending.empty() ? "" : " ") + line.substr(start, line.size() - start - more);
    if (more) continue;
    const auto sp = pending.find_first_of(" \t");
    std::string kw = pending.substr(0, sp);
    std::transform(kw.begin(), kw.end(), kw.begin(), ::toupper);
    out.push_back({first, kw, sp == std::string::npos ? "" : pending.substr(sp + 1)});
    pending.clear();
  }
  return out;
}

// The policy checks hadolint lacks, each finding named by its rule:
//   from-resolves     a FROM that uses ${ARG}s, those replaced by the defaults of the ARGs
//                     before the first FROM, names an earlier stage or an image with a tag (not
//                     latest) or digest. hadolint does not resolve ARGs: FROM build-${VARIANT}
//                     is an untagged image to it, debian:${V} a tagged one whatever V is; a
//                     FROM without ${...} is hadolint's (DL3006, DL3007)
//   final-user        the final stage sets USER (DL3002 and DL3066 judge a USER that exists)
//   no-add            no ADD at all (DL3020 allows ADD of URLs and archives)
//   no-upgrade        no apt-get upgrade / dist-upgrade (hadolint 2.x has no DL3005)
//   no-pipe-to-shell  no curl/wget output piped into a shell
//   multi-stage       at least two stages (build and runtime)
//   pragma            the only inline `# hadolint ignore=` is DL3006 right above a FROM whose
//                     image is picked by an ARG (from-resolves checks that one instead)
std::set<std::string> policy_findings(const std::string& text) {
  std::set<std::string> found;
  const auto ins = instructions(text);

  std::map<std::string, std::string> args;  // ARG defaults before the first FROM
  std::set<std::string> stages;
  int froms = 0;
  bool user_in_stage = false;
  static const std::regex var(R"(\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?)");
  for (const auto& i : ins) {
    if (i.keyword == "ARG" && froms == 0) {
      const auto eq = i.args.find('=');
      if (eq != std::string::npos) args[i.args.substr(0, eq)] = i.args.substr(eq + 1);
    }
    if (i.keyword == "FROM") {
      ++froms;
      user_in_stage = false;
      std::istringstream words(i.args);
      std::string image, as, name;
      while (words >> image && image.rfind("--", 0) == 0) {
      }
      words >> as >> name;
      std::string resolved;
      auto from = image.cbegin();
      for (std::sregex_iterator m(image.begin(), image.end(), var), end; m != end; ++m) {
        resolved.append(from, (*m)[0].first);
        const auto a = args.find((*m)[1].str());
        if (a == args.end() || a->second.empty())
          found.insert("from-resolves");
        else
          resolved += a->second;
        from = (*m)[0].second;
      }
      resolved.append(from, image.cend());
      const std::string last = resolved.substr(resolved.rfind('/') + 1);
      const auto colon = last.find(':');
      const bool tagged = resolved.find('@') != std::string::npos ||
                          (colon != std::string::npos && colon + 1 < last.size() &&
                           last.substr(colon + 1) != "latest");
      if (resolved != image && !stages.count(resolved) && !tagged) found.insert("from-resolves");
      if (!name.empty()) stages.insert(name);
    }
    if (i.keyword == "USER") user_in_stage = true;
    if (i.keyword == "ADD") found.insert("no-add");
    if (i.keyword == "RUN") {
      static const std::regex upgrade(R"(\bapt(-get)?\s+(-\S+\s+)*(dist-)?upgrade\b)");
      static const std::regex pipe_sh(R"(\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(ba|da|z)?sh\b)");
      if (std::regex_search(i.args, upgrade)) found.insert("no-upgrade");
      if (std::regex_search(i.args, pipe_sh)) found.insert("no-pipe-to-shell");
    }
  }
  if (!user_in_stage) found.insert("final-user");
  if (froms < 2) found.insert("multi-stage");

  std::istringstream in(text);
  std::string line;
  bool after_pragma = false;
  static const std::regex pragma(R"(^\s*#\s*hadolint\s+ignore=(\S+)\s*$)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, pragma)) {
      if (m[1] != "DL3006") found.insert("pragma");
      after_pragma = true;
      continue;
    }
    const auto start = line.find_first_not_of(" \t");
    if (!after_pragma || start == std::string::npos || line[start] == '#') continue;
    static const std::regex picked_stage(R"(^\s*FROM\s+\S*\$)", std::regex::icase);
    if (!std::regex_search(line, picked_stage)) found.insert("pragma");
    after_pragma = false;
  }
  return found;
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : " ") + x;
  return out.empty() ? "(none)" : out;
}

// ---- the project's Dockerfiles --------------------------------------------------------------

TEST(Dockerfiles, PassHadolintWithTheProjectsConfig) {
  const auto h = run_hadolint(kDockerfiles, "dockerfiles");
  EXPECT_TRUE(h.status.success()) << h.status.describe() << h.output;
  EXPECT_TRUE(h.codes.empty()) << h.output;
}

TEST(Dockerfiles, PassTheRulesHadolintLacks) {
  for (const auto& f : kDockerfiles) {
    SCOPED_TRACE(f);
    EXPECT_EQ(join(policy_findings(read_file_or_throw(f))), "(none)");
  }
}

TEST(Dockerfiles, BothRunAsTheChartsUidWithAnExecFormEntrypoint) {
  for (const auto& f : kDockerfiles) {
    SCOPED_TRACE(f);
    std::string user, entrypoint;
    for (const auto& i : instructions(read_file_or_throw(f))) {
      if (i.keyword == "FROM") user.clear();
      if (i.keyword == "USER") user = i.args;
      if (i.keyword == "ENTRYPOINT") entrypoint = i.args;
    }
    EXPECT_EQ(user, "65532:65532");
    EXPECT_EQ(entrypoint.rfind("[\"/usr/local/bin/accel", 0), 0u) << entrypoint;
  }
}

TEST(Dockerfiles, WorkerHasACpuAndACudaVariant) {
  std::set<std::string> stages;
  std::string variant_default;
  for (const auto& i : instructions(read_file_or_throw(kDockerfiles[1]))) {
    if (i.keyword == "ARG" && i.args.rfind("VARIANT=", 0) == 0) variant_default = i.args.substr(8);
    const auto as = i.args.find(" AS ");
    if (i.keyword == "FROM" && as != std::string::npos) stages.insert(i.args.substr(as + 4));
  }
  EXPECT_EQ(variant_default, "cpu");
  for (const char* s :
       {"build-cpu", "build-cuda", "runtime-cpu", "runtime-cuda", "build", "runtime"})
    EXPECT_TRUE(stages.count(s)) << "no stage " << s;
}

// ---- the bad fixtures -----------------------------------------------------------------------

struct Bad {
  const char* fixture;   // fixtures/dockerfiles/<fixture>.Dockerfile
  const char* hadolint;  // the rule codes hadolint reports, space-separated ("" for none)
  const char* policy;    // the policy_findings rules, space-separated ("" for none)
};

const Bad kBad[] = {
    {"untagged-base", "DL3006", ""},
    {"latest-base", "DL3007", ""},
    {"root-user", "DL3002", ""},
    {"named-user", "DL3066", ""},
    {"shell-form-entrypoint", "DL3025", ""},
    {"apt-get-without-y", "DL3014", ""},
    {"apt-get-with-recommends", "DL3015", ""},
    {"apt-lists-kept", "DL3009", ""},
    {"add-local-files", "DL3020", "no-add"},
    {"copy-from-unknown-stage", "DL3022", ""},
    {"relative-workdir", "DL3000", ""},
    {"sudo", "DL3004", ""},
    {"duplicate-stage-name", "DL3024", ""},
    {"pipe-without-pipefail", "DL4006", ""},
    {"other-registry", "DL3026", ""},
    {"arg-without-default", "", "from-resolves"},
    {"unknown-stage-via-arg", "", "from-resolves"},
    {"no-final-user", "", "final-user"},
    {"add-url", "", "no-add"},
    {"apt-get-upgrade", "", "no-upgrade"},
    {"curl-pipe-shell", "", "no-pipe-to-shell"},
    {"single-stage", "", "multi-stage"},
    {"stray-ignore-pragma", "", "pragma"},
};

std::ostream& operator<<(std::ostream& os, const Bad& b) { return os << b.fixture; }

std::set<std::string> words(const char* s) {
  std::set<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

// One hadolint run over every fixture (it starts in milliseconds, but once is enough).
const Hadolint& fixtures_report() {
  static const Hadolint h = [] {
    std::vector<std::string> files;
    for (const auto& b : kBad) files.push_back(kFixtures + b.fixture + ".Dockerfile");
    return run_hadolint(files, "fixtures");
  }();
  return h;
}

TEST(BadDockerfiles, FailHadolintAndEveryFindingIsAnError) {
  const auto& h = fixtures_report();
  EXPECT_FALSE(h.status.success()) << h.output;
  // dockerfiles/.hadolint.yaml raises each rule of the project's policy to `error`.
  EXPECT_EQ(join(h.levels), "error") << h.output;
}

TEST(BadDockerfiles, EveryFixtureIsInTheTable) {
  std::set<std::string> listed, present;
  for (const auto& b : kBad) listed.insert(std::string(b.fixture) + ".Dockerfile");
  for (const auto& e : fs::directory_iterator(kFixtures))
    present.insert(e.path().filename().string());
  EXPECT_EQ(join(present), join(listed));
}

class BadDockerfile : public ::testing::TestWithParam<Bad> {};

TEST_P(BadDockerfile, MakesExactlyTheFindingsItIsFor) {
  const Bad& b = GetParam();
  const auto& h = fixtures_report();
  const auto it = h.codes.find(std::string(b.fixture) + ".Dockerfile");
  const std::set<std::string> none;
  EXPECT_EQ(join(it == h.codes.end() ? none : it->second), join(words(b.hadolint)))
      << "hadolint on " << b.fixture << ":" << h.output;
  EXPECT_EQ(join(policy_findings(read_file_or_throw(kFixtures + b.fixture + ".Dockerfile"))),
            join(words(b.policy)))
      << "policy_findings on " << b.fixture;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BadDockerfile, ::testing::ValuesIn(kBad),
                         [](const ::testing::TestParamInfo<Bad>& i) {
                           std::string n = i.param.fixture;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace accel::testing
