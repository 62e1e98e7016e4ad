#ifndef SIFT_BENCH_PROCESS_STATS_H_
#define SIFT_BENCH_PROCESS_STATS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sift::bench {

// The value of a "Name:   123 kB" line of a /proc/PID/status text, in bytes.
// NOT_FOUND when the line is missing, INVALID_ARGUMENT when it is not a
// number of kB.
absl::StatusOr<uint64_t> ParseProcStatusBytes(absl::string_view status_text,
                                              absl::string_view name);

// The process's peak resident set size (VmHWM) since it started or since
// the last ResetPeakRss. UNAVAILABLE where /proc/self/status cannot be read.
absl::StatusOr<uint64_t> ReadPeakRssBytes();

// Starts a new peak: afterwards VmHWM is the current resident set size
// (Linux 4.0 and later, through /proc/self/clear_refs). UNAVAILABLE where
// the kernel refuses; the peak then keeps counting from process start.
absl::Status ResetPeakRss();

// The machine the figures come from.
struct MachineInfo {
  // Processors this process may run on.
  int cpus = 0;
  // uname's release, e.g. "6.1.0-18-amd64".
  std::string kernel;
  // The first "model name" of /proc/cpuinfo; empty when there is none.
  std::string cpu_model;
};
MachineInfo ReadMachineInfo();

// Sum of the sizes of the regular files under `dir`, recursively (symbolic
// links are not followed). NOT_FOUND when `dir` does not exist.
absl::StatusOr<uint64_t> DirectoryBytes(const std::string& dir);

// Makes a new, empty directory named PREFIX-XXXXXX under $TMPDIR (or /tmp)
// and returns its path. UNAVAILABLE when it cannot be made.
absl::StatusOr<std::string> MakeTempDir(absl::string_view prefix);

}  // namespace sift::bench

#endif  // SIFT_BENCH_PROCESS_STATS_H_
