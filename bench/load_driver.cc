#include "bench/load_driver.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sync/mutex.h"

namespace sift::bench {
namespace {

using Clock = std::chrono::steady_clock;

double MicrosSince(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double, std::micro>(end - start).count();
}

}  // namespace

PassFigures RunTimedPasses(const std::vector<BenchQuery>& queries,
                           const QueryFn& run, const PassOptions& options) {
  PassFigures figures;
  figures.queries = queries.size();
  if (queries.empty()) return figures;

  if (options.warmup_min > 0) {
    const absl::Time warmup_end = absl::Now() + options.warmup_max;
    while (figures.warmup_queries < options.warmup_min &&
           (figures.warmup_passes == 0 || absl::Now() < warmup_end)) {
      for (const BenchQuery& query : queries) {
        // Only the timed passes count failures.
        run(query).status().IgnoreError();
      }
      figures.warmup_queries += queries.size();
      ++figures.warmup_passes;
    }
  }

  std::vector<double> micros;
  micros.reserve(queries.size() *
                 static_cast<size_t>(std::max(0, options.reps)));
  std::vector<bool> failed(queries.size(), false);
  std::vector<std::vector<double>> by_query(queries.size());
  figures.hits.assign(queries.size(), 0);
  uint64_t hits_sum = 0;
  uint64_t hits_counted = 0;
  double timed_micros = 0;
  for (int rep = 0; rep < options.reps; ++rep) {
    const Clock::time_point pass_start = Clock::now();
    for (size_t i = 0; i < queries.size(); ++i) {
      const Clock::time_point start = Clock::now();
      absl::StatusOr<uint64_t> hits = run(queries[i]);
      const Clock::time_point end = Clock::now();
      if (!hits.ok()) {
        if (!failed[i] && figures.first_error.empty()) {
          figures.first_error =
              absl::StrCat(queries[i].qid, ": ", hits.status().ToString());
        }
        failed[i] = true;
        continue;
      }
      micros.push_back(MicrosSince(start, end));
      by_query[i].push_back(micros.back());
      if (rep == 0) {
        figures.hits[i] = *hits;
        hits_sum += *hits;
        ++hits_counted;
        if (*hits == 0) ++figures.zero_result_queries;
      }
    }
    timed_micros += MicrosSince(pass_start, Clock::now());
  }
  figures.errors =
      static_cast<uint64_t>(std::count(failed.begin(), failed.end(), true));
  figures.median_us.reserve(queries.size());
  for (std::vector<double>& runs : by_query) {
    if (runs.empty()) {
      figures.median_us.push_back(0);
      continue;
    }
    auto middle = runs.begin() + static_cast<ptrdiff_t>(runs.size() / 2);
    std::nth_element(runs.begin(), middle, runs.end());
    figures.median_us.push_back(*middle);
  }
  figures.latency = SummarizeLatencies(std::move(micros));
  if (timed_micros > 0) {
    figures.qps =
        static_cast<double>(figures.latency.count) / (timed_micros / 1e6);
  }
  if (hits_counted > 0) {
    figures.mean_hits =
        static_cast<double>(hits_sum) / static_cast<double>(hits_counted);
  }
  return figures;
}

LoadFigures RunClosedLoop(
    const std::vector<BenchQuery>& queries, const LoadOptions& options,
    const std::function<ClientQueryFn(int client)>& make_client) {
  LoadFigures figures;
  figures.clients = std::max(1, options.clients);
  if (queries.empty()) return figures;

  std::vector<ClientQueryFn> clients;
  clients.reserve(static_cast<size_t>(figures.clients));
  for (int i = 0; i < figures.clients; ++i) clients.push_back(make_client(i));

  struct ClientResult {
    std::vector<double> micros;
    uint64_t errors = 0;
    std::string first_error;
  };
  std::vector<ClientResult> results(clients.size());
  Mutex mu;
  CondVar go_set;  // signalled when go is set
  bool go = false;
  Clock::time_point start;
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients.size(); ++c) {
    threads.emplace_back([&, c] {
      {
        MutexLock lock(&mu);
        while (!go) go_set.Wait(&mu);
      }
      const Clock::time_point end =
          start + absl::ToChronoNanoseconds(options.duration);
      const bool one_pass = options.duration <= absl::ZeroDuration();
      ClientResult& result = results[c];
      const size_t n = queries.size();
      size_t next = c * n / clients.size();
      for (size_t done = 0;; ++done) {
        if (one_pass ? done == n : Clock::now() >= end) break;
        const BenchQuery& query = queries[next];
        next = (next + 1) % n;
        const Clock::time_point query_start = Clock::now();
        absl::Status status = clients[c](query);
        const Clock::time_point query_end = Clock::now();
        if (status.ok()) {
          result.micros.push_back(MicrosSince(query_start, query_end));
        } else {
          if (result.errors == 0) {
            result.first_error =
                absl::StrCat(query.qid, ": ", status.ToString());
          }
          ++result.errors;
        }
      }
    });
  }
  {
    MutexLock lock(&mu);
    start = Clock::now();
    go = true;
    go_set.SignalAll();
  }
  for (std::thread& thread : threads) thread.join();
  figures.seconds = MicrosSince(start, Clock::now()) / 1e6;

  std::vector<double> micros;
  for (ClientResult& result : results) {
    micros.insert(micros.end(), result.micros.begin(), result.micros.end());
    figures.errors += result.errors;
    if (figures.first_error.empty()) figures.first_error = result.first_error;
  }
  figures.completed = micros.size();
  figures.latency = SummarizeLatencies(std::move(micros));
  if (figures.seconds > 0) {
    figures.qps = static_cast<double>(figures.completed) / figures.seconds;
  }
  return figures;
}

}  // namespace sift::bench
