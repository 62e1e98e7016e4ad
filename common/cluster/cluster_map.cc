#include "common/cluster/cluster_map.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace sift::cluster {

absl::StatusOr<ClusterKeys> ClusterKeys::For(absl::string_view cluster) {
  const bool valid =
      !cluster.empty() && cluster.size() <= 63 &&
      std::all_of(cluster.begin(), cluster.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
               c == '_';
      });
  if (!valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("cluster name \"", cluster,
                     "\" must be 1-63 letters, digits, '-' or '_'"));
  }
  return ClusterKeys(absl::StrCat("/sift/", cluster, "/"));
}

std::string ClusterKeys::Config() const { return root_ + "config"; }
std::string ClusterKeys::Shard(uint32_t shard) const {
  return absl::StrCat(root_, "shards/", shard, "/");
}
std::string ClusterKeys::Members(uint32_t shard) const {
  return Shard(shard) + "members/";
}
std::string ClusterKeys::Member(uint32_t shard,
                                absl::string_view member) const {
  return absl::StrCat(Members(shard), member);
}
std::string ClusterKeys::Primary(uint32_t shard) const {
  return Shard(shard) + "primary";
}
std::string ClusterKeys::Term(uint32_t shard) const {
  return Shard(shard) + "term";
}
std::string ClusterKeys::InSync(uint32_t shard) const {
  return Shard(shard) + "in_sync";
}

std::string ToJson(const google::protobuf::Message& record) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  // Cannot fail for the records here: they hold no Any.
  const auto printed =
      google::protobuf::util::MessageToJsonString(record, &out, options);
  static_cast<void>(printed);
  return out;
}

absl::Status FromJson(absl::string_view json, absl::string_view what,
                      google::protobuf::Message* record) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      std::string(json), record, options);
  if (!parsed.ok()) {
    return absl::DataLossError(
        absl::StrCat("etcd's ", what, " \"", json,
                     "\" does not parse: ", parsed.ToString()));
  }
  return absl::OkStatus();
}

bool ShardState::IsInSync(absl::string_view member) const {
  if (!in_sync) return false;
  return std::find(in_sync->members().begin(), in_sync->members().end(),
                   member) != in_sync->members().end();
}

std::vector<std::string> ShardState::ReadableAddresses() const {
  std::vector<std::string> out;
  if (primary && members.contains(primary->member())) {
    out.push_back(primary->address());
  }
  if (!in_sync) return out;
  for (const std::string& member : in_sync->members()) {
    if (primary && member == primary->member()) continue;
    auto it = members.find(member);
    if (it != members.end()) out.push_back(it->second.address());
  }
  return out;
}

namespace {

// Adds one key of a shard's subtree (`rest`, after "shards/<i>/").
absl::Status AddShardKey(absl::string_view rest, const etcd::KeyValue& kv,
                         ShardState& shard) {
  if (absl::ConsumePrefix(&rest, "members/")) {
    v1::MemberRecord record;
    SIFT_RETURN_IF_ERROR(FromJson(kv.value, kv.key, &record));
    shard.members[std::string(rest)] = std::move(record);
  } else if (rest == "primary") {
    v1::PrimaryRecord record;
    SIFT_RETURN_IF_ERROR(FromJson(kv.value, kv.key, &record));
    shard.primary = std::move(record);
    shard.primary_kv = kv;
  } else if (rest == "term") {
    if (!absl::SimpleAtoi(kv.value, &shard.term)) {
      return absl::DataLossError(
          absl::StrCat("etcd's ", kv.key, " \"", kv.value, "\" is no number"));
    }
    shard.term_kv = kv;
  } else if (rest == "in_sync") {
    v1::InSyncRecord record;
    SIFT_RETURN_IF_ERROR(FromJson(kv.value, kv.key, &record));
    shard.in_sync = std::move(record);
    shard.in_sync_kv = kv;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ClusterMap> ParseClusterMap(
    const ClusterKeys& keys, const std::vector<etcd::KeyValue>& kvs,
    int64_t revision) {
  ClusterMap map;
  map.revision = revision;
  for (const etcd::KeyValue& kv : kvs) {
    if (kv.key == keys.Config()) {
      v1::ClusterConfig config;
      SIFT_RETURN_IF_ERROR(FromJson(kv.value, kv.key, &config));
      map.config = config;
    }
  }
  if (!map.config) return map;
  map.shards.resize(map.config->shards());
  const std::string shards_prefix = keys.root() + "shards/";
  for (const etcd::KeyValue& kv : kvs) {
    absl::string_view rest = kv.key;
    if (!absl::ConsumePrefix(&rest, shards_prefix)) continue;
    const size_t slash = rest.find('/');
    uint32_t shard = 0;
    if (slash == absl::string_view::npos ||
        !absl::SimpleAtoi(rest.substr(0, slash), &shard) ||
        shard >= map.shards.size()) {
      continue;
    }
    SIFT_RETURN_IF_ERROR(
        AddShardKey(rest.substr(slash + 1), kv, map.shards[shard]));
  }
  return map;
}

absl::StatusOr<ClusterMap> ReadClusterMap(etcd::Client* client,
                                          const ClusterKeys& keys) {
  int64_t revision = 0;
  SIFT_ASSIGN_OR_RETURN(std::vector<etcd::KeyValue> kvs,
                        client->GetPrefix(keys.root(), &revision));
  return ParseClusterMap(keys, kvs, revision);
}

absl::StatusOr<ShardState> ReadShardState(etcd::Client* client,
                                          const ClusterKeys& keys,
                                          uint32_t shard, int64_t* revision) {
  const std::string prefix = keys.Shard(shard);
  SIFT_ASSIGN_OR_RETURN(std::vector<etcd::KeyValue> kvs,
                        client->GetPrefix(prefix, revision));
  ShardState state;
  for (const etcd::KeyValue& kv : kvs) {
    absl::string_view rest = kv.key;
    absl::ConsumePrefix(&rest, prefix);
    SIFT_RETURN_IF_ERROR(AddShardKey(rest, kv, state));
  }
  return state;
}

absl::StatusOr<v1::ClusterConfig> EnsureClusterConfig(
    etcd::Client* client, const ClusterKeys& keys,
    const v1::ClusterConfig& wanted) {
  if (wanted.shards() == 0 || wanted.copies() == 0) {
    return absl::InvalidArgumentError(
        "a cluster needs at least one shard and one copy of each");
  }
  SIFT_ASSIGN_OR_RETURN(
      etcd::TxnResult result,
      client->Txn({etcd::Compare::CreateRevisionEquals(keys.Config(), 0)},
                  {etcd::Op::Put(keys.Config(), ToJson(wanted))},
                  {etcd::Op::Get(keys.Config())}));
  if (result.succeeded) return wanted;
  if (result.gets.empty() || result.gets[0].empty()) {
    return absl::UnavailableError(
        "the cluster's config vanished while it was read; try again");
  }
  v1::ClusterConfig stored;
  SIFT_RETURN_IF_ERROR(
      FromJson(result.gets[0][0].value, keys.Config(), &stored));
  if (stored.shards() != wanted.shards() ||
      stored.copies() != wanted.copies()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the cluster in etcd (", keys.root(), ") has ",
                     stored.shards(), " shards of ", stored.copies(),
                     " copies, but this member was started "
                     "for ",
                     wanted.shards(), " shards of ", wanted.copies(),
                     " copies; a cluster's shape is fixed when it is created"));
  }
  return stored;
}

}  // namespace sift::cluster
