// run_command.h — `accel run JOB.yaml`: see accel/local/local_run.h.
#pragma once

namespace CLI {
class App;
}

namespace accel {
void add_run_command(CLI::App& app);
}
