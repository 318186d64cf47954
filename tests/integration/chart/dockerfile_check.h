// dockerfile_check.h — a small Dockerfile linter for dockerfiles/*.Dockerfile.
//
// No Dockerfile linter is packaged for Debian bookworm (hadolint is not), so the rules the
// project cares about are checked here, each with an id and a message naming the line:
//   DF001 FROM names a tag or digest (no implicit or explicit :latest); ${ARG}s are resolved
//         from the ARG defaults before the first FROM; `FROM <stage>` must name an earlier stage
//   DF002 the final stage runs as a numeric non-root USER
//   DF003 ENTRYPOINT and CMD use the exec (JSON array) form
//   DF004 `apt-get install` has -y and --no-install-recommends, and its RUN removes
//         /var/lib/apt/lists; no `apt-get upgrade` / `dist-upgrade`
//   DF005 no ADD (COPY is explicit; remote URLs are not reproducible)
//   DF006 COPY --from names an earlier stage
//   DF007 WORKDIR is absolute
//   DF008 no sudo; no `curl ... | sh`
//   DF009 stage names are unique
//   DF010 a RUN with a pipe runs under SHELL [..., "-o", "pipefail", ...] (set in the stage or
//         inherited from the earlier stage it starts FROM)
//   DF011 at least two stages (build and runtime)
#pragma once

#include <string>
#include <vector>

namespace accel::testing {

struct DockerInstruction {
  int line = 0;         // 1-based line of the instruction's first line
  std::string keyword;  // upper-cased: FROM, RUN, ...
  std::string args;     // the rest, continuation lines joined with a space
};

// Splits a Dockerfile into instructions: comments and parser directives dropped, lines ending
// in a backslash joined.
std::vector<DockerInstruction> parse_dockerfile(const std::string& text);

struct DockerFinding {
  int line = 0;
  std::string rule;     // DF001 ...
  std::string message;  // what is wrong and how to fix it
};

std::vector<DockerFinding> check_dockerfile(const std::string& text);

}  // namespace accel::testing
