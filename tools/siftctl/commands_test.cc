// Runs subcommands against small in-process services on 127.0.0.1 that
// answer the way ingest.proto and query.proto describe, so that batching,
// retries, paging and exit statuses are checked over real gRPC. End-to-end
// runs against the real services live in tests/integration.

#include "tools/siftctl/commands.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/server/server_runner.h"
#include "common/sync/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sift/v1/ingest.grpc.pb.h"
#include "sift/v1/query.grpc.pb.h"

namespace sift::siftctl {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Accepts every document except those whose text says "bad"; a document
// saying "flaky" is reported UNAVAILABLE the first time it is seen.
class FakeIngestService final : public v1::IngestService::Service {
 public:
  grpc::Status Index(grpc::ServerContext*, const v1::IndexRequest* request,
                     v1::IndexResponse* response) override {
    MutexLock lock(&mu_);
    ++calls_;
    max_batch_ = std::max(max_batch_, request->documents_size());
    if (failures_left_ > 0) {
      --failures_left_;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "overloaded");
    }
    for (int i = 0; i < request->documents_size(); ++i) {
      const v1::DocumentInput& doc = request->documents(i);
      const std::string text =
          doc.has_article() ? doc.article().text() : doc.json();
      const std::string id =
          doc.has_article() ? doc.article().id() : IdOf(doc.json());
      v1::DocumentResult* result = response->add_results();
      result->set_id(id);
      result->set_position(i);
      if (absl::StrContains(text, "down")) {
        result->set_code(14);
        result->set_message("shard 1 did not acknowledge the write");
      } else if (absl::StrContains(text, "bad")) {
        result->set_code(3);
        result->set_message("body: must not be empty");
      } else if (absl::StrContains(text, "flaky") &&
                 flaky_seen_.insert(id).second) {
        result->set_code(14);
        result->set_message("shard 0 unavailable");
      } else {
        accepted_.push_back(id);
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext*, const v1::DeleteRequest* request,
                      v1::DeleteResponse* response) override {
    for (const std::string& id : request->ids()) {
      v1::DeleteResult* result = response->add_results();
      result->set_id(id);
      result->set_found(absl::StartsWith(id, "known"));
    }
    return grpc::Status::OK;
  }

  void FailNextCalls(int n) {
    MutexLock lock(&mu_);
    failures_left_ = n;
  }
  int calls() {
    MutexLock lock(&mu_);
    return calls_;
  }
  int max_batch() {
    MutexLock lock(&mu_);
    return max_batch_;
  }
  std::vector<std::string> accepted() {
    MutexLock lock(&mu_);
    return accepted_;
  }

 private:
  static std::string IdOf(const std::string& json) {
    const std::string key = "\"id\":\"";
    size_t start = json.find(key);
    if (start == std::string::npos) return "";
    start += key.size();
    return json.substr(start, json.find('"', start) - start);
  }

  Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int max_batch_ ABSL_GUARDED_BY(mu_) = 0;
  int failures_left_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> flaky_seen_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> accepted_ ABSL_GUARDED_BY(mu_);
};

// A collection of kDocs documents "doc-i" scored kDocs - i, paged with the
// offset as the page token. The query "fail" is malformed.
class FakeQueryService final : public v1::QueryService::Service {
 public:
  static constexpr int kDocs = 2500;

  grpc::Status Search(grpc::ServerContext*, const v1::SearchRequest* request,
                      v1::SearchResponse* response) override {
    {
      MutexLock lock(&mu_);
      requests_.push_back(*request);
    }
    if (request->query() == "fail") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "column 1: made-up failure");
    }
    const int size = request->page_size() == 0 ? 10 : request->page_size();
    int start = request->offset();
    if (!request->page_token().empty() &&
        !absl::SimpleAtoi(request->page_token(), &start)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad token");
    }
    for (int i = start; i < std::min(kDocs, start + size); ++i) {
      v1::Hit* hit = response->add_hits();
      hit->set_id(absl::StrCat("doc-", i));
      hit->set_score(kDocs - i);
      hit->set_title(absl::StrCat("Title ", i));
      if (request->explain()) {
        v1::Explanation* e = hit->mutable_explanation();
        e->set_value(kDocs - i);
        e->set_description("sum of:");
        v1::Explanation* part = e->add_details();
        part->set_value(kDocs - i);
        part->set_description(absl::StrCat("the rank of doc-", i));
      }
    }
    response->set_total_hits(kDocs);
    if (start + size < kDocs) {
      response->set_next_page_token(absl::StrCat(start + size));
    }
    return grpc::Status::OK;
  }

