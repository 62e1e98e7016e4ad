// Sharding end to end: the whole Cranfield collection on 1, 2, 3 and 4
// shards of the real binaries, each cluster with sift-query's default
// flags, and every one of the collection's 225 queries asked of each. The
// coordinator sends every shard the global statistics, so a document's
// score, and with it the order of the hits, must not depend on how the
// documents are spread over the shards (README.md, docs/ranking.md).

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_matchers.h"
#include "gtest/gtest.h"
#include "tests/integration/cluster.h"

namespace sift::testing {
namespace {

constexpr char kCranfieldQueries[] = "corpora/cranfield/queries.tsv";
constexpr int kCranfieldDocs = 1400;
constexpr int kCranfieldQueryCount = 225;
constexpr int kShardCounts[] = {1, 2, 3, 4};
constexpr int kTopK = 10;
// How many of the differing positions a failure lists.
constexpr int kShownPositions = 10;

struct Query {
  std::string id;
  std::string text;
};

// The queries of the shared file, one "id<TAB>text" a line. The text is
// free English with punctuation ("... high speed aircraft ."); only its
// words are kept, so that nothing in it reads as query syntax.
absl::StatusOr<std::vector<Query>> CranfieldQueries() {
  auto lines = ReadSharedLines(kCranfieldQueries);
  if (!lines.ok()) return lines.status();
  std::vector<Query> queries;
  for (const std::string& line : *lines) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      return absl::DataLossError(
          absl::StrCat(kCranfieldQueries, ": no tab in \"", line, "\""));
    }
    Query& q = queries.emplace_back();
    q.id = line.substr(0, tab);
    q.text = line.substr(tab + 1);
    for (char& c : q.text) {
      if (!isalnum(static_cast<unsigned char>(c))) c = ' ';
    }
  }
  return queries;
}

// The first page of `text` as a user asks for it: the default operator
// (OR), the top kTopK hits. Snippets say nothing about the ranking and
// only cost time, so they are left out.
v1::SearchRequest TopK(const std::string& text) {
  v1::SearchRequest request;
  request.set_query(text);
  request.set_page_size(kTopK);
  request.set_highlight(false);
  return request;
}

std::string ShardsName(int num_shards) {
  return absl::StrCat(num_shards, num_shards == 1 ? " shard" : " shards");
}

// The hit at `position` of `response` as "id (score)", the score with
// every digit a double has, or "none" past the last hit.
std::string DescribeHit(const v1::SearchResponse& response, int position) {
  if (position >= response.hits_size()) return "none";
  const v1::Hit& hit = response.hits(position);
  return absl::StrFormat("%s (%.17g)", hit.id(), hit.score());
}

// Whether `a` and `b` have the same hit at `position`: the same id and
// the same score, bit for bit. Each shard scores with the coordinator's
// global statistics and sums a document's clause scores in plan order in
// double precision, so nothing about the sharding may change a single bit
// of a score (docs/ranking.md, "Global statistics"). No tolerance: one
// would let through differences small enough to reorder near ties.
bool SameHit(const v1::SearchResponse& a, const v1::SearchResponse& b,
             int position) {
  const bool in_a = position < a.hits_size();
  const bool in_b = position < b.hits_size();
  if (!in_a || !in_b) return in_a == in_b;
  return a.hits(position).id() == b.hits(position).id() &&
         a.hits(position).score() == b.hits(position).score();
}

