#include "tools/siftctl/command_line.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"
#include "tools/siftctl/input_files.h"

namespace sift::siftctl {
namespace {

struct CommandInfo {
  Command command;
  const char* name;
};

constexpr CommandInfo kCommands[] = {
    {Command::kIngest, "ingest"},     {Command::kSearch, "search"},
    {Command::kGet, "get"},           {Command::kDelete, "delete"},
    {Command::kStats, "stats"},       {Command::kHealth, "health"},
    {Command::kSnapshot, "snapshot"},
};

std::optional<Command> FindCommand(absl::string_view name) {
  for (const CommandInfo& info : kCommands) {
    if (name == info.name) return info.command;
  }
  return std::nullopt;
}

constexpr char kGlobalFlagsHelp[] =
    "Connection flags (every subcommand):\n"
    "  --query_addr HOST:PORT   query service (env SIFT_QUERY_ADDR, default "
    "127.0.0.1:7700)\n"
    "  --ingest_addr HOST:PORT  ingest service (env SIFT_INGEST_ADDR, default "
    "127.0.0.1:7701)\n"
    "  --timeout DURATION       deadline of each call, e.g. 30s or 2m "
    "(default 60s)\n";

// How one flag is spelled and what it does with its value.
struct FlagSpec {
  // Canonical spelling, words joined by '-'.
  std::string name;
  bool takes_value;
  std::function<absl::Status(const std::string& value)> apply;
};

absl::Status ParseUint(const std::string& flag, const std::string& value,
                       uint32_t min, uint32_t max, uint32_t* out) {
  uint64_t parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < min || parsed > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " takes a whole number from ", min, " to ",
                     max, ", not \"", value, "\""));
  }
  *out = static_cast<uint32_t>(parsed);
  return absl::OkStatus();
}

std::string NormaliseFlagName(absl::string_view name) {
  return absl::StrReplaceAll(name, {{"_", "-"}});
}

// Parses the arguments after the subcommand name against `specs` plus the
// connection flags; returns the positional arguments.
absl::StatusOr<std::vector<std::string>> ParseFlags(
    Command command, const std::vector<std::string>& args, size_t first,
    std::vector<FlagSpec> specs, Invocation& invocation) {
  const std::string prefix =
      command == Command::kNone ? "" : absl::StrCat(CommandName(command), ": ");
  ConnectionOptions& connection = invocation.connection;
  specs.push_back({"query-addr", true, [&](const std::string& v) {
                     connection.query_address = v;
                     return absl::OkStatus();
                   }});
  specs.push_back({"ingest-addr", true, [&](const std::string& v) {
                     connection.ingest_address = v;
                     return absl::OkStatus();
                   }});
  specs.push_back({"timeout", true, [&](const std::string& v) {
                     SIFT_ASSIGN_OR_RETURN(connection.timeout, ParseTimeout(v));
                     return absl::OkStatus();
                   }});
  specs.push_back({"help", false, [&](const std::string&) {
                     invocation.help = true;
                     return absl::OkStatus();
                   }});

  std::vector<std::string> positional;
  bool flags_ended = false;
  for (size_t i = first; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_ended || arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    if (arg == "-h") {
      invocation.help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "unknown flag ", arg,
                       " (flags are written --name; put a query that starts "
                       "with '-' after --)"));
    }
    absl::string_view body = absl::string_view(arg).substr(2);
    std::optional<std::string> value;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    const std::string name = NormaliseFlagName(body);
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "unknown flag --", body));
    }
    if (spec->takes_value && !value.has_value()) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, "--", name, " needs a value"));
      }
      value = args[++i];
    }
    if (!spec->takes_value && value.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "--", name, " takes no value"));
    }
    absl::Status status = spec->apply(value.value_or(""));
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, status.message()));
    }
  }
  return positional;
}

absl::Status ValueError(Command command, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat(CommandName(command), ": ", message));
}