  grpc::Status Get(grpc::ServerContext*, const v1::GetRequest* request,
                   v1::GetResponse* response) override {
    if (request->id() != "known") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such document");
    }
    response->mutable_document()->set_id("known");
    response->mutable_document()->set_title("A title");
    return grpc::Status::OK;
  }

  grpc::Status ClusterStats(grpc::ServerContext*,
                            const v1::ClusterStatsRequest*,
                            v1::ClusterStatsResponse* response) override {
    v1::ShardStats* shard = response->add_shards();
    shard->set_address("127.0.0.1:7710");
    shard->set_documents(kDocs);
    shard->set_disk_bytes(2048);
    response->set_total_documents(kDocs);
    response->set_total_disk_bytes(2048);
    return grpc::Status::OK;
  }

  std::vector<v1::SearchRequest> requests() {
    MutexLock lock(&mu_);
    return requests_;
  }

 private:
  Mutex mu_;
  std::vector<v1::SearchRequest> requests_ ABSL_GUARDED_BY(mu_);
};

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (fs::temp_directory_path() / "siftctl_commands_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    absl::StatusOr<std::unique_ptr<RunningServer>> server =
        StartServer("127.0.0.1:0", {&ingest_, &query_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    address_ = absl::StrCat("127.0.0.1:", server_->port());
  }

  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  std::string Write(const std::string& relative, const std::string& content) {
    const fs::path path = fs::path(dir_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  // Parses `args` as the command line (pointed at the fake services) and
  // runs it; returns the exit status.
  int Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--query_addr", address_, "--ingest_addr",
                               address_, "--timeout", "10s"});
    absl::StatusOr<Invocation> inv =
        ParseCommandLine(args, [](const char*) { return std::nullopt; });
    EXPECT_TRUE(inv.ok()) << inv.status();
    if (!inv.ok()) return -1;
    out_.str("");
    err_.str("");
    return RunCommand(*inv, Terminal(), out_, err_, kFastRetry);
  }

  static constexpr RetryPolicy kFastRetry = {5, absl::Milliseconds(1),
                                             absl::Milliseconds(4)};

  std::string dir_;
  FakeIngestService ingest_;
  FakeQueryService query_;
  std::unique_ptr<RunningServer> server_;
  std::string address_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CommandsTest, IngestSendsEveryDocumentAndListsRejectedLines) {
  const std::string jsonl = Write(
      "in/a.jsonl",
      "{\"id\":\"1\"}\n{\"id\":\"2\",\"body\":\"bad\"}\n\n{\"id\":\"3\"}\n");
  Write("in/notes/today.txt", "Today\n\nAll quiet.\n");
  Write("in/blob.bin", std::string("\0\1\2", 3));

  EXPECT_EQ(Run({"ingest", dir_ + "/in", "--batch-docs", "2"}), kExitFailure);
  EXPECT_THAT(out_.str(), StartsWith("accepted 3, rejected 1 (in "));
  EXPECT_THAT(out_.str(), HasSubstr(absl::StrCat(
                              "  ", jsonl,
                              ":2 (id \"2\"): INVALID_ARGUMENT: body: must "
                              "not be empty\n")));
  EXPECT_THAT(err_.str(),
              HasSubstr("skipping \"" + dir_ + "/in/blob.bin\": binary file"));
  EXPECT_LE(ingest_.max_batch(), 2);
  std::vector<std::string> accepted = ingest_.accepted();
  std::sort(accepted.begin(), accepted.end());
  EXPECT_EQ(accepted, (std::vector<std::string>{"1", "3", "notes/today.txt"}));
}

TEST_F(CommandsTest, IngestExitsZeroWhenEverythingIsAccepted) {
  Write("ok.jsonl", "{\"id\":\"a\"}\n{\"id\":\"b\"}\n");
  EXPECT_EQ(Run({"ingest", dir_ + "/ok.jsonl"}), kExitOk);
  EXPECT_THAT(out_.str(), StartsWith("accepted 2, rejected 0"));
  EXPECT_EQ(err_.str(), "");
}

