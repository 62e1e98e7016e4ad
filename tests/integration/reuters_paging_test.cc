// Search-after paging end to end: the real binaries on loopback with the
// Reuters-21578 corpus (21,578 stories, dated to the day, so dates tie by
// the hundred), paged far past the 10,000-hit offset window, and paged
// while documents are added.

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cluster.h"

namespace sift::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kReutersDocs[] = "corpora/reuters21578/docs.jsonl";
constexpr int kReutersCount = 21578;
constexpr int kShards = 3;

// The value of a top-level string field of a corpus line. Inside string
// values quotes are escaped, so `"key": "` only matches the key itself.
std::string JsonField(absl::string_view line, absl::string_view key) {
  const std::string start = absl::StrCat("\"", key, "\": \"");
  const size_t at = line.find(start);
  if (at == absl::string_view::npos) return "";
  const size_t from = at + start.size();
  const size_t to = line.find('"', from);
  if (to == absl::string_view::npos) return "";
  return std::string(line.substr(from, to - from));
}

// Seconds since the epoch of a "YYYY-MM-DD" day, midnight UTC.
int64_t DaySeconds(const std::string& day) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%d", day, absl::UTCTimeZone(), &t, &error)) {
    ADD_FAILURE() << "bad date " << day << ": " << error;
    return 0;
  }
  return absl::ToUnixSeconds(t);
}

grpc::Status Search(Cluster& cluster, const v1::SearchRequest& request,
                    v1::SearchResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(60)));
  return cluster.query().Search(&context, request, response);
}

struct PagedHit {
  std::string id;
  double score = 0;
  bool dated = false;
  int64_t seconds = 0;
};

struct Paging {
  std::vector<PagedHit> hits;
  int pages = 0;
  // total_hits of every page, and whether any was a lower bound.
  std::vector<uint64_t> totals;
  bool any_lower_bound = false;
};

// Follows next_page_token from `request` to the last page. `between(n)`
// runs after page n (1-based) is read, before the next is asked for.
Paging PageAll(Cluster& cluster, v1::SearchRequest request,
               const std::function<void(int)>& between = nullptr) {
  Paging out;
  while (true) {
    v1::SearchResponse response;
    grpc::Status s = Search(cluster, request, &response);
    EXPECT_TRUE(s.ok()) << "page " << out.pages + 1 << ": "
                        << s.error_message();
    if (!s.ok()) break;
    ++out.pages;
    EXPECT_FALSE(response.partial()) << out.pages;
    EXPECT_LE(response.hits_size(), static_cast<int>(request.page_size()));
    out.totals.push_back(response.total_hits());
    out.any_lower_bound |= response.total_hits_is_lower_bound();
    for (const v1::Hit& hit : response.hits()) {
      out.hits.push_back({hit.id(), hit.score(), hit.has_published_at(),
                          hit.published_at().seconds()});
    }
    if (response.next_page_token().empty()) break;
    // A full page, or there would be no token.
    EXPECT_EQ(response.hits_size(), static_cast<int>(request.page_size()));
    if (between) between(out.pages);
    request.set_offset(0);
    request.set_page_token(response.next_page_token());
    if (out.pages > 1000) {
      ADD_FAILURE() << "paging does not end";
      break;
    }
  }
  return out;
}

// Whether `a` comes before `b`: by date (descending or ascending; undated
// last), ties by id ascending, as query.proto specifies.
bool DateBefore(const PagedHit& a, const PagedHit& b, bool descending) {
  if (a.dated != b.dated) return a.dated;
  if (a.dated && a.seconds != b.seconds) {
    return descending ? a.seconds > b.seconds : a.seconds < b.seconds;
  }
  return a.id < b.id;
}

// Whether `a` comes before `b` by relevance: score descending, ties by id.
bool ScoreBefore(const PagedHit& a, const PagedHit& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.id < b.id;
}

v1::SearchRequest Request(const std::string& query, uint32_t page_size,
                          v1::SortOrder sort = v1::SORT_ORDER_RELEVANCE) {
  v1::SearchRequest request;
  request.set_query(query);
  request.set_page_size(page_size);
  request.set_sort(sort);
  // Snippets cost time and say nothing about the order.
  request.set_highlight(false);
  return request;
}

