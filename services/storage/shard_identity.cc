#include "services/storage/shard_identity.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/storage/durable_file.h"

namespace sift::storage {
absl::StatusOr<std::optional<ShardRef>> LoadShardIdentity(
    const std::string& data_dir, std::optional<ShardRef> wanted) {
  const std::string path = absl::StrCat(data_dir, "/", kShardIdentityFile);
  std::ifstream in(path);
  if (in) {
    std::stringstream contents;
    contents << in.rdbuf();
    const std::string text(absl::StripAsciiWhitespace(contents.str()));
    std::optional<ShardRef> stored = ParseShardRef(text);
    if (!stored) {
      return absl::DataLossError(absl::StrCat(
          path, " should hold \"shard/count\", e.g. \"2/3\", but holds \"",
          text, "\""));
    }
    if (wanted && *wanted != *stored) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the data folder ", data_dir, " holds ", DescribeShardRef(*stored),
          ", but this member was started as ", DescribeShardRef(*wanted),
          "; start it with the folder of that shard, or an empty one"));
    }
    return stored;
  }
  if (!wanted) return std::nullopt;
  absl::Status written =
      WriteFileDurably(data_dir, path, FormatShardRef(*wanted) + "\n");
  if (!written.ok()) return written;
  return wanted;
}

absl::StatusOr<std::optional<ShardRef>> ParseShardFlags(absl::string_view shard,
                                                        int shards) {
  if (shard.empty() && shards == 0) return std::nullopt;
  uint32_t number = 0;
  if (shard.empty() || shards <= 0 || !absl::SimpleAtoi(shard, &number) ||
      number >= static_cast<uint32_t>(shards)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "give --shard=N and --shards=COUNT together, with 0 <= N < COUNT; "
        "got --shard=\"",
        shard, "\" --shards=", shards));
  }
  return ShardRef{number, static_cast<uint32_t>(shards)};
}

absl::Status CheckRouting(const std::optional<ShardRef>& identity,
                          std::optional<absl::string_view> routed) {
  if (!routed) return absl::OkStatus();
  std::optional<ShardRef> ref = ParseShardRef(*routed);
  if (!ref) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata ", kShardMetadataKey, " should be \"shard/count",
                     "\", e.g. \"2/3\", but is \"", *routed, "\""));
  }
  if (!identity || *identity == *ref) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("misrouted: this member holds ", DescribeShardRef(*identity),
                   ", but the request was routed to ", DescribeShardRef(*ref),
                   "; the caller's shard map does not match the cluster"));
}

}  // namespace sift::storage
