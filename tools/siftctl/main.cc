// siftctl: the command-line client of Sift. Parses the command line and hands
// it to RunCommand; everything else lives in sift_siftctl_lib.

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "tools/siftctl/command_line.h"
#include "tools/siftctl/commands.h"

namespace {

int TerminalColumns() {
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  int columns = 0;
  const char* env = std::getenv("COLUMNS");
  if (env != nullptr && absl::SimpleAtoi(env, &columns) && columns > 0) {
    return columns;
  }
  return 80;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sift::siftctl;
  const std::vector<std::string> args(argv + 1, argv + argc);
  Command command = Command::kNone;
  absl::StatusOr<Invocation> invocation =
      ParseCommandLine(args, ProcessEnv(), &command);
  if (!invocation.ok()) {
    std::cerr << "siftctl: " << invocation.status().message() << "\n\n"
              << UsageText(command);
    return kExitUsage;
  }
  if (invocation->help) {
    std::cout << UsageText(invocation->command);
    return kExitOk;
  }
  Terminal terminal;
  terminal.stdout_is_tty = isatty(STDOUT_FILENO) == 1;
  terminal.stderr_is_tty = isatty(STDERR_FILENO) == 1;
  if (terminal.stdout_is_tty) terminal.columns = TerminalColumns();
  return RunCommand(*invocation, terminal, std::cout, std::cerr);
}