// A --pre-tag or --post-tag value, held to the server's limits so that a
// bad marker is a usage error rather than a failed call.
absl::Status ParseHighlightTag(const std::string& flag,
                               const std::string& value,
                               std::optional<std::string>* out) {
  if (value.size() > kMaxHighlightTagBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " is ", value.size(),
                     " bytes, over the limit of ", kMaxHighlightTagBytes));
  }
  if (const size_t bad = FindInvalidUtf8(value); bad != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, " is not valid UTF-8 (at byte offset ", bad, ")"));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status ParseIngest(const std::vector<std::string>& args, size_t first,
                         Invocation& inv) {
  IngestOptions& o = inv.ingest;
  uint32_t batch_docs = static_cast<uint32_t>(o.max_batch_documents);
  uint32_t batch_mib = static_cast<uint32_t>(o.max_batch_bytes >> 20);
  uint32_t in_flight = static_cast<uint32_t>(o.max_in_flight);
  std::vector<FlagSpec> specs = {
      {"batch-docs", true,
       [&](const std::string& v) {
         return ParseUint("batch-docs", v, 1, 1000, &batch_docs);
       }},
      {"batch-mib", true,
       [&](const std::string& v) {
         return ParseUint("batch-mib", v, 1, 64, &batch_mib);
       }},
      {"in-flight", true,
       [&](const std::string& v) {
         return ParseUint("in-flight", v, 1, 64, &in_flight);
       }},
  };
  SIFT_ASSIGN_OR_RETURN(o.paths, ParseFlags(Command::kIngest, args, first,
                                            std::move(specs), inv));
  o.max_batch_documents = batch_docs;
  o.max_batch_bytes = static_cast<size_t>(batch_mib) << 20;
  o.max_in_flight = static_cast<int>(in_flight);
  if (!inv.help && o.paths.empty()) {
    return ValueError(Command::kIngest, "give at least one file or folder");
  }
  return absl::OkStatus();
}