// One cluster with the whole corpus for every test of the suite; the
// stability test, which adds documents, runs last and removes them.
class ReutersPagingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto lines = ReadSharedLines(kReutersDocs);
    if (!lines.ok()) {
      skip_reason_ = new std::string(absl::StrCat(
          "the Reuters-21578 corpus is missing (", lines.status().message(),
          "); run scripts that fetch the shared corpora to enable this test"));
      return;
    }
    dates_ = new std::map<std::string, int64_t>();
    std::vector<v1::DocumentInput> inputs;
    for (const std::string& line : *lines) {
      (*dates_)[JsonField(line, "id")] = DaySeconds(JsonField(line, "date"));
      inputs.emplace_back().set_json(line);
    }
    dir_ = new TempDir();
    auto cluster = Cluster::Start(kShards, dir_->path());
    if (!cluster.ok()) {
      setup_error_ = new std::string(cluster.status().ToString());
      return;
    }
    cluster_ = cluster->release();
    const absl::Time start = absl::Now();
    const absl::StatusOr<int> indexed = IndexAll(*cluster_, inputs);
    const int accepted = indexed.value_or(0);
    if (accepted != kReutersCount) {
      setup_error_ = new std::string(absl::StrCat(
          indexed.status().ToString(), "; indexed ", accepted, " of ",
          kReutersCount, " documents\n", cluster_->Logs()));
    }
    ingest_time_ = absl::Now() - start;
  }

  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    delete dir_;
    dir_ = nullptr;
    delete dates_;
    dates_ = nullptr;
    delete skip_reason_;
    skip_reason_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }

  void SetUp() override {
    if (skip_reason_ != nullptr) GTEST_SKIP() << *skip_reason_;
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
    ASSERT_EQ(dates_->size(), static_cast<size_t>(kReutersCount));
    RecordProperty("ingest_seconds",
                   absl::StrCat(absl::ToDoubleSeconds(ingest_time_)));
  }

  Cluster& cluster() { return *cluster_; }

  static Cluster* cluster_;
  static TempDir* dir_;
  // The corpus: id -> the day it is dated.
  static std::map<std::string, int64_t>* dates_;
  static std::string* skip_reason_;
  static std::string* setup_error_;
  static absl::Duration ingest_time_;
};

Cluster* ReutersPagingTest::cluster_ = nullptr;
TempDir* ReutersPagingTest::dir_ = nullptr;
std::map<std::string, int64_t>* ReutersPagingTest::dates_ = nullptr;
std::string* ReutersPagingTest::skip_reason_ = nullptr;
std::string* ReutersPagingTest::setup_error_ = nullptr;
absl::Duration ReutersPagingTest::ingest_time_;

// (a) Every story, by date both ways, 1,000 a page: 22 pages, twice as
// deep as an offset may go.
TEST_F(ReutersPagingTest, PagesEveryDocumentByDateBothWays) {
  for (v1::SortOrder sort :
       {v1::SORT_ORDER_PUBLISHED_DESC, v1::SORT_ORDER_PUBLISHED_ASC}) {
    const bool descending = sort == v1::SORT_ORDER_PUBLISHED_DESC;
    SCOPED_TRACE(descending ? "newest first" : "oldest first");
    Paging paging = PageAll(cluster(), Request("", 1000, sort));
    EXPECT_EQ(paging.pages, (kReutersCount + 999) / 1000);
    ASSERT_EQ(paging.hits.size(), static_cast<size_t>(kReutersCount));
    for (uint64_t total : paging.totals) EXPECT_EQ(total, kReutersCount);
    EXPECT_FALSE(paging.any_lower_bound);
    std::set<std::string> seen;
    int ties = 0;
    for (size_t i = 0; i < paging.hits.size(); ++i) {
      const PagedHit& hit = paging.hits[i];
      EXPECT_TRUE(seen.insert(hit.id).second) << hit.id << " twice";
      auto corpus = dates_->find(hit.id);
      ASSERT_NE(corpus, dates_->end()) << hit.id;
      EXPECT_TRUE(hit.dated) << hit.id;
      EXPECT_EQ(hit.seconds, corpus->second) << hit.id;
      if (i > 0) {
        const PagedHit& previous = paging.hits[i - 1];
        EXPECT_TRUE(DateBefore(previous, hit, descending))
            << i << ": " << previous.id << " then " << hit.id;
        ties += previous.seconds == hit.seconds;
      }
    }
    EXPECT_EQ(seen.size(), dates_->size());
    // Day precision: most neighbours share a day, and the page boundaries
    // fall inside days.
    EXPECT_GT(ties, kReutersCount / 2);
  }
  // An offset cannot reach that deep.
  v1::SearchRequest deep = Request("", 1000, v1::SORT_ORDER_PUBLISHED_DESC);
  deep.set_offset(10000);
  v1::SearchResponse response;
  grpc::Status s = Search(cluster(), deep, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("offset"));
}

