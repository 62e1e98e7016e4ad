#ifndef SIFT_BENCH_REPORT_H_
#define SIFT_BENCH_REPORT_H_

#include "bench/json_writer.h"
#include "bench/latency_stats.h"
#include "bench/process_stats.h"

namespace sift::bench {

// Pieces shared by the JSON reports of both modes.

// mean_us, p50_us, p95_us, p99_us, min_us, max_us as keys of the object
// being written (microseconds, one decimal).
void WriteLatencyFields(const LatencySummary& latency, JsonWriter& json);

// The "machine" object: cpus, kernel, model_name.
void WriteMachine(const MachineInfo& machine, JsonWriter& json);

// Megabytes (10^6 bytes) per second; 0 when `seconds` is not positive.
double MegabytesPerSecond(uint64_t bytes, double seconds);

// `count` per second; 0 when `seconds` is not positive.
double PerSecond(uint64_t count, double seconds);

}  // namespace sift::bench

#endif  // SIFT_BENCH_REPORT_H_