absl::Status ParseSearch(const std::vector<std::string>& args, size_t first,
                         Invocation& inv) {
  SearchOptions& o = inv.search;
  std::optional<OutputFormat> format;
  bool k_given = false;
  bool offset_given = false;
  uint32_t in_flight = static_cast<uint32_t>(o.max_in_flight);
  std::vector<FlagSpec> specs = {
      {"k", true,
       [&](const std::string& v) {
         k_given = true;
         return ParseUint("k", v, 1, kMaxSearchDepth, &o.k);
       }},
      {"offset", true,
       [&](const std::string& v) {
         offset_given = true;
         return ParseUint("offset", v, 0, 10000, &o.offset);
       }},
      {"page-token", true,
       [&](const std::string& v) {
         if (v.empty()) {
           return absl::InvalidArgumentError("--page-token must not be empty");
         }
         o.page_token = v;
         return absl::OkStatus();
       }},
      {"all", false,
       [&](const std::string&) {
         o.all = true;
         return absl::OkStatus();
       }},
      {"json", false,
       [&](const std::string&) {
         format = OutputFormat::kJson;
         return absl::OkStatus();
       }},
      {"format", true,
       [&](const std::string& v) {
         if (v == "table") {
           format = OutputFormat::kTable;
         } else if (v == "json") {
           format = OutputFormat::kJson;
         } else if (v == "trec") {
           format = OutputFormat::kTrec;
         } else {
           return absl::InvalidArgumentError(absl::StrCat(
               "--format takes table, json or trec, not \"", v, "\""));
         }
         return absl::OkStatus();
       }},
      {"and", false,
       [&](const std::string&) {
         o.all_terms = true;
         return absl::OkStatus();
       }},
      {"source", true,
       [&](const std::string& v) {
         if (v.empty()) {
           return absl::InvalidArgumentError("--source must not be empty");
         }
         o.sources.push_back(v);
         return absl::OkStatus();
       }},
      {"tag", true,
       [&](const std::string& v) {
         if (v.empty()) {
           return absl::InvalidArgumentError("--tag must not be empty");
         }
         o.tags.push_back(v);
         return absl::OkStatus();
       }},
      {"filter", true,
       [&](const std::string& v) { return ParseFilterFlag(v, &o); }},
      {"from", true,
       [&](const std::string& v) -> absl::Status {
         SIFT_ASSIGN_OR_RETURN(o.published_from, ParseDateFlag(v, false));
         return absl::OkStatus();
       }},
      {"to", true,
       [&](const std::string& v) -> absl::Status {
         SIFT_ASSIGN_OR_RETURN(o.published_to, ParseDateFlag(v, true));
         return absl::OkStatus();
       }},
      {"sort", true,
       [&](const std::string& v) {
         if (v == "relevance") {
           o.sort = v1::SORT_ORDER_RELEVANCE;
         } else if (v == "newest") {
           o.sort = v1::SORT_ORDER_PUBLISHED_DESC;
         } else if (v == "oldest") {
           o.sort = v1::SORT_ORDER_PUBLISHED_ASC;
         } else {
           return absl::InvalidArgumentError(absl::StrCat(
               "--sort takes relevance, newest or oldest, not \"", v, "\""));
         }
         return absl::OkStatus();
       }},
      {"facet", true,
       [&](const std::string& v) -> absl::Status {
         SIFT_ASSIGN_OR_RETURN(v1::FacetRequest facet, ParseFacetSpec(v));
         for (const v1::FacetRequest& other : o.facets) {
           if (other.field() == facet.field() &&
               other.interval() == facet.interval()) {
             return absl::InvalidArgumentError(absl::StrCat(
                 "--facet ", v, ": that facet is already asked for"));
           }
         }
         o.facets.push_back(std::move(facet));
         return absl::OkStatus();
       }},
      {"no-highlight", false,
       [&](const std::string&) {
         o.highlight = false;
         return absl::OkStatus();
       }},
      {"pre-tag", true,
       [&](const std::string& v) {
         return ParseHighlightTag("pre-tag", v, &o.pre_tag);
       }},
      {"post-tag", true,
       [&](const std::string& v) {
         return ParseHighlightTag("post-tag", v, &o.post_tag);
       }},
      {"html", false,
       [&](const std::string&) {
         o.html_escape = true;
         return absl::OkStatus();
       }},
      {"explain", false,
       [&](const std::string&) {
         o.explain = true;
         return absl::OkStatus();
       }},
      {"queries", true,
       [&](const std::string& v) {
         if (v.empty()) {
           return absl::InvalidArgumentError("--queries needs a file name");
         }
         o.queries_file = v;
         return absl::OkStatus();
       }},
      {"run-name", true,
       [&](const std::string& v) {
         if (v.empty() || absl::StrContains(v, ' ') ||
             absl::StrContains(v, '\t')) {
           return absl::InvalidArgumentError(absl::StrCat(
               "--run-name must be one word without spaces, not \"", v, "\""));
         }
         o.run_name = v;
         return absl::OkStatus();
       }},
      {"in-flight", true,
       [&](const std::string& v) {
         return ParseUint("in-flight", v, 1, 64, &in_flight);
       }},
  };
  SIFT_ASSIGN_OR_RETURN(
      std::vector<std::string> words,
      ParseFlags(Command::kSearch, args, first, std::move(specs), inv));
  o.max_in_flight = static_cast<int>(in_flight);
  if (inv.help) return absl::OkStatus();

  if (o.published_from.has_value() && o.published_to.has_value() &&
      *o.published_from >= *o.published_to) {
    return ValueError(Command::kSearch,
                      "--from must be before --to (the range is empty)");
  }
  const bool marks = o.pre_tag || o.post_tag || o.html_escape;
  if (marks && (!o.highlight || !o.queries_file.empty())) {
    // Both turn snippets off, so the markers would silently do nothing.
    return ValueError(Command::kSearch,
                      "--pre-tag, --post-tag and --html shape snippets, which "
                      "--no-highlight and --queries turn off");
  }
  if (!o.queries_file.empty()) {
    if (!words.empty()) {
      return ValueError(Command::kSearch,
                        absl::StrCat("give either a QUERY or --queries FILE, "
                                     "not both (extra argument \"",
                                     words[0], "\")"));
    }
    if (format.value_or(OutputFormat::kTrec) != OutputFormat::kTrec) {
      return ValueError(Command::kSearch,
                        "--queries writes TREC run lines only (--format trec)");
    }
    if (!o.facets.empty()) {
      return ValueError(Command::kSearch,
                        "--facet applies to a single query, not to --queries");
    }
    if (o.explain) {
      return ValueError(Command::kSearch,
                        "--explain applies to a single query, not to "
                        "--queries");
    }
    if (offset_given || !o.page_token.empty() || o.all) {
      return ValueError(Command::kSearch,
                        "--offset, --page-token and --all apply to a single "
                        "query, not to --queries");
    }
    o.format = OutputFormat::kTrec;
    // Evaluation measures look 1,000 deep by convention.
    if (!k_given) o.k = 1000;
    return absl::OkStatus();
  }
  if (offset_given && !o.page_token.empty()) {
    return ValueError(Command::kSearch,
                      "--offset and --page-token exclude each other: the "
                      "token already says where the page starts");
  }
  o.format = format.value_or(OutputFormat::kTable);
  if (o.format == OutputFormat::kTrec) {
    return ValueError(Command::kSearch,
                      "--format trec needs --queries FILE (qid<TAB>query "
                      "lines)");
  }
  if (k_given && o.k > kMaxPageSize) {
    return ValueError(
        Command::kSearch,
        absl::StrCat("--k is at most ", kMaxPageSize,
                     " for a single query; page on with --page-token, or "
                     "print every hit with --all"));
  }
  // Every hit, in pages as large as the server serves.
  if (o.all && !k_given) o.k = o.explain ? kMaxExplainHits : kMaxPageSize;
  if (o.explain && uint64_t{o.offset} + o.k > kMaxExplainHits) {
    return ValueError(
        Command::kSearch,
        absl::StrCat("--explain reaches at most ", kMaxExplainHits,
                     " hits deep (--offset + --k); page on with "
                     "--page-token or --all"));
  }
  o.query = absl::StrJoin(words, " ");
  return absl::OkStatus();
}

