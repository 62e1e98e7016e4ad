#include "tools/siftctl/command_line.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::siftctl {
namespace {

using ::sift::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

absl::StatusOr<Invocation> Parse(std::vector<std::string> args) {
  return ParseCommandLine(args, FakeEnv({}));
}

TEST(CommandLineTest, ParsesSearchFlagsAndJoinsQueryWords) {
  SIFT_ASSERT_OK_AND_ASSIGN(
      Invocation inv,
      Parse({"search", "human", "rights", "--k", "25", "--offset=5", "--and",
             "--source", "reuters", "--source", "bbc", "--tag", "china",
             "--sort", "newest", "--no-highlight", "--json"}));
  EXPECT_EQ(inv.command, Command::kSearch);
  EXPECT_FALSE(inv.help);
  EXPECT_EQ(inv.search.query, "human rights");
  EXPECT_EQ(inv.search.k, 25u);
  EXPECT_EQ(inv.search.offset, 5u);
  EXPECT_TRUE(inv.search.all_terms);
  EXPECT_THAT(inv.search.sources, ElementsAre("reuters", "bbc"));
  EXPECT_THAT(inv.search.tags, ElementsAre("china"));
  EXPECT_EQ(inv.search.sort, v1::SORT_ORDER_PUBLISHED_DESC);
  EXPECT_FALSE(inv.search.highlight);
  EXPECT_EQ(inv.search.format, OutputFormat::kJson);
}

TEST(CommandLineTest, SearchDefaultsToTenHitsAsATable) {
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation inv, Parse({"search", "covid"}));
  EXPECT_EQ(inv.search.k, 10u);
  EXPECT_EQ(inv.search.format, OutputFormat::kTable);
  EXPECT_TRUE(inv.search.highlight);
  EXPECT_EQ(inv.search.sort, v1::SORT_ORDER_UNSPECIFIED);
}

TEST(CommandLineTest, EmptyQueryIsAllowedForFilteredListing) {
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation inv,
                            Parse({"search", "--sort", "newest"}));
  EXPECT_EQ(inv.search.query, "");
}

TEST(CommandLineTest, DoubleDashLetsAQueryStartWithMinus) {
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation inv,
                            Parse({"search", "--", "-covid", "china"}));
  EXPECT_EQ(inv.search.query, "-covid china");
}