// (b) A common word by relevance: scores never rise, equal scores go by
// id, no hit twice, as many hits as the word has matches.
TEST_F(ReutersPagingTest, PagesACommonWordByScore) {
  // Sorting by date counts every match exactly (no pruning).
  v1::SearchResponse counted;
  ASSERT_TRUE(Search(cluster(),
                     Request("said", 1, v1::SORT_ORDER_PUBLISHED_DESC),
                     &counted)
                  .ok());
  const uint64_t matches = counted.total_hits();
  ASSERT_FALSE(counted.total_hits_is_lower_bound());
  ASSERT_GT(matches, 10000u);

  Paging paging = PageAll(cluster(), Request("said", 1000));
  EXPECT_EQ(paging.hits.size(), matches);
  EXPECT_GT(paging.pages, 10);
  for (uint64_t total : paging.totals) {
    if (!paging.any_lower_bound) {
      EXPECT_EQ(total, matches);
    }
    EXPECT_LE(total, matches);
  }
  std::set<std::string> seen;
  int ties = 0;
  for (size_t i = 0; i < paging.hits.size(); ++i) {
    const PagedHit& hit = paging.hits[i];
    EXPECT_TRUE(seen.insert(hit.id).second) << hit.id << " twice";
    EXPECT_TRUE(dates_->contains(hit.id)) << hit.id;
    EXPECT_GT(hit.score, 0.0) << hit.id;
    if (i > 0) {
      const PagedHit& previous = paging.hits[i - 1];
      EXPECT_TRUE(ScoreBefore(previous, hit))
          << i << ": " << previous.id << " (" << previous.score << ") then "
          << hit.id << " (" << hit.score << ")";
      ties += previous.score == hit.score;
    }
  }
  // Short stories with the same length and counts score the same.
  EXPECT_GT(ties, 0);
}

