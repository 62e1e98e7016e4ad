#include "bench/write_latency.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <numeric>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/corpus_reader.h"
#include "bench/latency_stats.h"
#include "common/status/status_macros.h"
#include "common/sync/mutex.h"

namespace sift::bench {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

double Millis(std::chrono::steady_clock::duration duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

constexpr absl::string_view kFacetPrefix = "facet:";

absl::Status BadWord(size_t index, absl::string_view word,
                     absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("search word ", index + 1, " \"", word, "\": ", why));
}

// Adds the facet `name` names to `request`; false for an unknown name.
bool AddFacet(absl::string_view name, v1::ShardSearchRequest& request) {
  v1::FacetRequest facet;
  if (name == "source") {
    facet.set_field(v1::FACET_FIELD_SOURCE);
  } else if (name == "tags") {
    facet.set_field(v1::FACET_FIELD_TAGS);
  } else if (name == "day" || name == "month" || name == "year") {
    facet.set_field(v1::FACET_FIELD_PUBLISHED_AT);
    facet.set_interval(name == "day"     ? v1::DATE_INTERVAL_DAY
                       : name == "month" ? v1::DATE_INTERVAL_MONTH
                                         : v1::DATE_INTERVAL_YEAR);
  } else {
    return false;
  }
  *request.add_facets() = std::move(facet);
  return true;
}

// The query clause `word` names: all, term:, prefix: or fuzzy:.
absl::StatusOr<v1::QueryNode> ParseClause(size_t index,
                                          absl::string_view word) {
  v1::QueryNode node;
  if (word == "all") {
    node.mutable_match_all();
    return node;
  }
  const size_t colon = word.find(':');
  if (colon == absl::string_view::npos) {
    return BadWord(index, word,
                   "expected all, term:WORD, prefix:PRE, fuzzy:WORD~N or "
                   "facet:NAME");
  }
  const absl::string_view kind = word.substr(0, colon);
  absl::string_view value = word.substr(colon + 1);
  if (value.empty()) return BadWord(index, word, "nothing after ':'");
  if (kind == "term") {
    v1::TermQuery* term = node.mutable_term();
    term->set_field(v1::FIELD_UNSPECIFIED);
    term->set_term(std::string(value));
  } else if (kind == "prefix") {
    v1::PrefixQuery* prefix = node.mutable_prefix();
    prefix->set_field(v1::FIELD_UNSPECIFIED);
    prefix->set_prefix(std::string(value));
  } else if (kind == "fuzzy") {
    uint32_t edits = 2;
    const size_t tilde = value.rfind('~');
    if (tilde != absl::string_view::npos) {
      const absl::string_view count = value.substr(tilde + 1);
      if (count == "1") {
        edits = 1;
      } else if (count != "2") {
        return BadWord(index, word, "edits after '~' must be 1 or 2");
      }
      value = value.substr(0, tilde);
      if (value.empty()) return BadWord(index, word, "no word before '~'");
    }
    v1::FuzzyQuery* fuzzy = node.mutable_fuzzy();
    fuzzy->set_field(v1::FIELD_UNSPECIFIED);
    fuzzy->set_term(std::string(value));
    fuzzy->set_max_edits(edits);
  } else {
    return BadWord(index, word,
                   absl::StrCat("unknown kind \"", kind,
                                "\" (all, term, prefix, fuzzy or facet)"));
  }
  return node;
}

}  // namespace