absl::Status ParseGet(const std::vector<std::string>& args, size_t first,
                      Invocation& inv) {
  // JSON is the only format; --json is accepted so scripts can say so.
  std::vector<FlagSpec> specs = {
      {"json", false, [](const std::string&) { return absl::OkStatus(); }}};
  SIFT_ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      ParseFlags(Command::kGet, args, first, std::move(specs), inv));
  if (inv.help) return absl::OkStatus();
  if (ids.size() != 1) {
    return ValueError(
        Command::kGet,
        absl::StrCat("give exactly one document id (got ", ids.size(), ")"));
  }
  inv.get.id = ids[0];
  return absl::OkStatus();
}

absl::Status ParseDelete(const std::vector<std::string>& args, size_t first,
                         Invocation& inv) {
  SIFT_ASSIGN_OR_RETURN(inv.remove.ids,
                        ParseFlags(Command::kDelete, args, first, {}, inv));
  if (inv.help) return absl::OkStatus();
  if (inv.remove.ids.empty()) {
    return ValueError(Command::kDelete, "give at least one document id");
  }
  for (const std::string& id : inv.remove.ids) {
    if (id.empty()) return ValueError(Command::kDelete, "an id is empty");
  }
  return absl::OkStatus();
}

absl::Status ParseStats(const std::vector<std::string>& args, size_t first,
                        Invocation& inv) {
  std::vector<FlagSpec> specs = {{"json", false, [&](const std::string&) {
                                    inv.stats.json = true;
                                    return absl::OkStatus();
                                  }}};
  SIFT_ASSIGN_OR_RETURN(
      std::vector<std::string> rest,
      ParseFlags(Command::kStats, args, first, std::move(specs), inv));
  if (!inv.help && !rest.empty()) {
    return ValueError(Command::kStats,
                      absl::StrCat("unexpected argument \"", rest[0], "\""));
  }
  return absl::OkStatus();
}

absl::Status ParseHealth(const std::vector<std::string>& args, size_t first,
                         Invocation& inv) {
  SIFT_ASSIGN_OR_RETURN(std::vector<std::string> rest,
                        ParseFlags(Command::kHealth, args, first, {}, inv));
  if (!inv.help && !rest.empty()) {
    return ValueError(Command::kHealth,
                      absl::StrCat("unexpected argument \"", rest[0], "\""));
  }
  return absl::OkStatus();
}