// (c) Documents added between pages, some sorting before the cursor and
// some after: no story of the corpus is repeated or lost, the added ones
// that sort after the cursor come in order, those before it never.
TEST_F(ReutersPagingTest, PagingStaysStableWhileDocumentsAreAdded) {
  // The reference: every match before anything is added.
  const Paging reference = PageAll(cluster(), Request("cocoa", 20));
  ASSERT_GT(reference.hits.size(), 100u);

  std::vector<std::string> added;
  std::vector<std::string> high, low;
  auto add = [&](int page) {
    std::vector<v1::DocumentInput> inputs;
    for (int i = 0; i < 5; ++i) {
      // Short, all about cocoa: above every score of the corpus.
      const std::string top = absl::StrCat("added-top-", page, "-", i);
      v1::Document* doc = inputs.emplace_back().mutable_document();
      doc->set_id(top);
      doc->set_title("Cocoa cocoa cocoa");
      doc->set_body("Cocoa cocoa cocoa cocoa cocoa.");
      doc->mutable_published_at()->set_seconds(DaySeconds("1987-12-01"));
      high.push_back(top);
      // Long, one mention: below every score of the corpus's matches.
      const std::string bottom = absl::StrCat("added-low-", page, "-", i);
      doc = inputs.emplace_back().mutable_document();
      doc->set_id(bottom);
      std::string body = "A single mention of cocoa.";
      for (int w = 0; w < 1500; ++w) absl::StrAppend(&body, " word", w);
      doc->set_body(body);
      doc->mutable_published_at()->set_seconds(DaySeconds("1987-01-01"));
      low.push_back(bottom);
    }
    // And many that do not match but change the collection statistics.
    for (int i = 0; i < 200; ++i) {
      v1::Document* doc = inputs.emplace_back().mutable_document();
      doc->set_id(absl::StrCat("added-other-", page, "-", i));
      doc->set_body("Grain and oilseed markets were quiet.");
    }
    for (const v1::DocumentInput& in : inputs) {
      added.push_back(in.document().id());
    }
    absl::StatusOr<int> accepted = IndexAll(cluster(), inputs);
    ASSERT_TRUE(accepted.ok()) << accepted.status();
    EXPECT_EQ(*accepted, static_cast<int>(inputs.size()));
  };

  // Relevance: documents added after pages 1 and 3.
  Paging paging = PageAll(cluster(), Request("cocoa", 20), [&](int page) {
    if (page == 1 || page == 3) add(page);
  });
  std::vector<std::string> original;
  std::set<std::string> seen;
  for (size_t i = 0; i < paging.hits.size(); ++i) {
    const PagedHit& hit = paging.hits[i];
    EXPECT_TRUE(seen.insert(hit.id).second) << hit.id << " twice";
    if (i > 0) {
      EXPECT_TRUE(ScoreBefore(paging.hits[i - 1], hit)) << i;
    }
    if (dates_->contains(hit.id)) original.push_back(hit.id);
  }
  std::vector<std::string> expected;
  for (const PagedHit& hit : reference.hits) expected.push_back(hit.id);
  // Every story of the corpus once, in the order of the undisturbed run.
  EXPECT_EQ(original, expected);
  for (const std::string& id : high) {
    EXPECT_FALSE(seen.contains(id)) << id << " sorts before the cursor";
  }
  for (const std::string& id : low) {
    EXPECT_TRUE(seen.contains(id)) << id << " sorts after the cursor";
  }
  // The scores of the first page's statistics: the stories' scores have
  // not moved although documents were added.
  for (size_t i = 0, j = 0; i < paging.hits.size(); ++i) {
    if (!dates_->contains(paging.hits[i].id)) continue;
    EXPECT_EQ(paging.hits[i].score, reference.hits[j++].score)
        << paging.hits[i].id;
  }

  // A fresh search sees the added documents first.
  v1::SearchResponse fresh;
  ASSERT_TRUE(Search(cluster(), Request("cocoa", 1), &fresh).ok());
  ASSERT_EQ(fresh.hits_size(), 1);
  EXPECT_THAT(fresh.hits(0).id(), HasSubstr("added-top-"));

  // By date, newest first, with documents dated after (sorting before the
  // cursor) and before every story (after it) added after page 2.
  high.clear();
  low.clear();
  paging = PageAll(cluster(), Request("", 1000, v1::SORT_ORDER_PUBLISHED_DESC),
                   [&](int page) {
                     if (page == 2) add(page + 100);
                   });
  seen.clear();
  original.clear();
  for (size_t i = 0; i < paging.hits.size(); ++i) {
    const PagedHit& hit = paging.hits[i];
    EXPECT_TRUE(seen.insert(hit.id).second) << hit.id << " twice";
    if (i > 0) {
      EXPECT_TRUE(DateBefore(paging.hits[i - 1], hit, true)) << i;
    }
    if (dates_->contains(hit.id)) original.push_back(hit.id);
  }
  EXPECT_EQ(original.size(), static_cast<size_t>(kReutersCount));
  for (const std::string& id : high) {
    EXPECT_FALSE(seen.contains(id)) << id << " sorts before the cursor";
  }
  for (const std::string& id : low) {
    EXPECT_TRUE(seen.contains(id)) << id << " sorts after the cursor";
  }
  // The added documents without a date come last, all of them: those of
  // the relevance run were there from the start, the others sort after
  // any cursor of dated documents.
  size_t undated = 0, undated_added = 0;
  for (const PagedHit& hit : paging.hits) undated += !hit.dated;
  for (const std::string& id : added) {
    undated_added += absl::StartsWith(id, "added-other-");
  }
  EXPECT_EQ(undated, undated_added);
  EXPECT_FALSE(paging.hits.back().dated);

  // Leave the corpus as it was.
  v1::DeleteRequest remove;
  for (const std::string& id : added) remove.add_ids(id);
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(60)));
  v1::DeleteResponse removed;
  EXPECT_TRUE(cluster().ingest().Delete(&context, remove, &removed).ok());
}

}  // namespace
}  // namespace sift::testing
