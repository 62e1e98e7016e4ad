#ifndef SIFT_SERVICES_STORAGE_SHARD_IDENTITY_H_
#define SIFT_SERVICES_STORAGE_SHARD_IDENTITY_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/routing/shard_router.h"

namespace sift::storage {

// The file in a storage member's data folder that says which shard of how
// many it holds ("2/3"): written once, when the folder is first used, so
// that a member restarted with other flags, or a volume mounted on the
// wrong pod, refuses to start instead of mixing two shards' documents.
inline constexpr char kShardIdentityFile[] = "SHARD";

// The identity of the data folder `data_dir`. With `wanted`, a folder
// without one gets it (written and synced before anything else), and a
// folder with another one is refused with FAILED_PRECONDITION naming both.
// nullopt when neither has one: the folder of a single node from before
// identities existed, which serves whatever is routed to it.
absl::StatusOr<std::optional<ShardRef>> LoadShardIdentity(
    const std::string& data_dir, std::optional<ShardRef> wanted);

// The identity sift-storage's --shard and --shards flags ask for: nullopt
// when both are unset; INVALID_ARGUMENT, saying what to give, when only one
// is set or they do not name a shard of the cluster.
absl::StatusOr<std::optional<ShardRef>> ParseShardFlags(absl::string_view shard,
                                                        int shards);

// Whether a request routed with `routed` (the request's kShardMetadataKey
// value; nullopt when it carries none, as tools' requests do) may be served
// by a member holding `identity`: FAILED_PRECONDITION naming both when it
// was meant for another shard or counts another number of shards,
// INVALID_ARGUMENT when the value is malformed.
absl::Status CheckRouting(const std::optional<ShardRef>& identity,
                          std::optional<absl::string_view> routed);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_SHARD_IDENTITY_H_
