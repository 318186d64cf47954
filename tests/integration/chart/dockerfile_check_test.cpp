// dockerfiles/*.Dockerfile pass the project's Dockerfile rules (dockerfile_check.h), and each
// rule catches the mistake it is for (so a clean result means something).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "dockerfile_check.h"

namespace accel::testing {
namespace {

const std::string kDockerfiles = std::string(ACCEL_SOURCE_DIR) + "/dockerfiles/";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string describe(const std::vector<DockerFinding>& f) {
  std::string s;
  for (const auto& x : f)
    s += "line " + std::to_string(x.line) + " " + x.rule + ": " + x.message + "\n";
  return s;
}

bool has_rule(const std::vector<DockerFinding>& f, const std::string& rule) {
  for (const auto& x : f)
    if (x.rule == rule) return true;
  return false;
}

TEST(Dockerfiles, OperatorDockerfilePassesEveryRule) {
  const auto f = check_dockerfile(read_text(kDockerfiles + "operator.Dockerfile"));
  EXPECT_TRUE(f.empty()) << describe(f);
}

TEST(Dockerfiles, WorkerDockerfilePassesEveryRule) {
  const auto f = check_dockerfile(read_text(kDockerfiles + "worker.Dockerfile"));
  EXPECT_TRUE(f.empty()) << describe(f);
}

TEST(Dockerfiles, BothRunAsTheChartsUidWithAnExecFormEntrypoint) {
  for (const char* name : {"operator.Dockerfile", "worker.Dockerfile"}) {
    SCOPED_TRACE(name);
    const auto ins = parse_dockerfile(read_text(kDockerfiles + name));
    std::string user, entrypoint;
    for (const auto& i : ins) {
      if (i.keyword == "FROM") user.clear();
      if (i.keyword == "USER") user = i.args;
      if (i.keyword == "ENTRYPOINT") entrypoint = i.args;
    }
    EXPECT_EQ(user, "65532:65532");
    EXPECT_FALSE(entrypoint.empty());
  }
  EXPECT_NE(read_text(kDockerfiles + "operator.Dockerfile")
                .find("ENTRYPOINT [\"/usr/local/bin/accel-operator\"]"),
            std::string::npos);
}

TEST(Dockerfiles, WorkerHasACpuAndACudaVariant) {
  const auto ins = parse_dockerfile(read_text(kDockerfiles + "worker.Dockerfile"));
  std::set<std::string> stages;
  std::string variant_default;
  for (const auto& i : ins) {
    if (i.keyword == "ARG" && i.args.rfind("VARIANT=", 0) == 0) variant_default = i.args.substr(8);
    const auto as = i.args.find(" AS ");
    if (i.keyword == "FROM" && as != std::string::npos) stages.insert(i.args.substr(as + 4));
  }
  EXPECT_EQ(variant_default, "cpu");
  for (const char* s :
       {"build-cpu", "build-cuda", "runtime-cpu", "runtime-cuda", "build", "runtime"})
    EXPECT_TRUE(stages.count(s)) << "no stage " << s;
}

TEST(DockerfileCheck, JoinsContinuationLinesAndSkipsComments) {
  const auto ins = parse_dockerfile("# c\nFROM a:1 AS b\nRUN x \\\n  # inner\n  && y\n");
  ASSERT_EQ(ins.size(), 2u);
  EXPECT_EQ(ins[1].keyword, "RUN");
  EXPECT_EQ(ins[1].line, 3);
  EXPECT_EQ(ins[1].args, "x && y");
}

struct Bad {
  const char* name;
  const char* dockerfile;
  const char* rule;
};
std::ostream& operator<<(std::ostream& os, const Bad& b) { return os << b.name; }

const Bad kBad[] = {
    {"UntaggedBase", "FROM debian AS b\nFROM debian:bookworm-slim\nUSER 1000\n", "DF001"},
    {"LatestBase", "FROM debian:latest AS b\nFROM debian:bookworm-slim\nUSER 1000\n", "DF001"},
    {"ArgWithoutDefault", "ARG V\nFROM debian:${V} AS b\nFROM debian:12\nUSER 1000\n", "DF001"},
    {"UnknownStage", "FROM debian:12 AS b\nFROM build-gpu\nUSER 1000\n", "DF001"},
    {"NoUser", "FROM debian:12 AS b\nFROM debian:12-slim\n", "DF002"},
    {"RootUser", "FROM debian:12 AS b\nFROM debian:12-slim\nUSER 0\n", "DF002"},
    {"NamedUser", "FROM debian:12 AS b\nFROM debian:12-slim\nUSER accel\n", "DF002"},
    {"ShellFormEntrypoint",
     "FROM debian:12 AS b\nFROM debian:12-slim\nUSER 1\nENTRYPOINT /bin/op --flag\n", "DF003"},
    {"InstallWithRecommends",
     "FROM debian:12 AS b\nRUN apt-get update && apt-get install -y x && rm -rf "
     "/var/lib/apt/lists/*\n"
     "FROM debian:12-slim\nUSER 1\n",
     "DF004"},
    {"InstallKeepsLists",
     "FROM debian:12 AS b\nRUN apt-get install -y --no-install-recommends x\nFROM "
     "debian:12-slim\nUSER 1\n",
     "DF004"},
    {"Upgrade", "FROM debian:12 AS b\nRUN apt-get upgrade -y\nFROM debian:12-slim\nUSER 1\n",
     "DF004"},
    {"Add", "FROM debian:12 AS b\nADD https://x/y.tgz /y\nFROM debian:12-slim\nUSER 1\n", "DF005"},
    {"CopyFromUnknownStage",
     "FROM debian:12 AS b\nFROM debian:12-slim\nCOPY --from=bild /o /\nUSER 1\n", "DF006"},
    {"RelativeWorkdir", "FROM debian:12 AS b\nWORKDIR src\nFROM debian:12-slim\nUSER 1\n", "DF007"},
    {"Sudo", "FROM debian:12 AS b\nRUN sudo make\nFROM debian:12-slim\nUSER 1\n", "DF008"},
    {"CurlPipeShell",
     "FROM debian:12 AS b\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n"
     "RUN curl -fsSL https://x/i.sh | sh\nFROM debian:12-slim\nUSER 1\n",
     "DF008"},
    {"DuplicateStage", "FROM debian:12 AS b\nFROM debian:12 AS b\nUSER 1\n", "DF009"},
    {"PipeWithoutPipefail",
     "FROM debian:12 AS b\nRUN ldd /x | grep y\nFROM debian:12-slim\nUSER 1\n", "DF010"},
    {"SingleStage", "FROM debian:12\nUSER 1\n", "DF011"},
};

class DockerfileCheckFlags : public ::testing::TestWithParam<Bad> {};

TEST_P(DockerfileCheckFlags, TheMistakeItIsFor) {
  const auto f = check_dockerfile(GetParam().dockerfile);
  EXPECT_TRUE(has_rule(f, GetParam().rule)) << "expected " << GetParam().rule << ", got:\n"
                                            << describe(f);
}

INSTANTIATE_TEST_SUITE_P(Table, DockerfileCheckFlags, ::testing::ValuesIn(kBad),
                         [](const ::testing::TestParamInfo<Bad>& i) {
                           return std::string(i.param.name);
                         });

TEST(DockerfileCheck, PipefailIsInheritedFromTheStageAFromNames) {
  const auto f = check_dockerfile(
      "FROM debian:12 AS a\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n"
      "FROM a AS b\nRUN ldd /x | grep y\nFROM debian:12-slim\nUSER 1\n");
  EXPECT_TRUE(f.empty()) << describe(f);
}

}  // namespace
}  // namespace accel::testing