TEST_F(CommandsTest, IngestRetriesOverloadedCallsAndUnavailableDocuments) {
  std::string lines;
  for (int i = 0; i < 30; ++i) {
    lines += absl::StrCat("{\"id\":\"d", i, "\"",
                          i % 7 == 0 ? ",\"x\":\"flaky\"" : "", "}\n");
  }
  Write("many.jsonl", lines);
  ingest_.FailNextCalls(3);
  EXPECT_EQ(Run({"ingest", dir_ + "/many.jsonl", "--batch-docs", "10"}),
            kExitOk)
      << out_.str() << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("accepted 30, rejected 0"));
  EXPECT_EQ(ingest_.accepted().size(), 30u);
  // 3 refused calls, 3 batches, and resends of the flaky documents.
  EXPECT_GT(ingest_.calls(), 6);
}

TEST_F(CommandsTest, IngestGivesUpOnAServiceThatKeepsRefusing) {
  Write("a.jsonl", "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n");
  ingest_.FailNextCalls(1000);
  EXPECT_EQ(Run({"ingest", dir_ + "/a.jsonl", "--batch-docs", "1",
                 "--in-flight", "1"}),
            kExitFailure);
  EXPECT_THAT(out_.str(), StartsWith("accepted 0, rejected 3"));
  EXPECT_THAT(out_.str(), HasSubstr("UNAVAILABLE: overloaded"));
  EXPECT_THAT(
      err_.str(),
      HasSubstr("stopped after a batch failed (UNAVAILABLE: overloaded)"));
  // Only the first batch was tried (5 attempts); the rest were not sent.
  EXPECT_EQ(ingest_.calls(), 5);
}

TEST_F(CommandsTest, IngestStopsWhenNoDocumentOfABatchCanBeStored) {
  Write("a.jsonl",
        "{\"id\":\"a\",\"x\":\"down\"}\n{\"id\":\"b\",\"x\":\"down\"}\n"
        "{\"id\":\"c\"}\n");
  EXPECT_EQ(Run({"ingest", dir_ + "/a.jsonl", "--batch-docs", "2",
                 "--in-flight", "1"}),
            kExitFailure);
  EXPECT_THAT(out_.str(), StartsWith("accepted 0, rejected 3"));
  EXPECT_THAT(out_.str(), HasSubstr(":1 (id \"a\"): UNAVAILABLE: shard 1 "
                                    "did not acknowledge the write"));
  EXPECT_THAT(out_.str(), HasSubstr(":3: UNAVAILABLE: not sent after an "
                                    "earlier batch failed"));
  EXPECT_THAT(err_.str(),
              HasSubstr("stopped after a batch failed (UNAVAILABLE: no "
                        "document of a batch could be stored"));
  EXPECT_EQ(ingest_.calls(), 5);  // the first batch, tried 5 times
}

TEST_F(CommandsTest, IngestRejectsInvalidUtf8WithoutSendingIt) {
  const std::string path =
      Write("a.jsonl", "{\"id\":\"a\"}\n{\"id\":\"\xFF\"}\n");
  EXPECT_EQ(Run({"ingest", path}), kExitFailure);
  EXPECT_THAT(out_.str(), StartsWith("accepted 1, rejected 1"));
  EXPECT_THAT(out_.str(), HasSubstr(path + ":2: INVALID_ARGUMENT: not valid "
                                           "UTF-8 at byte 7"));
  EXPECT_EQ(ingest_.accepted(), std::vector<std::string>{"a"});
}

TEST_F(CommandsTest, IngestNamesAnUnreachableService) {
  Write("a.jsonl", "{\"id\":\"a\"}\n");
  absl::StatusOr<Invocation> inv = ParseCommandLine(
      {"--ingest_addr", "127.0.0.1:1", "ingest", dir_ + "/a.jsonl"},
      [](const char*) { return std::nullopt; });
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(RunCommand(*inv, Terminal(), out_, err_, kFastRetry), kExitFailure);
  EXPECT_THAT(out_.str(), HasSubstr("cannot reach ingest service at "
                                    "127.0.0.1:1 (is it running?"));
}

