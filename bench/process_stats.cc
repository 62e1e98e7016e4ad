#include "bench/process_stats.h"

#include <sched.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sift::bench {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<uint64_t> ParseProcStatusBytes(absl::string_view status_text,
                                              absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(status_text, '\n')) {
    if (!absl::ConsumePrefix(&line, name) || !absl::ConsumePrefix(&line, ":")) {
      continue;
    }
    line = absl::StripAsciiWhitespace(line);
    uint64_t kib = 0;
    if (!absl::ConsumeSuffix(&line, "kB") ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kib)) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": expected a number of kB, found \"", line, "\""));
    }
    return kib * 1024;
  }
  return absl::NotFoundError(absl::StrCat("no ", name, " line"));
}

absl::StatusOr<uint64_t> ReadPeakRssBytes() {
  absl::StatusOr<std::string> status = ReadWholeFile("/proc/self/status");
  if (!status.ok()) return status.status();
  absl::StatusOr<uint64_t> bytes = ParseProcStatusBytes(*status, "VmHWM");
  if (!bytes.ok()) {
    return absl::UnavailableError(
        absl::StrCat("/proc/self/status: ", bytes.status().message()));
  }
  return bytes;
}

absl::Status ResetPeakRss() {
  // "5" resets the peak RSS; see proc(5), /proc/PID/clear_refs.
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.close();
  if (!out) {
    return absl::UnavailableError(
        "cannot reset the peak RSS through /proc/self/clear_refs");
  }
  return absl::OkStatus();
}

MachineInfo ReadMachineInfo() {
  MachineInfo info;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    info.cpus = CPU_COUNT(&set);
  } else {
    info.cpus = static_cast<int>(std::thread::hardware_concurrency());
  }
  utsname name{};
  if (uname(&name) == 0) info.kernel = name.release;
  absl::StatusOr<std::string> cpuinfo = ReadWholeFile("/proc/cpuinfo");
  if (cpuinfo.ok()) {
    for (absl::string_view line : absl::StrSplit(*cpuinfo, '\n')) {
      if (!absl::StartsWith(line, "model name")) continue;
      const size_t colon = line.find(':');
      if (colon == absl::string_view::npos) continue;
      info.cpu_model =
          std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      break;
    }
  }
  return info;
}

absl::StatusOr<uint64_t> DirectoryBytes(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::NotFoundError(absl::StrCat(dir, ": no such directory"));
  }
  uint64_t total = 0;
  fs::recursive_directory_iterator it(dir, error);
  for (; !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    std::error_code entry_error;
    // A file can vanish while we walk (a background merge deleting its
    // inputs); it then no longer counts.
    if (it->is_symlink(entry_error) || !it->is_regular_file(entry_error)) {
      continue;
    }
    const uintmax_t size = it->file_size(entry_error);
    if (!entry_error) total += size;
  }
  if (error) {
    return absl::UnavailableError(
        absl::StrCat(dir, ": cannot list: ", error.message()));
  }
  return total;
}

absl::StatusOr<std::string> MakeTempDir(absl::string_view prefix) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmpdir != nullptr && tmpdir[0] != '\0' ? tmpdir : "/tmp",
                   "/", prefix, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot make a directory ", pattern, ": ", std::strerror(errno)));
  }
  return pattern;
}

}  // namespace sift::bench
