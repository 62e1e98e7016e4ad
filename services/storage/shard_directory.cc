#include "services/storage/shard_directory.h"

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace sift::storage {
namespace {

// Whether another copy may answer where this one failed.
bool TryAnotherCopy(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    // A copy that stops cancels the calls it still has.
    case absl::StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

// One read tried on the copies in turn from `start`.
template <typename Req, typename Resp, typename Call>
void Failover(const std::vector<std::shared_ptr<StorageClient>>& copies,
              size_t start, Req request, absl::Time deadline,
              StorageClient::Callback<Resp> done, Call call) {
  if (copies.empty()) {
    done(absl::UnavailableError("no copy of the shard is known to be up"));
    return;
  }
  struct State {
    std::vector<std::shared_ptr<StorageClient>> copies;
    size_t start;
    size_t tried = 0;
    Req request;
    absl::Time deadline;
    StorageClient::Callback<Resp> done;
    Call call;
  };
  auto state = std::make_shared<State>(State{copies, start, 0,
                                             std::move(request), deadline,
                                             std::move(done), std::move(call)});
  // Self-referencing through the callback: each attempt's callback starts
  // the next attempt, which holds the state until it answers.
  auto attempt = std::make_shared<std::function<void()>>();
  *attempt = [state, attempt] {
    const size_t i = (state->start + state->tried) % state->copies.size();
    ++state->tried;
    state->call(*state->copies[i], state->request, state->deadline,
                [state, attempt](absl::StatusOr<Resp> result) {
                  if (result.ok() || !TryAnotherCopy(result.status()) ||
                      state->tried >= state->copies.size() ||
                      absl::Now() >= state->deadline) {
                    auto done = std::move(state->done);
                    // Breaks the cycle before answering.
                    *attempt = nullptr;
                    done(std::move(result));
                    return;
                  }
                  (*attempt)();
                });
  };
  (*attempt)();
}

// Failover's blocking twin: `call` on each copy from `start` on, until one
// answers or fails in a way another copy would too.
template <typename Resp, typename Call>
absl::StatusOr<Resp> BlockingFailover(
    const std::vector<std::shared_ptr<StorageClient>>& copies, size_t start,
    absl::Time deadline, Call call) {
  absl::Status last =
      absl::UnavailableError("no copy of the shard is known to be up");
  for (size_t k = 0; k < copies.size(); ++k) {
    absl::StatusOr<Resp> response = call(*copies[(start + k) % copies.size()]);
    if (response.ok() || !TryAnotherCopy(response.status()) ||
        absl::Now() >= deadline) {
      return response;
    }
    last = response.status();
  }
  return last;
}

}  // namespace

ShardReader::ShardReader(std::vector<std::shared_ptr<StorageClient>> copies)
    : copies_(std::move(copies)) {
  std::vector<std::string> addresses;
  for (const auto& copy : copies_) addresses.push_back(copy->address());
  address_ = addresses.empty() ? "(no copy up)" : absl::StrJoin(addresses, ",");
  busy_ = std::make_unique<std::atomic<int>[]>(copies_.size());
  if (!copies_.empty()) {
    preferred_ = absl::Uniform<size_t>(absl::BitGen(), 0, copies_.size());
  }
}

ShardReader::Pick ShardReader::PickCopy() const {
  if (copies_.empty()) return Pick();
  size_t best = preferred_;
  int best_busy = busy_[best].load(std::memory_order_relaxed);
  for (size_t k = 1; k < copies_.size() && best_busy > 0; ++k) {
    const size_t i = (preferred_ + k) % copies_.size();
    const int busy = busy_[i].load(std::memory_order_relaxed);
    if (busy < best_busy) {
      best = i;
      best_busy = busy;
    }
  }
  busy_[best].fetch_add(1, std::memory_order_relaxed);
  return Pick(best, &busy_[best]);
}

void ShardReader::StatsAsync(
    size_t first_copy, const v1::StatsRequest& request, absl::Time deadline,
    StorageClient::Callback<v1::StatsResponse> done) const {
  Failover(copies_, first_copy, request, deadline, std::move(done),
           [](const StorageClient& c, const v1::StatsRequest& r, absl::Time d,
              StorageClient::Callback<v1::StatsResponse> cb) {
             c.StatsAsync(r, d, std::move(cb));
           });
}

void ShardReader::SearchAsync(
    size_t first_copy, const v1::ShardSearchRequest& request,
    absl::Time deadline,
    StorageClient::Callback<v1::ShardSearchResponse> done) const {
  Failover(
      copies_, first_copy, request, deadline, std::move(done),
      [](const StorageClient& c, const v1::ShardSearchRequest& r, absl::Time d,
         StorageClient::Callback<v1::ShardSearchResponse> cb) {
        c.SearchAsync(r, d, std::move(cb));
      });
}

void ShardReader::FetchAsync(
    size_t first_copy, const v1::FetchRequest& request, absl::Time deadline,
    StorageClient::Callback<v1::FetchResponse> done) const {
  Failover(copies_, first_copy, request, deadline, std::move(done),
           [](const StorageClient& c, const v1::FetchRequest& r, absl::Time d,
              StorageClient::Callback<v1::FetchResponse> cb) {
             c.FetchAsync(r, d, std::move(cb));
           });
}

absl::StatusOr<v1::StatsResponse> ShardReader::Stats(
    size_t first_copy, const v1::StatsRequest& request,
    absl::Time deadline) const {
  return BlockingFailover<v1::StatsResponse>(
      copies_, first_copy, deadline,
      [&](const StorageClient& c) { return c.Stats(request, deadline); });
}

absl::StatusOr<v1::ShardSearchResponse> ShardReader::Search(
    size_t first_copy, const v1::ShardSearchRequest& request,
    absl::Time deadline) const {
  return BlockingFailover<v1::ShardSearchResponse>(
      copies_, first_copy, deadline,
      [&](const StorageClient& c) { return c.Search(request, deadline); });
}

absl::StatusOr<v1::FetchResponse> ShardReader::Fetch(
    size_t first_copy, const v1::FetchRequest& request,
    absl::Time deadline) const {
  return BlockingFailover<v1::FetchResponse>(
      copies_, first_copy, deadline,
      [&](const StorageClient& c) { return c.Fetch(request, deadline); });
}

absl::StatusOr<v1::FetchResponse> ShardReader::Fetch(
    const v1::FetchRequest& request, absl::Time deadline) const {
  const Pick pick = PickCopy();
  return Fetch(pick.index(), request, deadline);
}

StaticShardDirectory::StaticShardDirectory(
    std::vector<std::unique_ptr<StorageClient>> shards) {
  for (auto& shard : shards) {
    shards_.push_back(std::shared_ptr<StorageClient>(std::move(shard)));
    readers_.push_back(std::make_shared<const ShardReader>(
        std::vector<std::shared_ptr<StorageClient>>{shards_.back()}));
  }
}

absl::StatusOr<std::unique_ptr<StaticShardDirectory>>
StaticShardDirectory::FromList(const std::string& comma_separated_addresses) {
  absl::StatusOr<std::vector<std::unique_ptr<StorageClient>>> shards =
      ConnectShards(comma_separated_addresses);
  if (!shards.ok()) return shards.status();
  return std::make_unique<StaticShardDirectory>(*std::move(shards));
}

uint32_t StaticShardDirectory::shard_count() const {
  return static_cast<uint32_t>(shards_.size());
}

std::shared_ptr<StorageClient> StaticShardDirectory::Primary(
    uint32_t shard) const {
  return shard < shards_.size() ? shards_[shard] : nullptr;
}

std::vector<std::shared_ptr<const ShardReader>> StaticShardDirectory::Readers()
    const {
  return readers_;
}

std::vector<std::vector<std::shared_ptr<StorageClient>>>
StaticShardDirectory::AllCopies() const {
  std::vector<std::vector<std::shared_ptr<StorageClient>>> out;
  for (const auto& shard : shards_) out.push_back({shard});
  return out;
}

absl::StatusOr<std::unique_ptr<EtcdShardDirectory>> EtcdShardDirectory::Start(
    const std::string& etcd_endpoints, const std::string& cluster,
    absl::Duration wait_for_cluster) {
  absl::StatusOr<cluster::ClusterKeys> keys =
      cluster::ClusterKeys::For(cluster);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<std::unique_ptr<etcd::Client>> client =
      etcd::Client::Connect(etcd_endpoints);
  if (!client.ok()) return client.status();
  const absl::Time deadline = absl::Now() + wait_for_cluster;
  absl::StatusOr<std::unique_ptr<cluster::ClusterWatcher>> watcher;
  while (true) {
    watcher = cluster::ClusterWatcher::Start(client->get(), *keys);
    if (watcher.ok()) break;
    if (absl::Now() >= deadline) return watcher.status();
    absl::SleepFor(absl::Milliseconds(500));
  }
  std::shared_ptr<const cluster::ClusterMap> map = (*watcher)->Current();
  while (!map->config && absl::Now() < deadline) {
    map = (*watcher)->WaitNewer(map->revision, deadline);
  }
  if (!map->config) {
    return absl::UnavailableError(absl::StrCat(
        "cluster \"", cluster, "\" does not exist in etcd at ", etcd_endpoints,
        " (its first storage member creates it); waited ",
        absl::FormatDuration(wait_for_cluster)));
  }
  return std::unique_ptr<EtcdShardDirectory>(new EtcdShardDirectory(
      *std::move(client), *std::move(watcher), map->config->shards()));
}

EtcdShardDirectory::EtcdShardDirectory(
    std::unique_ptr<etcd::Client> client,
    std::unique_ptr<cluster::ClusterWatcher> watcher, uint32_t shard_count)
    : client_(std::move(client)),
      watcher_(std::move(watcher)),
      shard_count_(shard_count) {}

EtcdShardDirectory::~EtcdShardDirectory() { watcher_.reset(); }

std::shared_ptr<StorageClient> EtcdShardDirectory::ClientFor(
    uint32_t shard, const std::string& address) const {
  std::shared_ptr<StorageClient>& client = clients_[{shard, address}];
  if (client == nullptr) {
    client = StorageClient::Connect(address, ShardRef{shard, shard_count_});
  }
  return client;
}

std::shared_ptr<StorageClient> EtcdShardDirectory::Primary(
    uint32_t shard) const {
  std::shared_ptr<const cluster::ClusterMap> map = watcher_->Current();
  if (shard >= map->shards.size() || !map->shards[shard].primary) {
    return nullptr;
  }
  MutexLock lock(&mu_);
  return ClientFor(shard, map->shards[shard].primary->address());
}

std::vector<std::shared_ptr<const ShardReader>> EtcdShardDirectory::Readers()
    const {
  std::shared_ptr<const cluster::ClusterMap> map = watcher_->Current();
  MutexLock lock(&mu_);
  if (readers_revision_ == map->revision) return readers_;
  std::vector<std::shared_ptr<const ShardReader>> readers;
  for (uint32_t shard = 0; shard < shard_count_; ++shard) {
    std::vector<std::shared_ptr<StorageClient>> copies;
    if (shard < map->shards.size()) {
      for (const std::string& address :
           map->shards[shard].ReadableAddresses()) {
        copies.push_back(ClientFor(shard, address));
      }
    }
    readers.push_back(std::make_shared<const ShardReader>(std::move(copies)));
  }
  readers_ = readers;
  readers_revision_ = map->revision;
  return readers;
}

std::vector<std::vector<std::shared_ptr<StorageClient>>>
EtcdShardDirectory::AllCopies() const {
  std::shared_ptr<const cluster::ClusterMap> map = watcher_->Current();
  std::vector<std::vector<std::shared_ptr<StorageClient>>> out(shard_count_);
  MutexLock lock(&mu_);
  for (uint32_t shard = 0; shard < shard_count_ && shard < map->shards.size();
       ++shard) {
    for (const auto& [name, member] : map->shards[shard].members) {
      out[shard].push_back(ClientFor(shard, member.address()));
    }
  }
  return out;
}

absl::StatusOr<std::shared_ptr<ShardDirectory>> OpenShardDirectory(
    const std::string& static_list, const std::string& etcd_endpoints,
    const std::string& cluster, absl::Duration wait_for_cluster) {
  if (!etcd_endpoints.empty()) {
    absl::StatusOr<std::unique_ptr<EtcdShardDirectory>> directory =
        EtcdShardDirectory::Start(etcd_endpoints, cluster, wait_for_cluster);
    if (!directory.ok()) return directory.status();
    return std::shared_ptr<ShardDirectory>(*std::move(directory));
  }
  absl::StatusOr<std::unique_ptr<StaticShardDirectory>> directory =
      StaticShardDirectory::FromList(static_list);
  if (!directory.ok()) return directory.status();
  return std::shared_ptr<ShardDirectory>(*std::move(directory));
}

std::string DescribeDirectory(const ShardDirectory& directory) {
  std::vector<std::string> addresses;
  for (const auto& reader : directory.Readers()) {
    addresses.push_back(reader->address());
  }
  return absl::StrCat(directory.shard_count(), " shard(s) at ",
                      absl::StrJoin(addresses, " | "));
}

}  // namespace sift::storage
