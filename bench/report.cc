#include "bench/report.h"

namespace sift::bench {

void WriteLatencyFields(const LatencySummary& latency, JsonWriter& json) {
  json.Key("mean_us").Double(latency.mean_us, 1);
  json.Key("p50_us").Double(latency.p50_us, 1);
  json.Key("p95_us").Double(latency.p95_us, 1);
  json.Key("p99_us").Double(latency.p99_us, 1);
  json.Key("min_us").Double(latency.min_us, 1);
  json.Key("max_us").Double(latency.max_us, 1);
}

void WriteMachine(const MachineInfo& machine, JsonWriter& json) {
  json.Key("machine").BeginObject();
  json.Key("cpus").Int(machine.cpus);
  json.Key("kernel").String(machine.kernel);
  json.Key("model_name").String(machine.cpu_model);
  json.EndObject();
}

double MegabytesPerSecond(uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0;
}

double PerSecond(uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

}  // namespace sift::bench
