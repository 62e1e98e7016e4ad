#include "bench/command_line.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace sift::bench {

std::vector<char*> HyphensToUnderscores(int argc, char** argv,
                                        std::vector<std::string>& storage) {
  storage.assign(argv, argv + argc);
  for (size_t i = 1; i < storage.size(); ++i) {
    std::string& arg = storage[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;
    const size_t end = std::min(arg.find('='), arg.size());
    for (size_t j = 2; j < end; ++j) {
      if (arg[j] == '-') arg[j] = '_';
    }
  }
  std::vector<char*> args;
  for (std::string& arg : storage) args.push_back(arg.data());
  return args;
}

absl::Status PrepareIndexDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::exists(dir, error)) {
    if (!fs::is_directory(dir, error)) {
      return absl::FailedPreconditionError(
          absl::StrCat("--dir ", dir, " is not a directory"));
    }
    if (!fs::is_empty(dir, error) || error) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--dir ", dir,
          " is not empty: give a new or empty directory, so that the "
          "figures are those of a fresh index"));
    }
    return absl::OkStatus();
  }
  fs::create_directories(dir, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot make --dir ", dir, ": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace sift::bench