absl::StatusOr<v1::ShardSearchRequest> ParseSearchSpec(absl::string_view spec,
                                                       uint32_t limit) {
  const std::vector<absl::string_view> words =
      absl::StrSplit(spec, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  v1::ShardSearchRequest request;
  request.set_limit(limit);
  std::vector<v1::QueryNode> clauses;
  for (size_t i = 0; i < words.size(); ++i) {
    const absl::string_view word = words[i];
    if (absl::StartsWith(word, kFacetPrefix)) {
      if (!AddFacet(word.substr(kFacetPrefix.size()), request)) {
        return BadWord(i, word, "facets are source, tags, day, month and year");
      }
      continue;
    }
    SIFT_ASSIGN_OR_RETURN(v1::QueryNode clause, ParseClause(i, word));
    clauses.push_back(std::move(clause));
  }
  if (clauses.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("search \"", spec, "\" has no query clause"));
  }
  if (clauses.size() == 1) {
    *request.mutable_query() = std::move(clauses.front());
  } else {
    for (v1::QueryNode& clause : clauses) {
      *request.mutable_query()->mutable_boolean()->add_should() =
          std::move(clause);
    }
  }
  return request;
}

absl::StatusOr<std::vector<std::string>> SampleCorpusLines(
    const std::string& path, size_t count, uint64_t seed) {
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<CorpusReader> reader,
                        CorpusReader::Open(path));
  // Reservoir sampling (Algorithm R), remembering each kept line's place so
  // that the sample comes back in corpus order.
  std::vector<std::pair<uint64_t, std::string>> kept;
  kept.reserve(count);
  std::mt19937_64 random(seed);
  std::string line;
  uint64_t seen = 0;
  while (true) {
    SIFT_ASSIGN_OR_RETURN(bool more, reader->Next(&line));
    if (!more) break;
    if (kept.size() < count) {
      kept.emplace_back(seen, std::move(line));
    } else if (count > 0) {
      const uint64_t slot =
          std::uniform_int_distribution<uint64_t>(0, seen)(random);
      if (slot < count) kept[slot] = {seen, std::move(line)};
    }
    ++seen;
  }
  std::sort(kept.begin(), kept.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> lines;
  lines.reserve(kept.size());
  for (auto& [place, text] : kept) lines.push_back(std::move(text));
  return lines;
}

WriteBatchMaker::WriteBatchMaker(std::vector<v1::AnalyzedDocument> pool,
                                 WriteMix mix, std::string new_id_prefix)
    : pool_(std::move(pool)),
      mix_([&mix] {
        mix.batch_documents = std::max<size_t>(1, mix.batch_documents);
        mix.replace_fraction = std::clamp(mix.replace_fraction, 0.0, 1.0);
        return mix;
      }()),
      new_id_prefix_(std::move(new_id_prefix)),
      random_(mix_.seed) {}

v1::WriteRequest WriteBatchMaker::Next() {
  v1::WriteRequest request;
  std::uniform_int_distribution<size_t> pick(0, pool_.size() - 1);
  for (size_t i = 0; i < mix_.batch_documents; ++i) {
    ++upserts_;
    // Replacements so far stay at round(upserts * fraction), so any run of
    // n upserts has its share within one.
    const bool replace =
        replacements_ <
        static_cast<uint64_t>(std::llround(static_cast<double>(upserts_) *
                                           mix_.replace_fraction));
    v1::AnalyzedDocument* upsert = request.add_ops()->mutable_upsert();
    *upsert = pool_[next_text_];
    next_text_ = (next_text_ + 1) % pool_.size();
    if (replace) {
      upsert->mutable_document()->set_id(pool_[pick(random_)].document().id());
      ++replacements_;
    } else {
      upsert->mutable_document()->set_id(
          absl::StrFormat("%s%09d", new_id_prefix_, new_documents_));
      ++new_documents_;
    }
  }
  return request;
}

MillisSummary SummarizeMillis(std::vector<double> millis) {
  MillisSummary summary;
  if (millis.empty()) return summary;
  std::sort(millis.begin(), millis.end());
  summary.count = millis.size();
  summary.mean = std::accumulate(millis.begin(), millis.end(), 0.0) /
                 static_cast<double>(millis.size());
  summary.p50 = NearestRank(millis, 50);
  summary.p90 = NearestRank(millis, 90);
  summary.p99 = NearestRank(millis, 99);
  summary.max = millis.back();
  return summary;
}