TEST_F(CommandsTest, IngestOfAMissingPathIsAUsageError) {
  EXPECT_EQ(Run({"ingest", dir_ + "/missing"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("no such file or folder"));
}

TEST_F(CommandsTest, BatchSearchPagesToDepthAndWritesTrecInFileOrder) {
  const std::string queries =
      Write("q.tsv", "q1\tflow (laminar) AND heat\nq2\tshock\n");
  EXPECT_EQ(Run({"search", "--queries", queries, "--k", "2200", "--run-name",
                 "test"}),
            kExitOk)
      << err_.str();
  std::vector<std::string> lines =
      absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4400u);
  EXPECT_EQ(lines[0], "q1 Q0 doc-0 1 2500.000000 test");
  EXPECT_EQ(lines[2199], "q1 Q0 doc-2199 2200 301.000000 test");
  EXPECT_EQ(lines[2200], "q2 Q0 doc-0 1 2500.000000 test");

  std::vector<v1::SearchRequest> requests = query_.requests();
  ASSERT_EQ(requests.size(), 6u);  // 3 pages per query
  for (const v1::SearchRequest& r : requests) {
    EXPECT_EQ(r.page_size(), 1000u);  // the same on every page
    EXPECT_FALSE(r.highlight());
    EXPECT_TRUE(r.has_highlight());
    EXPECT_THAT(r.query(),
                testing::AnyOf("flow \\(laminar\\) and heat", "shock"));
  }
}

TEST_F(CommandsTest, BatchSearchReportsAFailedQueryAndGoesOn) {
  const std::string queries = Write("q.tsv", "1\tshock\n2\tfail\n3\twave\n");
  EXPECT_EQ(Run({"search", "--queries", queries, "--k", "2"}), kExitFailure);
  EXPECT_EQ(out_.str(),
            "1 Q0 doc-0 1 2500.000000 sift\n1 Q0 doc-1 2 2499.000000 sift\n"
            "3 Q0 doc-0 1 2500.000000 sift\n3 Q0 doc-1 2 2499.000000 sift\n");
  EXPECT_THAT(err_.str(),
              HasSubstr(absl::StrCat("siftctl: search: query 2 (", queries,
                                     ":2): INVALID_ARGUMENT: column 1")));
}

TEST_F(CommandsTest, SearchPrintsATableOrOnlyJson) {
  EXPECT_EQ(Run({"search", "heat", "--k", "3", "--and", "--source", "bbc",
                 "--from", "2020-01-01"}),
            kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("3 hits (2,500 total)"));
  EXPECT_THAT(out_.str(), HasSubstr("next page: --page-token 3"));
  const v1::SearchRequest sent = query_.requests().back();
  EXPECT_EQ(sent.query(), "heat");  // a single query is sent as written
  EXPECT_EQ(sent.default_operator(), v1::DEFAULT_OPERATOR_AND);
  EXPECT_EQ(sent.filters().sources(0), "bbc");
  EXPECT_EQ(sent.filters().published_from().seconds(), 1577836800);
  EXPECT_FALSE(sent.has_highlight());

  EXPECT_EQ(Run({"search", "heat", "--k", "1", "--json"}), kExitOk);
  EXPECT_THAT(out_.str(), StartsWith("{"));
  EXPECT_THAT(out_.str(), HasSubstr("\"total_hits\": \"2500\""));
  EXPECT_THAT(out_.str(), Not(HasSubstr("hits (")));
}

TEST_F(CommandsTest, SearchSendsHighlightOptionsOnlyWhenGiven) {
  ASSERT_EQ(Run({"search", "heat", "--k", "1"}), kExitOk);
  EXPECT_FALSE(query_.requests().back().has_highlight_options());

  ASSERT_EQ(Run({"search", "heat", "--k", "1", "--pre-tag", "[", "--post-tag",
                 "]", "--html"}),
            kExitOk);
  const v1::HighlightOptions sent =
      query_.requests().back().highlight_options();
  EXPECT_TRUE(sent.has_pre_tag());
  EXPECT_EQ(sent.pre_tag(), "[");
  EXPECT_EQ(sent.post_tag(), "]");
  EXPECT_TRUE(sent.html_escape());
  EXPECT_EQ(sent.fragment_bytes(), 0u);  // the server's default

  ASSERT_EQ(Run({"search", "heat", "--k", "1", "--html"}), kExitOk);
  const v1::HighlightOptions escape_only =
      query_.requests().back().highlight_options();
  EXPECT_FALSE(escape_only.has_pre_tag());
  EXPECT_FALSE(escape_only.has_post_tag());
  EXPECT_TRUE(escape_only.html_escape());
}

TEST_F(CommandsTest, SearchExplainPrintsATreeUnderEachHitOrInTheJson) {
  EXPECT_EQ(Run({"search", "heat", "--k", "2", "--explain"}), kExitOk);
  EXPECT_TRUE(query_.requests().back().explain());
  EXPECT_THAT(out_.str(), HasSubstr("   [doc-0]\n"
                                    "   2500  sum of:\n"
                                    "     2500  the rank of doc-0\n"
                                    "2  2499.0000"));

  EXPECT_EQ(Run({"search", "heat", "--k", "1", "--explain", "--json"}),
            kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("\"explanation\": {"));
  EXPECT_THAT(out_.str(), HasSubstr("\"description\": \"the rank of doc-0\""));

  // Without --explain, nothing is asked and nothing printed.
  EXPECT_EQ(Run({"search", "heat", "--k", "1", "--json"}), kExitOk);
  EXPECT_FALSE(query_.requests().back().explain());
  EXPECT_THAT(out_.str(), Not(HasSubstr("explanation")));
}

TEST_F(CommandsTest, SearchAllFollowsTheTokensToTheLastPage) {
  EXPECT_EQ(Run({"search", "heat", "--all", "--k", "1000", "--offset", "3"}),
            kExitOk);
  const std::vector<v1::SearchRequest> sent = query_.requests();
  // Hits 3..1002, 1003..2002, 2003..2499: three requests.
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].offset(), 3u);
  EXPECT_EQ(sent[0].page_token(), "");
  for (size_t i = 1; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].offset(), 0u);
    EXPECT_EQ(sent[i].page_size(), 1000u);
    EXPECT_FALSE(sent[i].page_token().empty());
  }
  const std::string text = out_.str();
  // Every hit once, ranks running on across pages.
  for (int i = 3; i < FakeQueryService::kDocs; ++i) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("[doc-", i, "]"))) << i;
  }
  // doc-i scores 2500 - i and ranks i + 1, on the third page too.
  EXPECT_THAT(text, HasSubstr("\n2101  400.0000  "));
  EXPECT_THAT(text, Not(HasSubstr("[doc-2]")));
  // Each page says where the next starts, the last one nothing.
  EXPECT_THAT(text, HasSubstr("next page: --page-token 1003"));
  EXPECT_THAT(text, HasSubstr("next page: --page-token 2003"));
  EXPECT_THAT(text, HasSubstr("497 hits (2,500 total)"));

  EXPECT_EQ(Run({"search", "heat", "--all", "--json", "--k", "1000"}), kExitOk);
  // One SearchResponse per page.
  size_t objects = 0;
  for (size_t at = out_.str().find("\"total_hits\""); at != std::string::npos;
       at = out_.str().find("\"total_hits\"", at + 1)) {
    ++objects;
  }
  EXPECT_EQ(objects, 3u);
}