absl::Status ParseSnapshot(const std::vector<std::string>& args, size_t first,
                           Invocation& inv) {
  SnapshotOptions& o = inv.snapshot;
  std::vector<FlagSpec> specs = {
      {"json", false,
       [&](const std::string&) {
         o.json = true;
         return absl::OkStatus();
       }},
      {"snapshot-dir", true,
       [&](const std::string& v) {
         o.snapshot_dir = v;
         return absl::OkStatus();
       }},
      {"data-dir", true,
       [&](const std::string& v) {
         o.data_dir = v;
         return absl::OkStatus();
       }},
      {"shard", true,
       [&](const std::string& v) {
         o.shard_given = true;
         return ParseUint("--shard", v, 0, 1u << 16, &o.shard);
       }},
      {"single", false,
       [&](const std::string&) {
         o.single = true;
         return absl::OkStatus();
       }},
  };
  SIFT_ASSIGN_OR_RETURN(
      std::vector<std::string> rest,
      ParseFlags(Command::kSnapshot, args, first, std::move(specs), inv));
  if (inv.help) return absl::OkStatus();
  if (rest.empty()) {
    return ValueError(Command::kSnapshot,
                      "give an action: create, list, delete or restore");
  }
  const std::string action = rest[0];
  const size_t names = rest.size() - 1;
  if (action == "list") {
    o.action = SnapshotOptions::Action::kList;
    if (names != 0) {
      return ValueError(Command::kSnapshot, "list takes no snapshot name");
    }
    return absl::OkStatus();
  }
  if (action == "create") {
    o.action = SnapshotOptions::Action::kCreate;
  } else if (action == "delete") {
    o.action = SnapshotOptions::Action::kDelete;
  } else if (action == "restore") {
    o.action = SnapshotOptions::Action::kRestore;
  } else {
    return ValueError(Command::kSnapshot,
                      absl::StrCat("unknown action \"", action,
                                   "\" (create, list, delete or restore)"));
  }
  if (names != 1) {
    return ValueError(Command::kSnapshot,
                      absl::StrCat(action, " takes one snapshot name"));
  }
  o.name = rest[1];
  if (o.action == SnapshotOptions::Action::kRestore &&
      (o.snapshot_dir.empty() || o.data_dir.empty() || !o.shard_given)) {
    return ValueError(Command::kSnapshot,
                      "restore needs --snapshot_dir, --shard and --data_dir");
  }
  return absl::OkStatus();
}

std::string ResolveAddress(const std::string& flag_value, const char* env_name,
                           const EnvLookup& env, const char* fallback) {
  if (!flag_value.empty()) return flag_value;
  if (env) {
    std::optional<std::string> value = env(env_name);
    if (value.has_value() && !value->empty()) return *value;
  }
  return fallback;
}

}  // namespace

const char* CommandName(Command command) {
  for (const CommandInfo& info : kCommands) {
    if (info.command == command) return info.name;
  }
  return "";
}

EnvLookup ProcessEnv() {
  return [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<Invocation> ParseCommandLine(
    const std::vector<std::string>& args, const EnvLookup& env,
    Command* command) {
  Invocation inv;
  if (command != nullptr) *command = Command::kNone;

  // Connection flags and --help may come before the subcommand.
  size_t i = 0;
  std::vector<std::string> leading;
  while (i < args.size() && absl::StartsWith(args[i], "-")) {
    leading.push_back(args[i]);
    const bool needs_value = !absl::StrContains(args[i], '=') &&
                             (NormaliseFlagName(args[i]) == "--query-addr" ||
                              NormaliseFlagName(args[i]) == "--ingest-addr" ||
                              args[i] == "--timeout");
    ++i;
    if (needs_value && i < args.size()) leading.push_back(args[i++]);
  }
  SIFT_ASSIGN_OR_RETURN(std::vector<std::string> stray,
                        ParseFlags(Command::kNone, leading, 0, {}, inv));
  (void)stray;  // Only flags were collected into `leading`.

  if (i >= args.size()) {
    if (inv.help) return inv;
    return absl::InvalidArgumentError("no subcommand given");
  }
  std::string name = args[i++];
  if (name == "help") {
    inv.help = true;
    if (i >= args.size()) return inv;
    name = args[i++];
  }
  std::optional<Command> found = FindCommand(name);
  if (!found.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown subcommand \"", name, "\""));
  }
  inv.command = *found;
  if (command != nullptr) *command = *found;

  switch (inv.command) {
    case Command::kIngest:
      SIFT_RETURN_IF_ERROR(ParseIngest(args, i, inv));
      break;
    case Command::kSearch:
      SIFT_RETURN_IF_ERROR(ParseSearch(args, i, inv));
      break;
    case Command::kGet:
      SIFT_RETURN_IF_ERROR(ParseGet(args, i, inv));
      break;
    case Command::kDelete:
      SIFT_RETURN_IF_ERROR(ParseDelete(args, i, inv));
      break;
    case Command::kStats:
      SIFT_RETURN_IF_ERROR(ParseStats(args, i, inv));
      break;
    case Command::kHealth:
      SIFT_RETURN_IF_ERROR(ParseHealth(args, i, inv));
      break;
    case Command::kSnapshot:
      SIFT_RETURN_IF_ERROR(ParseSnapshot(args, i, inv));
      break;
    case Command::kNone:
      break;
  }

  inv.connection.query_address =
      ResolveAddress(inv.connection.query_address, kQueryAddressEnv, env,
                     kDefaultQueryAddress);
  inv.connection.ingest_address =
      ResolveAddress(inv.connection.ingest_address, kIngestAddressEnv, env,
                     kDefaultIngestAddress);
  return inv;
}