// Every query, every position of its top kTopK: the same id and score on
// every cluster, and the same number of matches. Everything is compared
// before the test fails, and the failure says how many positions differ
// and shows the first few. One test, so that the clusters start once.
TEST(ShardingTest, ScoresDoNotDependOnTheNumberOfShards) {
  auto inputs = CranfieldInputs();
  if (!inputs.ok()) GTEST_SKIP() << inputs.status().message();
  auto queries = CranfieldQueries();
  if (!queries.ok()) GTEST_SKIP() << queries.status().message();
  ASSERT_EQ(queries->size(), static_cast<size_t>(kCranfieldQueryCount));

  // The folders outlive the clusters, which stop their processes first.
  std::vector<std::unique_ptr<TempDir>> dirs;
  std::vector<std::unique_ptr<Cluster>> clusters;
  for (const int num_shards : kShardCounts) {
    dirs.push_back(std::make_unique<TempDir>());
    auto cluster = Cluster::Start(num_shards, dirs.back()->path());
    ASSERT_TRUE(cluster.ok())
        << ShardsName(num_shards) << ": " << cluster.status();
    clusters.push_back(std::move(*cluster));
    SIFT_ASSERT_OK_AND_ASSIGN(const int accepted,
                              IndexAll(*clusters.back(), *inputs));
    ASSERT_EQ(accepted, kCranfieldDocs) << ShardsName(num_shards) << "\n"
                                        << clusters.back()->Logs();
  }

  const size_t n = clusters.size();
  int positions = 0;
  int differing = 0;  // positions where any cluster differs from the first
  std::vector<int> differing_from_first(n, 0);
  int differing_again = 0;  // positions where a query asked again differs
  double largest_score_difference = 0;
  std::string shown;
  for (const Query& query : *queries) {
    std::vector<v1::SearchResponse> responses(n);
    bool answered = true;
    for (size_t i = 0; i < n; ++i) {
      const grpc::Status s =
          clusters[i]->Search(TopK(query.text), &responses[i]);
      EXPECT_TRUE(s.ok()) << "query " << query.id << " on "
                          << ShardsName(kShardCounts[i]) << ": "
                          << s.error_message();
      answered = answered && s.ok();
      if (!s.ok()) continue;
      // Asked again, a coordinator of several shards scores with the
      // statistics it kept from the first time: nothing may change.
      v1::SearchResponse again;
      const grpc::Status a = clusters[i]->Search(TopK(query.text), &again);
      EXPECT_TRUE(a.ok()) << "query " << query.id << " again on "
                          << ShardsName(kShardCounts[i]) << ": "
                          << a.error_message();
      for (int position = 0; a.ok() && position < kTopK; ++position) {
        if (!SameHit(responses[i], again, position)) ++differing_again;
      }
    }
    if (!answered) continue;

    int depth = 0;
    for (size_t i = 0; i < n; ++i) {
      // Every query has more than kTopK matches with OR.
      EXPECT_EQ(responses[i].hits_size(), kTopK)
          << "query " << query.id << " on " << ShardsName(kShardCounts[i]);
      depth = std::max(depth, responses[i].hits_size());
    }
    for (size_t i = 1; i < n; ++i) {
      const v1::SearchResponse& a = responses[0];
      const v1::SearchResponse& b = responses[i];
      // Past 1,000 matches a shard may stop counting what cannot reach its
      // top hits, and the total is then only a lower bound.
      if (!a.total_hits_is_lower_bound() && !b.total_hits_is_lower_bound()) {
        EXPECT_EQ(a.total_hits(), b.total_hits())
            << "query " << query.id << ": " << ShardsName(kShardCounts[0])
            << " vs " << ShardsName(kShardCounts[i]);
      } else {
        EXPECT_GE(std::min(a.total_hits(), b.total_hits()), 1000u)
            << "query " << query.id << ": " << ShardsName(kShardCounts[0])
            << " vs " << ShardsName(kShardCounts[i]);
      }
    }
    for (int position = 0; position < depth; ++position) {
      ++positions;
      bool differs = false;
      for (size_t i = 1; i < n; ++i) {
        if (SameHit(responses[0], responses[i], position)) continue;
        differs = true;
        ++differing_from_first[i];
        if (position < responses[0].hits_size() &&
            position < responses[i].hits_size()) {
          largest_score_difference =
              std::max(largest_score_difference,
                       std::abs(responses[0].hits(position).score() -
                                responses[i].hits(position).score()));
        }
      }
      if (!differs) continue;
      if (++differing > kShownPositions) continue;
      absl::StrAppend(&shown, "\n  query ", query.id, ", position ",
                      position + 1, ":");
      for (size_t i = 0; i < n; ++i) {
        absl::StrAppend(&shown, i == 0 ? " " : " | ",
                        ShardsName(kShardCounts[i]), " ",
                        DescribeHit(responses[i], position));
      }
    }
  }
  EXPECT_EQ(positions, kCranfieldQueryCount * kTopK);

  std::string summary =
      absl::StrCat("the top ", kTopK, " hits of ", queries->size(),
                   " Cranfield queries differ at ", differing, " of ",
                   positions, " positions (");
  for (size_t i = 1; i < n; ++i) {
    absl::StrAppend(&summary, i == 1 ? "" : ", ", ShardsName(kShardCounts[0]),
                    " vs ", ShardsName(kShardCounts[i]), ": ",
                    differing_from_first[i]);
  }
  absl::StrAppend(&summary,
                  absl::StrFormat("; the largest score difference at a "
                                  "position is %.3g); the first %d:",
                                  largest_score_difference,
                                  std::min(differing, kShownPositions)),
                  shown);
  EXPECT_EQ(differing, 0) << summary;
  EXPECT_EQ(differing_again, 0);
}