TEST_F(CommandsTest, SearchErrorGoesToStandardError) {
  EXPECT_EQ(Run({"search", "fail"}), kExitFailure);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(),
            "siftctl: search: INVALID_ARGUMENT: column 1: made-up failure\n");
}

TEST_F(CommandsTest, GetPrintsTheDocumentOrNotFound) {
  EXPECT_EQ(Run({"get", "known"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("\"title\": \"A title\""));
  EXPECT_THAT(out_.str(), HasSubstr("\"body\": \"\""));  // empty fields too
  EXPECT_EQ(Run({"get", "other"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("siftctl: get: NOT_FOUND: no document "
                                    "with id \"other\""));
}

TEST_F(CommandsTest, DeleteSaysWhichIdsExisted) {
  EXPECT_EQ(Run({"delete", "known-1", "gone"}), kExitOk);
  EXPECT_EQ(out_.str(), "deleted    known-1\nnot found  gone\n");
}

TEST_F(CommandsTest, StatsPrintsTheShardTable) {
  EXPECT_EQ(Run({"stats"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("127.0.0.1:7710"));
  EXPECT_THAT(out_.str(), HasSubstr("2,500"));
  EXPECT_THAT(out_.str(), HasSubstr("2.0 KiB"));
  EXPECT_EQ(Run({"stats", "--json"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("\"total_documents\": \"2500\""));
}

TEST_F(CommandsTest, HealthReportsEachService) {
  EXPECT_EQ(Run({"health"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("query   " + address_ + "  SERVING\n"));
  EXPECT_THAT(out_.str(), HasSubstr("ingest  " + address_ + "  SERVING\n"));

  absl::StatusOr<Invocation> inv = ParseCommandLine(
      {"--ingest_addr", "127.0.0.1:1", "--query_addr", address_, "health"},
      [](const char*) { return std::nullopt; });
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(RunCommand(*inv, Terminal(), out_, err_), kExitFailure);
  EXPECT_THAT(out_.str(), HasSubstr("cannot reach ingest service"));
}

}  // namespace
}  // namespace sift::siftctl