absl::StatusOr<absl::Duration> ParseTimeout(const std::string& text) {
  absl::Duration duration;
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds)) {
    duration = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &duration)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--timeout takes a duration such as 30s, 2m or 1.5 (seconds), not \"",
        text, "\""));
  }
  if (duration <= absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--timeout must be positive and finite, not \"", text, "\""));
  }
  return duration;
}

absl::StatusOr<absl::Time> ParseDateFlag(const std::string& text,
                                         bool end_of_range) {
  absl::Time time;
  std::string error;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &time, &error)) {
    return end_of_range ? time + absl::Hours(24) : time;
  }
  if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return time;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("expected a date YYYY-MM-DD or an RFC 3339 timestamp "
                   "(2021-06-30T12:00:00Z), not \"",
                   text, "\""));
}

absl::Status ParseFilterFlag(const std::string& text, SearchOptions* options) {
  auto error = [&text](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--filter ", text, ": ", why,
        "; expected source:S, tag:T, published_at>=DATE, "
        "published_at<=DATE or published_at:[DATE TO DATE] (* for open)"));
  };
  auto date = [&](absl::string_view value,
                  bool end_of_range) -> absl::StatusOr<absl::Time> {
    absl::StatusOr<absl::Time> time =
        ParseDateFlag(std::string(value), end_of_range);
    if (!time.ok()) return error(time.status().message());
    return time;
  };
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "source:")) {
    if (rest.empty()) return error("the source is empty");
    options->sources.emplace_back(rest);
    return absl::OkStatus();
  }
  if (absl::ConsumePrefix(&rest, "tag:")) {
    if (rest.empty()) return error("the tag is empty");
    options->tags.emplace_back(rest);
    return absl::OkStatus();
  }
  if (!absl::ConsumePrefix(&rest, "published_at")) {
    return error("unknown field");
  }
  // Like --from and --to: a day bound includes the whole day.
  if (absl::ConsumePrefix(&rest, ">=")) {
    SIFT_ASSIGN_OR_RETURN(options->published_from, date(rest, false));
    return absl::OkStatus();
  }
  if (absl::ConsumePrefix(&rest, "<=")) {
    SIFT_ASSIGN_OR_RETURN(options->published_to, date(rest, true));
    return absl::OkStatus();
  }
  if (!absl::ConsumePrefix(&rest, ":[") || !absl::ConsumeSuffix(&rest, "]")) {
    return error("a date filter needs >=, <= or a [A TO B] range");
  }
  const size_t to = rest.find(" TO ");
  if (to == absl::string_view::npos) return error("the range has no \" TO \"");
  const absl::string_view from_text = rest.substr(0, to);
  const absl::string_view to_text = rest.substr(to + 4);
  if (from_text != "*") {
    SIFT_ASSIGN_OR_RETURN(options->published_from, date(from_text, false));
  }
  if (to_text != "*") {
    SIFT_ASSIGN_OR_RETURN(options->published_to, date(to_text, true));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::FacetRequest> ParseFacetSpec(const std::string& text) {
  const size_t colon = text.find(':');
  const std::string field = text.substr(0, colon);
  const bool has_arg = colon != std::string::npos;
  const std::string arg = has_arg ? text.substr(colon + 1) : "";
  v1::FacetRequest facet;
  if (field == "source" || field == "tags") {
    facet.set_field(field == "source" ? v1::FACET_FIELD_SOURCE
                                      : v1::FACET_FIELD_TAGS);
    if (has_arg) {
      uint32_t size = 0;
      if (!absl::SimpleAtoi(arg, &size) || size < 1 || size > kMaxFacetSize) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--facet ", text, ": the number of values must be 1 to ",
            kMaxFacetSize, ", not \"", arg, "\""));
      }
      facet.set_size(size);
    }
    return facet;
  }
  if (field == "published_at") {
    facet.set_field(v1::FACET_FIELD_PUBLISHED_AT);
    if (!has_arg || arg == "month") {
      facet.set_interval(v1::DATE_INTERVAL_MONTH);
    } else if (arg == "day") {
      facet.set_interval(v1::DATE_INTERVAL_DAY);
    } else if (arg == "year") {
      facet.set_interval(v1::DATE_INTERVAL_YEAR);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--facet ", text, ": the interval must be day, month or year, not \"",
          arg, "\""));
    }
    return facet;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--facet takes source[:N], tags[:N] or "
                   "published_at[:day|month|year], not \"",
                   text, "\""));
}