namespace {

struct SearchSample {
  SteadyTime start;
  SteadyTime end;
  uint64_t hits = 0;
  // OK, or why the search failed.
  absl::Status status;
};

// Counts the search threads that have begun their first search.
struct StartGate {
  Mutex mu;
  CondVar all_started;
  int started ABSL_GUARDED_BY(mu) = 0;
};

}  // namespace

PhaseFigures RunPhase(const PhaseSpec& spec, const PhaseWriter& writer,
                      const SteadyNowFn& now) {
  PhaseFigures figures;
  figures.name = spec.name;
  const int threads = spec.search ? std::max(0, spec.search_threads) : 0;
  figures.search_threads = threads;

  // Each search thread writes only its own log until it is joined.
  std::vector<std::vector<SearchSample>> logs(static_cast<size_t>(threads));
  std::atomic<bool> stop{false};
  StartGate gate;
  std::vector<std::thread> searchers;
  searchers.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    searchers.emplace_back([&, t] {
      std::vector<SearchSample>& log = logs[static_cast<size_t>(t)];
      bool first = true;
      // The writer waits for every first search, so stop is not set before
      // each thread has run one.
      while (first || !stop.load(std::memory_order_acquire)) {
        SearchSample sample;
        sample.start = now();
        if (first) {
          MutexLock lock(&gate.mu);
          if (++gate.started == threads) gate.all_started.Signal();
          first = false;
        }
        absl::StatusOr<uint64_t> hits = spec.search(t);
        sample.end = now();
        if (hits.ok()) {
          sample.hits = *hits;
        } else {
          sample.status = hits.status();
        }
        log.push_back(std::move(sample));
      }
    });
  }
  {
    MutexLock lock(&gate.mu);
    while (gate.started < threads) gate.all_started.Wait(&gate.mu);
  }

  const SteadyTime window_start = now();
  const SteadyTime deadline =
      window_start + absl::ToChronoNanoseconds(spec.duration);
  std::vector<double> commit_ms;
  while (true) {
    absl::Status status = writer.prepare();
    if (!status.ok()) {
      ++figures.write_errors;
      figures.first_write_error = status.ToString();
      break;
    }
    const SteadyTime commit_start = now();
    if (commit_start >= deadline) break;
    status = writer.commit();
    const SteadyTime commit_end = now();
    if (!status.ok()) {
      ++figures.write_errors;
      figures.first_write_error = status.ToString();
      break;
    }
    commit_ms.push_back(Millis(commit_end - commit_start));
  }
  const SteadyTime window_end = now();
  stop.store(true, std::memory_order_release);
  for (std::thread& searcher : searchers) searcher.join();

  figures.seconds =
      std::chrono::duration<double>(window_end - window_start).count();
  figures.commits = SummarizeMillis(std::move(commit_ms));

  std::vector<double> search_ms;
  double hits = 0;
  for (const std::vector<SearchSample>& log : logs) {
    for (const SearchSample& sample : log) {
      // Searches that overlap the writer's window; a zero-length one at its
      // very start counts too.
      if (sample.start >= window_end || sample.end < window_start) continue;
      if (!sample.status.ok()) {
        ++figures.search_errors;
        if (figures.first_search_error.empty()) {
          figures.first_search_error = sample.status.ToString();
        }
        continue;
      }
      search_ms.push_back(Millis(sample.end - sample.start));
      hits += static_cast<double>(sample.hits);
    }
  }
  if (!search_ms.empty()) hits /= static_cast<double>(search_ms.size());
  figures.mean_hits = hits;
  figures.searches = SummarizeMillis(std::move(search_ms));
  return figures;
}

std::optional<double> WriterP99Ratio(const PhaseFigures& long_searches,
                                     const PhaseFigures& short_searches) {
  if (long_searches.commits.count == 0 || short_searches.commits.count == 0 ||
      short_searches.commits.p99 <= 0) {
    return std::nullopt;
  }
  return long_searches.commits.p99 / short_searches.commits.p99;
}

}  // namespace sift::bench