TEST(CommandLineTest, AllPagesInPagesOfAThousandUnlessKSaysOtherwise) {
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation inv, Parse({"search", "x", "--all"}));
  EXPECT_TRUE(inv.search.all);
  EXPECT_EQ(inv.search.k, kMaxPageSize);
  SIFT_ASSERT_OK_AND_ASSIGN(inv, Parse({"search", "x", "--all", "--k", "50"}));
  EXPECT_EQ(inv.search.k, 50u);
  SIFT_ASSERT_OK_AND_ASSIGN(inv, Parse({"search", "x"}));
  EXPECT_FALSE(inv.search.all);
  EXPECT_EQ(inv.search.k, 10u);
  EXPECT_THAT(Parse({"search", "--queries", "q.tsv", "--all"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--all")));
  EXPECT_THAT(Parse({"search", "x", "--page-token", "t", "--offset", "5"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--offset and --page-token exclude")));
}

TEST(CommandLineTest, UnderscoreAndDashSpellingsAreTheSame) {
  SIFT_ASSERT_OK_AND_ASSIGN(
      Invocation inv,
      Parse({"search", "x", "--page_token", "abc", "--run-name", "r1"}));
  EXPECT_EQ(inv.search.page_token, "abc");
  SIFT_ASSERT_OK_AND_ASSIGN(
      inv, Parse({"stats", "--query-addr", "h:1", "--ingest_addr=h:2"}));
  EXPECT_EQ(inv.connection.query_address, "h:1");
  EXPECT_EQ(inv.connection.ingest_address, "h:2");
}

TEST(CommandLineTest, AddressesComeFromFlagThenEnvironmentThenDefault) {
  const EnvLookup env = FakeEnv(
      {{"SIFT_QUERY_ADDR", "env-q:1"}, {"SIFT_INGEST_ADDR", "env-i:2"}});
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation from_env,
                            ParseCommandLine({"stats"}, env));
  EXPECT_EQ(from_env.connection.query_address, "env-q:1");
  EXPECT_EQ(from_env.connection.ingest_address, "env-i:2");

  SIFT_ASSERT_OK_AND_ASSIGN(
      Invocation from_flag,
      ParseCommandLine({"--query_addr", "flag-q:3", "stats"}, env));
  EXPECT_EQ(from_flag.connection.query_address, "flag-q:3");
  EXPECT_EQ(from_flag.connection.ingest_address, "env-i:2");

  SIFT_ASSERT_OK_AND_ASSIGN(Invocation defaults, Parse({"stats"}));
  EXPECT_EQ(defaults.connection.query_address, "127.0.0.1:7700");
  EXPECT_EQ(defaults.connection.ingest_address, "127.0.0.1:7701");
}

TEST(CommandLineTest, UnknownFlagIsAUsageErrorNamingFlagAndSubcommand) {
  Command command = Command::kNone;
  absl::StatusOr<Invocation> inv =
      ParseCommandLine({"search", "x", "--bogus"}, FakeEnv({}), &command);
  EXPECT_THAT(inv, StatusIs(absl::StatusCode::kInvalidArgument,
                            HasSubstr("search: unknown flag --bogus")));
  EXPECT_EQ(command, Command::kSearch);
}

TEST(CommandLineTest, UnknownSubcommandIsAUsageError) {
  EXPECT_THAT(Parse({"serach", "x"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown subcommand \"serach\"")));
  EXPECT_THAT(Parse({}), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("no subcommand")));
}

TEST(CommandLineTest, FlagWithoutValueOrWithBadValueIsRejected) {
  EXPECT_THAT(Parse({"search", "x", "--k"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--k needs a value")));
  EXPECT_THAT(Parse({"search", "x", "--k", "ten"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--k takes a whole number")));
  EXPECT_THAT(
      Parse({"search", "x", "--offset", "-1"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--offset")));
  EXPECT_THAT(Parse({"search", "x", "--sort", "random"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("relevance, newest or oldest")));
  EXPECT_THAT(Parse({"search", "x", "--json=yes"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--json takes no value")));
  EXPECT_THAT(
      Parse({"stats", "--timeout", "soon"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--timeout")));
}

TEST(CommandLineTest, SearchTakesHighlightMarkersAndEscaping) {
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation plain, Parse({"search", "cocoa"}));
  EXPECT_FALSE(plain.search.pre_tag.has_value());
  EXPECT_FALSE(plain.search.post_tag.has_value());
  EXPECT_FALSE(plain.search.html_escape);

  SIFT_ASSERT_OK_AND_ASSIGN(
      Invocation inv, Parse({"search", "cocoa", "--pre-tag", "<mark class=x>",
                             "--post_tag=</mark>", "--html"}));
  EXPECT_EQ(inv.search.query, "cocoa");
  EXPECT_EQ(inv.search.pre_tag, "<mark class=x>");
  EXPECT_EQ(inv.search.post_tag, "</mark>");
  EXPECT_TRUE(inv.search.html_escape);

  // An empty marker is a choice (no marker), not the default; a marker may
  // start with a dash.
  SIFT_ASSERT_OK_AND_ASSIGN(
      inv, Parse({"search", "cocoa", "--pre-tag=", "--post-tag", "-->"}));
  EXPECT_EQ(inv.search.pre_tag, "");
  EXPECT_EQ(inv.search.post_tag, "-->");
  EXPECT_FALSE(inv.search.html_escape);
}

TEST(CommandLineTest, BadHighlightFlagsAreUsageErrors) {
  EXPECT_THAT(Parse({"search", "x", "--pre-tag", std::string(65, '<')}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--pre-tag is 65 bytes, over the limit of "
                                 "64")));
  EXPECT_THAT(Parse({"search", "x", "--post-tag", "\xC3("}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--post-tag is not valid UTF-8")));
  EXPECT_THAT(Parse({"search", "x", "--pre-tag"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--pre-tag needs a value")));
  EXPECT_THAT(Parse({"search", "x", "--html=yes"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--html takes no value")));
  EXPECT_THAT(Parse({"search", "x", "--html", "--no-highlight"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--no-highlight and --queries turn off")));
  EXPECT_THAT(Parse({"search", "--queries", "q.tsv", "--pre-tag", "["}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--pre-tag, --post-tag and --html")));
}

TEST(CommandLineTest, SingleQueryPageIsAtMostOneThousand) {
  EXPECT_THAT(Parse({"search", "x", "--k", "1001"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--k is at most 1000")));
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation inv,
                            Parse({"search", "x", "--k", "1000"}));
  EXPECT_EQ(inv.search.k, 1000u);
}

TEST(CommandLineTest, ExplainIsOffByDefaultAndReachesAHundredHitsDeep) {
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation inv, Parse({"search", "covid"}));
  EXPECT_FALSE(inv.search.explain);
  SIFT_ASSERT_OK_AND_ASSIGN(inv, Parse({"search", "covid", "--explain", "--k",
                                        "60", "--offset", "40", "--json"}));
  EXPECT_TRUE(inv.search.explain);
  EXPECT_EQ(inv.search.k, 60u);
  EXPECT_EQ(inv.search.format, OutputFormat::kJson);
  EXPECT_THAT(Parse({"search", "covid", "--explain", "--k", "101"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--explain reaches at most 100 hits deep")));
  EXPECT_THAT(
      Parse({"search", "covid", "--explain", "--k", "60", "--offset", "41"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--offset + --k")));
  // --all pages by the most an explained page may hold.
  SIFT_ASSERT_OK_AND_ASSIGN(inv,
                            Parse({"search", "covid", "--explain", "--all"}));
  EXPECT_EQ(inv.search.k, 100u);
  // Page tokens reach any depth, a page at a time.
  SIFT_ASSERT_OK_AND_ASSIGN(
      inv, Parse({"search", "covid", "--explain", "--page-token", "t"}));
  EXPECT_TRUE(inv.search.explain);
  EXPECT_THAT(Parse({"search", "--queries", "q.tsv", "--explain"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--explain applies to a single query")));
  EXPECT_THAT(UsageText(Command::kSearch), HasSubstr("--explain"));
}

TEST(CommandLineTest, BatchSearchDefaultsToTrecThousandDeep) {
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation inv,
                            Parse({"search", "--queries", "q.tsv"}));
  EXPECT_EQ(inv.search.queries_file, "q.tsv");
  EXPECT_EQ(inv.search.format, OutputFormat::kTrec);
  EXPECT_EQ(inv.search.k, 1000u);
  EXPECT_EQ(inv.search.run_name, "sift");

  SIFT_ASSERT_OK_AND_ASSIGN(
      inv, Parse({"search", "--queries", "q.tsv", "--k", "2500", "--format",
                  "trec", "--run-name", "bm25"}));
  EXPECT_EQ(inv.search.k, 2500u);
  EXPECT_EQ(inv.search.run_name, "bm25");
}

TEST(CommandLineTest, BatchSearchRejectsConflictingArguments) {
  EXPECT_THAT(Parse({"search", "--queries", "q.tsv", "extra"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("either a QUERY or --queries")));
  EXPECT_THAT(Parse({"search", "--queries", "q.tsv", "--json"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("TREC")));
  EXPECT_THAT(
      Parse({"search", "--queries", "q.tsv", "--page-token", "t"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--page-token")));
  EXPECT_THAT(Parse({"search", "x", "--format", "trec"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("needs --queries")));
  EXPECT_THAT(
      Parse({"search", "--queries", "q.tsv", "--run-name", "a b"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--run-name")));
}

TEST(CommandLineTest, ToDateIncludesTheWholeDay) {
  SIFT_ASSERT_OK_AND_ASSIGN(
      Invocation inv,
      Parse({"search", "x", "--from", "2021-01-01", "--to", "2021-12-31"}));
  ASSERT_TRUE(inv.search.published_from.has_value());
  ASSERT_TRUE(inv.search.published_to.has_value());
  EXPECT_EQ(absl::FormatTime(absl::RFC3339_full, *inv.search.published_from,
                             absl::UTCTimeZone()),
            "2021-01-01T00:00:00+00:00");
  EXPECT_EQ(absl::FormatTime(absl::RFC3339_full, *inv.search.published_to,
                             absl::UTCTimeZone()),
            "2022-01-01T00:00:00+00:00");
}

TEST(CommandLineTest, FilterTakesQuerySyntaxForEveryFilter) {
  SIFT_ASSERT_OK_AND_ASSIGN(
      Invocation inv,
      Parse({"search", "x", "--filter", "source:Reuters", "--filter",
             "tag:cocoa", "--filter", "tag:usa", "--filter",
             "published_at:[1987-03-01 TO 1987-03-31]"}));
  EXPECT_EQ(inv.search.sources, std::vector<std::string>{"Reuters"});
  EXPECT_EQ(inv.search.tags, (std::vector<std::string>{"cocoa", "usa"}));
  ASSERT_TRUE(inv.search.published_from.has_value());
  ASSERT_TRUE(inv.search.published_to.has_value());
  EXPECT_EQ(absl::FormatTime("%Y-%m-%d", *inv.search.published_from,
                             absl::UTCTimeZone()),
            "1987-03-01");
  // The last day is included, as with --to.
  EXPECT_EQ(absl::FormatTime("%Y-%m-%d", *inv.search.published_to,
                             absl::UTCTimeZone()),
            "1987-04-01");

  SIFT_ASSERT_OK_AND_ASSIGN(
      inv, Parse({"search", "x", "--filter", "published_at>=2021-01-01"}));
  EXPECT_TRUE(inv.search.published_from.has_value());
  EXPECT_FALSE(inv.search.published_to.has_value());
  SIFT_ASSERT_OK_AND_ASSIGN(inv, Parse({"search", "x", "--filter",
                                        "published_at:[* TO 2021-01-01]"}));
  EXPECT_FALSE(inv.search.published_from.has_value());
  EXPECT_TRUE(inv.search.published_to.has_value());
  // The range checks of --from and --to apply.
  EXPECT_THAT(Parse({"search", "x", "--filter", "published_at>=2021-02-01",
                     "--filter", "published_at<=2021-01-01"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--from must be before --to")));
}

TEST(CommandLineTest, FilterErrorsSayWhatIsExpected) {
  for (const char* bad :
       {"author:me", "source:", "published_at=2021",
        "published_at:[2021-01-01 2021-02-01]", "published_at>=yesterday"}) {
    EXPECT_THAT(Parse({"search", "x", "--filter", bad}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(absl::StrCat("--filter ", bad)),
                               HasSubstr("expected source:S, tag:T"))))
        << bad;
  }
}

TEST(CommandLineTest, TimestampDatesAreTakenAsGiven) {
  SIFT_ASSERT_OK_AND_ASSIGN(absl::Time t,
                            ParseDateFlag("2021-06-30T12:00:00Z", true));
  EXPECT_EQ(absl::ToUnixSeconds(t), 1625054400);
  EXPECT_THAT(
      ParseDateFlag("30/06/2021", false),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("YYYY-MM-DD")));
}

TEST(CommandLineTest, EmptyDateRangeIsRejected) {
  EXPECT_THAT(
      Parse({"search", "x", "--from", "2021-02-01", "--to", "2021-01-01"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--from must be before --to")));
}

TEST(CommandLineTest, TimeoutTakesDurationsOrSeconds) {
  SIFT_ASSERT_OK_AND_ASSIGN(absl::Duration d, ParseTimeout("2m"));
  EXPECT_EQ(d, absl::Minutes(2));
  SIFT_ASSERT_OK_AND_ASSIGN(d, ParseTimeout("1.5"));
  EXPECT_EQ(d, absl::Milliseconds(1500));
  EXPECT_THAT(ParseTimeout("0"), StatusIs(absl::StatusCode::kInvalidArgument));
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation inv,
                            Parse({"health", "--timeout", "5s"}));
  EXPECT_EQ(inv.connection.timeout, absl::Seconds(5));
}

TEST(CommandLineTest, IngestTakesPathsAndBatchFlags) {
  SIFT_ASSERT_OK_AND_ASSIGN(
      Invocation inv, Parse({"ingest", "a.jsonl", "docs/", "--batch-docs",
                             "100", "--batch-mib", "4", "--in-flight", "2"}));
  EXPECT_EQ(inv.command, Command::kIngest);
  EXPECT_THAT(inv.ingest.paths, ElementsAre("a.jsonl", "docs/"));
  EXPECT_EQ(inv.ingest.max_batch_documents, 100u);
  EXPECT_EQ(inv.ingest.max_batch_bytes, size_t{4} << 20);
  EXPECT_EQ(inv.ingest.max_in_flight, 2);

  SIFT_ASSERT_OK_AND_ASSIGN(inv, Parse({"ingest", "x"}));
  EXPECT_EQ(inv.ingest.max_batch_documents, 500u);
  EXPECT_EQ(inv.ingest.max_batch_bytes, size_t{16} << 20);
  EXPECT_EQ(inv.ingest.max_in_flight, 4);

  EXPECT_THAT(Parse({"ingest"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at least one file or folder")));
  EXPECT_THAT(
      Parse({"ingest", "x", "--batch-docs", "1001"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--batch-docs")));
}

TEST(CommandLineTest, GetDeleteStatsHealthCheckTheirArguments) {
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation inv, Parse({"get", "doc-1", "--json"}));
  EXPECT_EQ(inv.get.id, "doc-1");
  EXPECT_THAT(Parse({"get"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("exactly one")));
  EXPECT_THAT(Parse({"get", "a", "b"}),
              StatusIs(absl::StatusCode::kInvalidArgument));

  SIFT_ASSERT_OK_AND_ASSIGN(inv, Parse({"delete", "a", "b"}));
  EXPECT_THAT(inv.remove.ids, ElementsAre("a", "b"));
  EXPECT_THAT(Parse({"delete"}), StatusIs(absl::StatusCode::kInvalidArgument));

  SIFT_ASSERT_OK_AND_ASSIGN(inv, Parse({"stats", "--json"}));
  EXPECT_TRUE(inv.stats.json);
  EXPECT_THAT(Parse({"stats", "now"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unexpected argument")));
  EXPECT_THAT(Parse({"health", "--json"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("health: unknown flag --json")));
}

TEST(CommandLineTest, HelpIsRecognisedInEveryForm) {
  for (const char* name :
       {"ingest", "search", "get", "delete", "stats", "health"}) {
    SIFT_ASSERT_OK_AND_ASSIGN(Invocation flag, Parse({name, "--help"}));
    EXPECT_TRUE(flag.help) << name;
    EXPECT_STREQ(CommandName(flag.command), name);
    SIFT_ASSERT_OK_AND_ASSIGN(Invocation word, Parse({"help", name}));
    EXPECT_TRUE(word.help) << name;
    EXPECT_EQ(word.command, flag.command);
    EXPECT_THAT(UsageText(flag.command),
                HasSubstr(absl::StrCat("Usage: siftctl ", name)));
  }
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation top, Parse({"--help"}));
  EXPECT_TRUE(top.help);
  EXPECT_EQ(top.command, Command::kNone);
  SIFT_ASSERT_OK_AND_ASSIGN(Invocation short_flag, Parse({"search", "-h"}));
  EXPECT_TRUE(short_flag.help);
}

TEST(CommandLineTest, TopLevelUsageListsEverySubcommand) {
  const std::string usage = UsageText(Command::kNone);
  for (const char* name :
       {"ingest", "search", "get", "delete", "stats", "health"}) {
    EXPECT_THAT(usage, HasSubstr(absl::StrCat("  ", name, " "))) << name;
  }
  EXPECT_THAT(usage, HasSubstr("SIFT_QUERY_ADDR"));
}

}  // namespace
}  // namespace sift::siftctl

namespace sift::siftctl {
namespace {

TEST(CommandLineFacetTest, ParsesFacetsInOrder) {
  SIFT_ASSERT_OK_AND_ASSIGN(
      Invocation inv,
      Parse({"search", "wheat", "--facet", "source", "--facet", "tags:20",
             "--facet=published_at:day", "--facet", "published_at"}));
  ASSERT_EQ(inv.search.facets.size(), 4u);
  EXPECT_EQ(inv.search.facets[0].field(), v1::FACET_FIELD_SOURCE);
  EXPECT_EQ(inv.search.facets[0].size(), 0u);  // the server's default
  EXPECT_EQ(inv.search.facets[1].field(), v1::FACET_FIELD_TAGS);
  EXPECT_EQ(inv.search.facets[1].size(), 20u);
  EXPECT_EQ(inv.search.facets[2].field(), v1::FACET_FIELD_PUBLISHED_AT);
  EXPECT_EQ(inv.search.facets[2].interval(), v1::DATE_INTERVAL_DAY);
  EXPECT_EQ(inv.search.facets[3].interval(), v1::DATE_INTERVAL_MONTH);
  EXPECT_EQ(inv.search.query, "wheat");
}

TEST(CommandLineFacetTest, FacetSpecs) {
  SIFT_ASSERT_OK_AND_ASSIGN(v1::FacetRequest year,
                            ParseFacetSpec("published_at:year"));
  EXPECT_EQ(year.interval(), v1::DATE_INTERVAL_YEAR);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::FacetRequest most,
                            ParseFacetSpec("source:1000"));
  EXPECT_EQ(most.size(), 1000u);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"author",
       "--facet takes source[:N], tags[:N] or "
       "published_at[:day|month|year], not \"author\""},
      {"tag", "not \"tag\""},
      {"", "not \"\""},
      {"tags:0", "--facet tags:0: the number of values must be 1 to 1000"},
      {"tags:1001", "must be 1 to 1000, not \"1001\""},
      {"source:ten", "not \"ten\""},
      {"source:", "not \"\""},
      {"published_at:week",
       "--facet published_at:week: the interval must be day, month or year"},
      {"published_at:", "not \"\""},
  };
  for (const auto& [spec, message] : bad) {
    EXPECT_THAT(
        ParseFacetSpec(spec),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)))
        << spec;
  }
}

TEST(CommandLineFacetTest, BadOrRepeatedFacetsAreUsageErrors) {
  EXPECT_THAT(Parse({"search", "x", "--facet", "tags:x"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--facet tags:x")));
  EXPECT_THAT(Parse({"search", "x", "--facet", "tags", "--facet", "tags:5"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--facet tags:5: that facet is already")));
  EXPECT_THAT(Parse({"search", "--queries", "q.tsv", "--facet", "source"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--facet applies to a single query")));
}

}  // namespace
}  // namespace sift::siftctl

namespace sift::siftctl {
namespace {

TEST(SnapshotCommandLineTest, ParsesEachAction) {
  SIFT_ASSERT_OK_AND_ASSIGN(
      Invocation create,
      ParseCommandLine({"snapshot", "create", "nightly"},
                       [](const char*) { return std::nullopt; }));
  EXPECT_EQ(create.command, Command::kSnapshot);
  EXPECT_EQ(create.snapshot.action, SnapshotOptions::Action::kCreate);
  EXPECT_EQ(create.snapshot.name, "nightly");
  SIFT_ASSERT_OK_AND_ASSIGN(
      Invocation restore,
      ParseCommandLine({"snapshot", "restore", "nightly", "--snapshot_dir",
                        "/s", "--shard=2", "--data-dir", "/d", "--single"},
                       [](const char*) { return std::nullopt; }));
  EXPECT_EQ(restore.snapshot.action, SnapshotOptions::Action::kRestore);
  EXPECT_EQ(restore.snapshot.snapshot_dir, "/s");
  EXPECT_EQ(restore.snapshot.shard, 2u);
  EXPECT_EQ(restore.snapshot.data_dir, "/d");
  EXPECT_TRUE(restore.snapshot.single);
}

TEST(SnapshotCommandLineTest, SaysWhatIsMissing) {
  auto env = [](const char*) -> std::optional<std::string> {
    return std::nullopt;
  };
  EXPECT_THAT(
      ParseCommandLine({"snapshot"}, env),
      ::sift::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                ::testing::HasSubstr("give an action")));
  EXPECT_THAT(
      ParseCommandLine({"snapshot", "create"}, env),
      ::sift::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                ::testing::HasSubstr("one snapshot name")));
  EXPECT_THAT(
      ParseCommandLine({"snapshot", "restore", "n", "--shard=0"}, env),
      ::sift::testing::StatusIs(
          absl::StatusCode::kInvalidArgument,
          ::testing::HasSubstr("--snapshot_dir, --shard and --data_dir")));
  EXPECT_THAT(
      ParseCommandLine({"snapshot", "rename", "n"}, env),
      ::sift::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                ::testing::HasSubstr("unknown action")));
}

}  // namespace
}  // namespace sift::siftctl
