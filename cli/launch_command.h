// launch_command.h — `accel launch`: see accel/launcher.h for what it does.
#pragma once

namespace CLI {
class App;
}

namespace accel {
void add_launch_command(CLI::App& app);
}
