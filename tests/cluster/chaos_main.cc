// sift-chaos: a replicated cluster on loopback under continuous writes and
// searches while storage members are killed and restarted, then restarted
// one by one with SIGTERM; checks every acknowledged write against an
// oracle of what the cluster must hold, and prints a JSON report.
// scripts/chaos.sh runs it (docs/replication.md, "Chaos").

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/routing/shard_router.h"
#include "common/sync/mutex.h"
#include "tests/cluster/replicated_cluster.h"

ABSL_FLAG(int, minutes, 10, "How long members are killed and restarted");
ABSL_FLAG(int, shards, 3, "Shards of the cluster");
ABSL_FLAG(int, copies, 3, "Copies of each shard");
ABSL_FLAG(int, kill_min_seconds, 20, "Shortest pause between two kills");
ABSL_FLAG(int, kill_max_seconds, 40, "Longest pause between two kills");
ABSL_FLAG(int, searchers, 4, "Search clients");
ABSL_FLAG(int, lease_ttl_seconds, 3, "The members' etcd lease");
ABSL_FLAG(uint32_t, seed, 1, "Seed of every random choice");
ABSL_FLAG(std::string, dir, "/tmp/sift-chaos",
          "Folder for the cluster's data and logs (emptied first)");

namespace sift::testing {
namespace {

// What the oracle expects of one id: the version last acknowledged, or
// deleted; `uncertain` after a write whose outcome is unknown (it failed
// or timed out: it may or may not have been applied), until the next
// acknowledged write of the id.
struct Expected {
  int version = 0;
  bool deleted = false;
  bool uncertain = false;
};

struct SearchLog {
  absl::Time at;
  bool ok = false;
  bool partial = false;
};

struct Kill {
  absl::Time at;
  int shard = 0;
  int copy = 0;
  bool was_primary = false;
  // For a primary: when etcd had the next one.
  std::optional<absl::Duration> failover;
};

std::string Body(int version) {
  return absl::StrCat("chaos body version v", version, " common words here");
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

int Run() {
  const int shards = absl::GetFlag(FLAGS_shards);
  const int copies = absl::GetFlag(FLAGS_copies);
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  std::fprintf(stderr, "sift-chaos: %d shards x %d copies in %s\n", shards,
               copies, dir.c_str());
  auto started = ReplicatedCluster::Start(
      dir, {.shards = shards,
            .copies = copies,
            .lease_ttl_seconds = absl::GetFlag(FLAGS_lease_ttl_seconds)});
  if (!started.ok()) {
    std::fprintf(stderr, "sift-chaos: %s\n",
                 started.status().ToString().c_str());
    return 1;
  }
  ReplicatedCluster& cluster = **started;
  std::mt19937 random(absl::GetFlag(FLAGS_seed));

  Mutex mu;
  std::map<std::string, Expected> oracle;
  std::vector<SearchLog> searches;
  int search_errors_logged = 0;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> acknowledged{0}, unacknowledged{0};
  std::vector<std::pair<absl::Time, absl::Time>> failed_writes;

  // The writer: batches of 10 upserts of new ids, replacements and deletes
  // of known ids, through ingest, one call at a time.
  std::thread writer([&] {
    std::mt19937 rng(absl::GetFlag(FLAGS_seed) + 1);
    int next_id = 0;
    std::vector<std::string> known;
    while (!stop.load()) {
      v1::IndexRequest request;
      v1::DeleteRequest deletes;
      std::vector<std::pair<std::string, int>> versions;
      for (int k = 0; k < 10; ++k) {
        const int dice = static_cast<int>(rng() % 100);
        if (known.empty() || dice < 60) {
          const std::string id = absl::StrCat("c", next_id++);
          known.push_back(id);
          *request.add_documents()->mutable_document() =
              MakeDocument(id, "chaos", Body(1));
          versions.emplace_back(id, 1);
        } else if (dice < 85) {
          const std::string& id = known[rng() % known.size()];
          int version = 0;
          {
            MutexLock lock(&mu);
            version = oracle[id].version + 1;
          }
          bool duplicate = false;
          for (const auto& [other, v] : versions) duplicate |= other == id;
          if (duplicate) continue;
          *request.add_documents()->mutable_document() =
              MakeDocument(id, "chaos", Body(version));
          versions.emplace_back(id, version);
        } else {
          deletes.add_ids(known[rng() % known.size()]);
        }
      }
      const absl::Time start = absl::Now();
      if (request.documents_size() > 0) {
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(start + absl::Seconds(30)));
        v1::IndexResponse response;
        const grpc::Status s =
            cluster.ingest().Index(&context, request, &response);
        MutexLock lock(&mu);
        for (size_t i = 0; i < versions.size(); ++i) {
          Expected& e = oracle[versions[i].first];
          const bool ok = s.ok() &&
                          i < static_cast<size_t>(response.results_size()) &&
                          response.results(static_cast<int>(i)).code() == 0;
          if (ok) {
            e = {versions[i].second, false, false};
            acknowledged++;
          } else {
            e.uncertain = true;
            e.version = std::max(e.version, versions[i].second);
            unacknowledged++;
            failed_writes.emplace_back(start, absl::Now());
            if (unacknowledged.load() <= 20) {
              std::fprintf(
                  stderr, "sift-chaos: write of %s not acknowledged: %s\n",
                  versions[i].first.c_str(),
                  s.ok() && i < static_cast<size_t>(response.results_size())
                      ? response.results(static_cast<int>(i)).message().c_str()
                      : s.error_message().c_str());
            }
          }
        }
      }
      if (deletes.ids_size() > 0) {
        grpc::ClientContext context;
        context.set_deadline(
            absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
        v1::DeleteResponse response;
        const grpc::Status s =
            cluster.ingest().Delete(&context, deletes, &response);
        MutexLock lock(&mu);
        for (const std::string& id : deletes.ids()) {
          Expected& e = oracle[id];
          if (s.ok()) {
            e.deleted = true;
            e.uncertain = false;
            acknowledged++;
          } else {
            e.uncertain = true;
            unacknowledged++;
            failed_writes.emplace_back(start, absl::Now());
            if (unacknowledged.load() <= 20) {
              std::fprintf(stderr,
                           "sift-chaos: delete of %s not acknowledged: %s\n",
                           id.c_str(), s.error_message().c_str());
            }
          }
        }
      }
    }
  });

  // Searchers: each query must answer completely while a copy of every
  // shard is alive, which is always, as one member is down at a time.
  std::vector<std::thread> searchers;
  for (int t = 0; t < absl::GetFlag(FLAGS_searchers); ++t) {
    searchers.emplace_back([&, t] {
      const char* queries[] = {"chaos", "common words", "\"body version\"",
                               "chaos AND here", "v1 OR v2 OR v3"};
      int i = t;
      while (!stop.load()) {
        auto response = SearchCluster(cluster.query(), queries[i++ % 5], 10,
                                      absl::Seconds(10));
        SearchLog log{absl::Now(), response.ok(),
                      response.ok() && response->partial()};
        MutexLock lock(&mu);
        if ((!log.ok || log.partial) && ++search_errors_logged <= 20) {
          std::fprintf(
              stderr, "sift-chaos: search %s: %s\n",
              log.ok ? "partial" : "failed",
              log.ok ? absl::StrJoin(response->shard_errors(), "; ").c_str()
                     : response.status().ToString().c_str());
        }
        searches.push_back(log);
      }
    });
  }

  // Kills: one member at a time, every 20-40 s, back 2-5 s later.
  std::vector<Kill> kills;
  const absl::Time chaos_end =
      absl::Now() + absl::Minutes(absl::GetFlag(FLAGS_minutes));
  const int kill_min = absl::GetFlag(FLAGS_kill_min_seconds);
  const int kill_max = absl::GetFlag(FLAGS_kill_max_seconds);
  while (true) {
    const absl::Duration pause = absl::Seconds(
        kill_min + static_cast<int>(random() % (kill_max - kill_min + 1)));
    if (absl::Now() + pause >= chaos_end) break;
    absl::SleepFor(pause);
    Kill kill;
    kill.shard = static_cast<int>(random() % shards);
    kill.copy = static_cast<int>(random() % copies);
    auto primary = cluster.PrimaryCopy(kill.shard);
    kill.was_primary =
        primary.ok() && primary->has_value() && **primary == kill.copy;
    kill.at = absl::Now();
    cluster.StopMember(kill.shard, kill.copy, SIGKILL);
    if (kill.was_primary) {
      auto next =
          cluster.WaitForPrimary(kill.shard, kill.copy, absl::Seconds(60));
      if (next.ok()) kill.failover = absl::Now() - kill.at;
    }
    std::fprintf(stderr, "sift-chaos: killed %s%s%s\n",
                 ReplicatedCluster::MemberName(kill.shard, kill.copy).c_str(),
                 kill.was_primary ? " (primary)" : "",
                 kill.failover
                     ? absl::StrCat(", new primary after ",
                                    absl::FormatDuration(*kill.failover))
                           .c_str()
                     : "");
    absl::SleepFor(absl::Seconds(2 + static_cast<int>(random() % 4)));
    absl::Status restarted = cluster.StartMember(kill.shard, kill.copy);
    if (!restarted.ok()) {
      std::fprintf(stderr, "sift-chaos: restarting: %s\n",
                   restarted.ToString().c_str());
    }
    kills.push_back(kill);
  }

  // Rolling restart: every member in turn, SIGTERM, back, in sync again.
  for (int shard = 0; shard < shards; ++shard) {
    absl::Status s = cluster.WaitForInSync(shard, copies, absl::Minutes(5));
    if (!s.ok()) std::fprintf(stderr, "sift-chaos: %s\n", s.ToString().c_str());
  }
  const absl::Time rolling_start = absl::Now();
  for (int shard = 0; shard < shards; ++shard) {
    for (int copy = 0; copy < copies; ++copy) {
      cluster.StopMember(shard, copy, SIGTERM);
      absl::Status s = cluster.StartMember(shard, copy);
      if (s.ok()) s = cluster.WaitForInSync(shard, copies, absl::Minutes(5));
      if (!s.ok()) {
        std::fprintf(stderr, "sift-chaos: rolling restart: %s\n",
                     s.ToString().c_str());
      }
    }
  }
  const absl::Time rolling_end = absl::Now();
  std::fprintf(stderr, "sift-chaos: rolling restart took %s\n",
               absl::FormatDuration(rolling_end - rolling_start).c_str());
  stop = true;
  writer.join();
  for (std::thread& t : searchers) t.join();

  // The oracle's check: every id through QueryService.Get.
  uint64_t lost = 0, stale = 0, resurrected = 0, checked = 0, uncertain = 0;
  std::vector<std::string> examples;
  std::map<std::string, Expected> expected;
  {
    MutexLock lock(&mu);
    expected = oracle;
  }
  for (const auto& [id, e] : expected) {
    if (e.uncertain) {
      ++uncertain;
      continue;
    }
    ++checked;
    v1::GetRequest request;
    request.set_id(id);
    v1::GetResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    const grpc::Status s = cluster.query().Get(&context, request, &response);
    const bool found = s.ok();
    if (!found && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      std::fprintf(stderr, "sift-chaos: Get %s: %s\n", id.c_str(),
                   s.error_message().c_str());
    }
    if (e.deleted) {
      if (found) {
        ++resurrected;
        if (examples.size() < 10) examples.push_back(id + " resurrected");
      }
    } else if (!found) {
      ++lost;
      if (examples.size() < 10) examples.push_back(id + " lost");
    } else if (response.document().body() != Body(e.version)) {
      ++stale;
      if (examples.size() < 10) {
        examples.push_back(
            absl::StrCat(id, " stale: ", response.document().body()));
      }
    }
  }

  // Searches: failed or partial, inside a failover window (a killed
  // primary until its shard had the next one), outside, and during the
  // rolling restart.
  std::vector<std::pair<absl::Time, absl::Time>> windows;
  for (const Kill& kill : kills) {
    if (kill.was_primary) {
      windows.emplace_back(kill.at,
                           kill.at + kill.failover.value_or(absl::Minutes(1)));
    }
  }
  uint64_t total = 0, failed_in = 0, failed_out = 0, failed_rolling = 0,
           partial = 0;
  {
    MutexLock lock(&mu);
    for (const SearchLog& log : searches) {
      ++total;
      if (log.ok && !log.partial) continue;
      if (log.partial) ++partial;
      const bool rolling = log.at >= rolling_start && log.at <= rolling_end;
      bool in_window = false;
      for (const auto& [from, to] : windows) {
        in_window |= log.at >= from && log.at <= to;
      }
      if (rolling) {
        ++failed_rolling;
      } else if (in_window) {
        ++failed_in;
      } else {
        ++failed_out;
      }
    }
  }
  std::vector<double> failovers;
  for (const Kill& kill : kills) {
    if (kill.failover) failovers.push_back(Seconds(*kill.failover));
  }
  std::sort(failovers.begin(), failovers.end());
  const double p50 = failovers.empty() ? 0 : failovers[failovers.size() / 2];
  const double max = failovers.empty() ? 0 : failovers.back();
  uint64_t writes_failed_rolling = 0;
  for (const auto& [from, to] : failed_writes) {
    if (from >= rolling_start && from <= rolling_end) ++writes_failed_rolling;
  }

  std::string json = absl::StrFormat(
      "{\n  \"shards\": %d,\n  \"copies\": %d,\n  \"minutes\": %d,\n"
      "  \"kills\": %d,\n  \"primary_kills\": %d,\n"
      "  \"writes_acknowledged\": %d,\n  \"writes_unacknowledged\": %d,\n"
      "  \"ids_checked\": %d,\n  \"ids_uncertain\": %d,\n"
      "  \"acknowledged_lost\": %d,\n  \"acknowledged_stale\": %d,\n"
      "  \"deleted_but_present\": %d,\n"
      "  \"failover_seconds_p50\": %.2f,\n  \"failover_seconds_max\": %.2f,\n"
      "  \"searches\": %d,\n  \"searches_failed_in_failover\": %d,\n"
      "  \"searches_failed_outside_failover\": %d,\n"
      "  \"searches_failed_rolling_restart\": %d,\n"
      "  \"searches_partial\": %d,\n"
      "  \"writes_failed_rolling_restart\": %d,\n"
      "  \"rolling_restart_seconds\": %.1f\n}\n",
      shards, copies, absl::GetFlag(FLAGS_minutes),
      static_cast<int>(kills.size()), static_cast<int>(failovers.size()),
      acknowledged.load(), unacknowledged.load(), checked, uncertain, lost,
      stale, resurrected, p50, max, total, failed_in, failed_out,
      failed_rolling, partial, writes_failed_rolling,
      Seconds(rolling_end - rolling_start));
  std::printf("%s", json.c_str());
  for (const std::string& example : examples) {
    std::fprintf(stderr, "sift-chaos: %s\n", example.c_str());
  }
  const bool passed = lost == 0 && stale == 0 && resurrected == 0 &&
                      failed_out == 0 && failed_rolling == 0 && partial == 0 &&
                      max <= 5.0;
  std::fprintf(stderr, "sift-chaos: %s\n", passed ? "PASSED" : "FAILED");
  return passed ? 0 : 1;
}

}  // namespace
}  // namespace sift::testing

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Kills and restarts members of a replicated cluster under load and "
      "checks that no acknowledged write is lost: sift-chaos [--minutes=10]");
  absl::ParseCommandLine(argc, argv);
  return sift::testing::Run();
}