std::string UsageText(Command command) {
  switch (command) {
    case Command::kNone:
      return absl::StrCat(
          "Usage: siftctl [--query_addr A] [--ingest_addr A] SUBCOMMAND "
          "[ARGS]\n"
          "\n"
          "The command-line client of Sift.\n"
          "\n"
          "Subcommands:\n"
          "  ingest PATH...   index JSON-lines files and plain-text articles\n"
          "  search QUERY     search; --queries FILE for a TREC batch run\n"
          "  get ID           print a stored document as JSON\n"
          "  delete ID...     delete documents by id\n"
          "  stats            documents and disk bytes per storage shard\n"
          "  health           whether the query and ingest services serve\n"
          "  snapshot ACTION  create, list, delete or restore snapshots\n"
          "  help SUBCOMMAND  the help of one subcommand (same as "
          "SUBCOMMAND --help)\n"
          "\n",
          kGlobalFlagsHelp,
          "\n"
          "Exit status: 0 on success, 1 when the operation failed (or a "
          "document\nwas rejected), 2 for a usage error.\n");
    case Command::kIngest:
      return absl::StrCat(
          "Usage: siftctl ingest [flags] PATH...\n"
          "\n"
          "Indexes files and folders (folders recursively, in sorted order, "
          "skipping\nhidden files and folders):\n"
          "  *.jsonl *.ndjson *.json (also .gz)  one JSON document per line\n"
          "  anything else that is text          one plain-text article; its "
          "id is\n"
          "                                      the path inside the folder "
          "given,\n"
          "                                      or the file name for a "
          "file given\n"
          "Binary files are skipped with a note.\n"
          "\n"
          "Flags:\n"
          "  --batch-docs N   documents per request (default 500, at most "
          "1000)\n"
          "  --batch-mib N    MiB per request (default 16, at most 64)\n"
          "  --in-flight N    requests outstanding at once (default 4)\n"
          "\n",
          kGlobalFlagsHelp,
          "\n"
          "Exit status: 0 when every document was accepted, 1 when any was "
          "rejected\nor could not be read, 2 for a usage error.\n");
    case Command::kSearch:
      return absl::StrCat(
          "Usage: siftctl search [flags] QUERY\n"
          "       siftctl search --queries FILE.tsv [--k 1000] [--run-name "
          "NAME] [filters]\n"
          "\n"
          "Searches with Sift's query language (put a query that starts with "
          "'-' after --).\n"
          "With --queries, runs every `qid<TAB>query text` line as plain "
          "words and\nwrites TREC run lines `qid Q0 docid rank score run`.\n"
          "\n"
          "Flags:\n"
          "  --k N              hits (default 10, at most 1000; with --queries "
          "default 1000, at most 1000000)\n"
          "  --offset N         hits to skip (offset + k at most 10000; "
          "page deeper with tokens)\n"
          "  --page-token T     continue after a previous page (its \"next "
          "page\" token);\n"
          "                     repeat the first page's query, flags and "
          "--k\n"
          "  --all              print every hit, following the page tokens "
          "to the last\n"
          "                     page (--k is the page size, default 1000; "
          "with --json one\n"
          "                     SearchResponse per page)\n"
          "  --json             print the SearchResponse as JSON (same as "
          "--format json)\n"
          "  --format F         table (default), json, or trec (with "
          "--queries)\n"
          "  --and              every word must match (default: any)\n"
          "  --source S         only hits from source S (repeatable: any of "
          "them)\n"
          "  --tag T            only hits with tag T (repeatable: all of "
          "them)\n"
          "  --filter F         a filter in query syntax (repeatable): "
          "source:S, tag:T,\n"
          "                     published_at>=DATE, published_at<=DATE, "
          "published_at:[A TO B]\n"
          "  --from DATE        published on or after DATE (YYYY-MM-DD or "
          "RFC 3339)\n"
          "  --to DATE          published on or before DATE (a timestamp: "
          "before it)\n"
          "  --sort S           relevance (default), newest or oldest\n"
          "  --facet F          count values over every match (repeatable): "
          "source[:N],\n"
          "                     tags[:N] (top N, default 10, at most 1000) "
          "or\n"
          "                     published_at[:day|month|year] (default "
          "month)\n"
          "  --no-highlight     no snippets\n"
          "  --pre-tag S        put S before each match in snippets "
          "(default <em>)\n"
          "  --post-tag S       put S after each match (default </em>)\n"
          "  --html             HTML-escape the snippets' text (not the "
          "tags)\n"
          "  --explain          show how each hit's score comes about, as a "
          "tree under\n"
          "                     the hit (in --json as `explanation`); "
          "--offset + --k\n"
          "                     at most 100 (--all pages by 100)\n"
          "  --queries FILE     batch mode: qid<TAB>query lines\n"
          "  --run-name NAME    last column of the TREC lines (default "
          "sift)\n"
          "  --in-flight N      batch mode: queries outstanding at once "
          "(default 4)\n"
          "\n",
          kGlobalFlagsHelp);
    case Command::kGet:
      return absl::StrCat(
          "Usage: siftctl get ID [--json]\n"
          "\n"
          "Prints the stored document with this id as JSON (proto field "
          "names).\nExit status 1 when there is none.\n"
          "\n",
          kGlobalFlagsHelp);
    case Command::kDelete:
      return absl::StrCat(
          "Usage: siftctl delete ID...\n"
          "\n"
          "Deletes documents by id and prints `deleted ID` or `not found "
          "ID` for\neach. Exit status 0 unless a call fails.\n"
          "\n",
          kGlobalFlagsHelp);
    case Command::kStats:
      return absl::StrCat(
          "Usage: siftctl stats [--json]\n"
          "\n"
          "Documents and disk bytes of every storage shard, with totals; a "
          "shard\nthat did not answer is listed with its error (exit status "
          "1).\n"
          "\n",
          kGlobalFlagsHelp);
    case Command::kHealth:
      return absl::StrCat(
          "Usage: siftctl health\n"
          "\n"
          "Asks the query and ingest services for their gRPC health status. "
          "Exit\nstatus 0 when both are SERVING.\n"
          "\n",
          kGlobalFlagsHelp);
    case Command::kSnapshot:
      return absl::StrCat(
          "Usage: siftctl snapshot create NAME\n"
          "       siftctl snapshot list [--json]\n"
          "       siftctl snapshot delete NAME\n"
          "       siftctl snapshot restore NAME --snapshot_dir DIR --shard N "
          "--data_dir DIR [--single]\n"
          "\n"
          "create, list and delete ask the query service, whose --snapshot_dir "
          "holds\nthe snapshots (each storage member writes its shard there). "
          "restore runs\nhere, without any service: it makes DIR the data "
          "folder of shard N as the\nsnapshot holds it, for a new member "
          "of a replicated cluster (a fresh etcd)\nor, with --single, for a "
          "shard on its own (docs/replication.md).\n"
          "\n",
          kGlobalFlagsHelp);
  }
  return "";
}

}  // namespace sift::siftctl