// A coordinator keeps the statistics shards answer and searches with them
// while each shard checks they are still current. Writes between two asks
// of the same query make every shard's kept statistics stale: the second
// ask must score exactly as one shard does, which counts its statistics
// afresh, and so must a third.
TEST(ShardingTest, KeptStatisticsFollowWrites) {
  auto inputs = CranfieldInputs();
  if (!inputs.ok()) GTEST_SKIP() << inputs.status().message();
  auto queries = CranfieldQueries();
  if (!queries.ok()) GTEST_SKIP() << queries.status().message();
  constexpr int kFirst = 1000;
  constexpr int kPerQuery = 10;
  constexpr int kQueries = (kCranfieldDocs - kFirst) / kPerQuery;
  ASSERT_GE(queries->size(), static_cast<size_t>(kQueries));

  TempDir one_dir, three_dir;
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Cluster> one,
                            Cluster::Start(1, one_dir.path()));
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Cluster> three,
                            Cluster::Start(3, three_dir.path()));
  const std::vector<v1::DocumentInput> first(inputs->begin(),
                                             inputs->begin() + kFirst);
  for (Cluster* cluster : {one.get(), three.get()}) {
    SIFT_ASSERT_OK_AND_ASSIGN(const int accepted, IndexAll(*cluster, first));
    ASSERT_EQ(accepted, kFirst) << cluster->Logs();
  }

  int differing = 0;
  std::string shown;
  // Asks `query` of both clusters and compares every position.
  auto compare = [&](const Query& query, const std::string& when) {
    v1::SearchResponse a, b;
    const grpc::Status sa = one->Search(TopK(query.text), &a);
    const grpc::Status sb = three->Search(TopK(query.text), &b);
    ASSERT_TRUE(sa.ok()) << sa.error_message();
    ASSERT_TRUE(sb.ok()) << sb.error_message();
    EXPECT_FALSE(b.partial()) << "query " << query.id << " " << when;
    for (int position = 0; position < kTopK; ++position) {
      if (SameHit(a, b, position)) continue;
      if (++differing > kShownPositions) continue;
      absl::StrAppend(&shown, "\n  query ", query.id, " ", when, ", position ",
                      position + 1, ": 1 shard ", DescribeHit(a, position),
                      " | 3 shards ", DescribeHit(b, position));
    }
  };
  for (int q = 0; q < kQueries; ++q) {
    const Query& query = (*queries)[q];
    compare(query, "before the writes");
    const std::vector<v1::DocumentInput> more(
        inputs->begin() + kFirst + q * kPerQuery,
        inputs->begin() + kFirst + (q + 1) * kPerQuery);
    for (Cluster* cluster : {one.get(), three.get()}) {
      SIFT_ASSERT_OK_AND_ASSIGN(const int accepted, IndexAll(*cluster, more));
      ASSERT_EQ(accepted, kPerQuery) << cluster->Logs();
    }
    compare(query, "after the writes");
    compare(query, "once more");
  }
  EXPECT_EQ(differing, 0) << "first " << kShownPositions << ":" << shown;
}

}  // namespace
}  // namespace sift::testing
