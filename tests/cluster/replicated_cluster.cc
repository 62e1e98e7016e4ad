#include "tests/cluster/replicated_cluster.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/routing/shard_router.h"
#include "common/server/channels.h"

namespace sift::testing {

std::string ReplicatedCluster::MemberName(int shard, int copy) {
  return absl::StrCat("s", shard, "-", copy);
}

absl::StatusOr<std::unique_ptr<ReplicatedCluster>> ReplicatedCluster::Start(
    const std::string& root, ReplicatedClusterOptions options) {
  std::unique_ptr<ReplicatedCluster> c(new ReplicatedCluster);
  c->root_ = root;
  c->options_ = std::move(options);
  auto etcd_server = etcd::testing::EtcdServer::Start();
  if (!etcd_server.ok()) return etcd_server.status();
  c->etcd_server_ = *std::move(etcd_server);
  auto client = etcd::Client::Connect(c->etcd_server_->endpoint());
  if (!client.ok()) return client.status();
  c->etcd_ = *std::move(client);
  auto keys = cluster::ClusterKeys::For("sift");
  if (!keys.ok()) return keys.status();
  c->keys_ = *keys;

  const int n = c->options_.shards * c->options_.copies;
  for (int shard = 0; shard < c->options_.shards; ++shard) {
    for (int copy = 0; copy < c->options_.copies; ++copy) {
      const std::string name = MemberName(shard, copy);
      c->addresses_.push_back(absl::StrCat("127.0.0.1:", PickFreePort()));
      c->data_.push_back(absl::StrCat(root, "/", name));
      c->logs_.push_back(absl::StrCat(root, "/", name, ".log"));
    }
  }
  c->members_.resize(n);
  for (int shard = 0; shard < c->options_.shards; ++shard) {
    for (int copy = 0; copy < c->options_.copies; ++copy) {
      absl::Status s = c->StartMember(shard, copy);
      if (!s.ok()) return s;
    }
  }
  for (int shard = 0; shard < c->options_.shards; ++shard) {
    absl::Status s = c->WaitForInSync(shard, c->options_.copies,
                                      TestTime(absl::Seconds(60)));
    if (!s.ok()) return s;
  }

  const std::string bin = SIFT_BIN_DIR;
  const std::string etcd_flag = "--etcd=" + c->etcd_server_->endpoint();
  c->ingest_address_ = absl::StrCat("127.0.0.1:", PickFreePort());
  auto ingest = Process::Start(
      bin + "/sift-ingest",
      {"--listen=" + c->ingest_address_, etcd_flag,
       absl::StrCat("--timeout_ms=",
                    absl::ToInt64Milliseconds(TestTime(absl::Seconds(30))))},
      root + "/ingest.log");
  if (!ingest.ok()) return ingest.status();
  c->ingest_process_ = std::move(*ingest);
  c->query_address_ = absl::StrCat("127.0.0.1:", PickFreePort());
  std::vector<std::string> query_args = {
      "--listen=" + c->query_address_, etcd_flag,
      absl::StrCat("--timeout_ms=",
                   absl::ToInt64Milliseconds(TestTime(absl::Seconds(10))))};
  query_args.insert(query_args.end(), c->options_.query_flags.begin(),
                    c->options_.query_flags.end());
  auto query =
      Process::Start(bin + "/sift-query", query_args, root + "/query.log");
  if (!query.ok()) return query.status();
  c->query_process_ = std::move(*query);
  for (const std::string& addr : {c->ingest_address_, c->query_address_}) {
    absl::Status s = WaitForServing(addr, TestTime(absl::Seconds(30)));
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat(s.message(), "\n", c->Logs()));
    }
  }
  c->ingest_stub_ = v1::IngestService::NewStub(MakeChannel(c->ingest_address_));
  auto query_channel = MakeChannel(c->query_address_);
  c->query_stub_ = v1::QueryService::NewStub(query_channel);
  c->admin_stub_ = v1::AdminService::NewStub(query_channel);
  return c;
}

ReplicatedCluster::~ReplicatedCluster() {
  ingest_stub_.reset();
  query_stub_.reset();
  admin_stub_.reset();
  if (query_process_) query_process_->Stop(SIGTERM);
  if (ingest_process_) ingest_process_->Stop(SIGTERM);
  for (auto& member : members_) {
    if (member) {
      member->Signal(SIGCONT);
      member->Stop(SIGKILL);
    }
  }
}

const std::string& ReplicatedCluster::member_address(int shard,
                                                     int copy) const {
  return addresses_[Index(shard, copy)];
}
const std::string& ReplicatedCluster::member_data(int shard, int copy) const {
  return data_[Index(shard, copy)];
}
const std::string& ReplicatedCluster::member_log(int shard, int copy) const {
  return logs_[Index(shard, copy)];
}

void ReplicatedCluster::StopMember(int shard, int copy, int signal) {
  std::unique_ptr<Process>& member = members_[Index(shard, copy)];
  if (member) member->Stop(signal);
  member.reset();
}

void ReplicatedCluster::SignalMember(int shard, int copy, int signal) {
  std::unique_ptr<Process>& member = members_[Index(shard, copy)];
  if (member) member->Signal(signal);
}

absl::Status ReplicatedCluster::StartMember(int shard, int copy) {
  const int i = Index(shard, copy);
  std::vector<std::string> args = {
      "--listen=" + addresses_[i],
      "--data_dir=" + data_[i],
      "--etcd=" + etcd_server_->endpoint(),
      "--member=" + MemberName(shard, copy),
      absl::StrCat("--shard=", shard),
      absl::StrCat("--shards=", options_.shards),
      absl::StrCat("--copies=", options_.copies),
      absl::StrCat("--lease_ttl_seconds=", options_.lease_ttl_seconds),
      "--threads=2",
      "--block_cache_mb=16",
  };
  args.insert(args.end(), options_.storage_flags.begin(),
              options_.storage_flags.end());
  auto p = Process::Start(std::string(SIFT_BIN_DIR) + "/sift-storage", args,
                          logs_[i]);
  if (!p.ok()) return p.status();
  members_[i] = std::move(*p);
  absl::Status s = WaitForServing(addresses_[i], TestTime(absl::Seconds(30)));
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat(s.message(), "\n", Logs()));
  }
  return absl::OkStatus();
}

absl::StatusOr<cluster::ClusterMap> ReplicatedCluster::Map() {
  return cluster::ReadClusterMap(etcd_.get(), *keys_);
}

absl::StatusOr<std::optional<int>> ReplicatedCluster::PrimaryCopy(int shard) {
  auto map = Map();
  if (!map.ok()) return map.status();
  if (shard >= static_cast<int>(map->shards.size()) ||
      !map->shards[shard].primary) {
    return std::optional<int>();
  }
  for (int copy = 0; copy < options_.copies; ++copy) {
    if (map->shards[shard].primary->member() == MemberName(shard, copy)) {
      return std::optional<int>(copy);
    }
  }
  return std::optional<int>();
}

absl::StatusOr<int> ReplicatedCluster::WaitForPrimary(
    int shard, std::optional<int> not_copy, absl::Duration timeout) {
  const absl::Time end = absl::Now() + TestTime(timeout);
  while (absl::Now() < end) {
    auto primary = PrimaryCopy(shard);
    if (primary.ok() && primary->has_value() && **primary != not_copy) {
      return **primary;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("shard ", shard, " got no new primary in time\n", Logs()));
}

absl::Status ReplicatedCluster::WaitForInSync(int shard, int count,
                                              absl::Duration timeout) {
  const absl::Time end = absl::Now() + TestTime(timeout);
  std::string last;
  while (absl::Now() < end) {
    auto map = Map();
    if (map.ok() && shard < static_cast<int>(map->shards.size())) {
      const cluster::ShardState& state = map->shards[shard];
      if (state.primary && state.in_sync &&
          static_cast<int>(state.ReadableAddresses().size()) >= count) {
        return absl::OkStatus();
      }
      last = absl::StrCat(state.ReadableAddresses().size(), " readable");
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("shard ", shard, " never had ", count, " copies in sync (",
                   last, ")\n", Logs()));
}

absl::StatusOr<std::vector<std::string>> ReplicatedCluster::Index(
    const std::vector<v1::Document>& documents, absl::Duration timeout) {
  v1::IndexRequest request;
  for (const v1::Document& document : documents) {
    *request.add_documents()->mutable_document() = document;
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + TestTime(timeout)));
  v1::IndexResponse response;
  const grpc::Status s = ingest_stub_->Index(&context, request, &response);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        s.error_message());
  }
  std::vector<std::string> accepted;
  for (const v1::DocumentResult& result : response.results()) {
    if (result.code() == 0) accepted.push_back(result.id());
  }
  return accepted;
}

absl::StatusOr<v1::StatsResponse> ReplicatedCluster::MemberStats(int shard,
                                                                 int copy) {
  auto stub =
      v1::StorageService::NewStub(MakeChannel(member_address(shard, copy)));
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + TestTime(absl::Seconds(10))));
  v1::StatsResponse response;
  const grpc::Status s = stub->Stats(&context, v1::StatsRequest(), &response);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        s.error_message());
  }
  return response;
}

std::string ReplicatedCluster::Logs() const {
  std::string out;
  for (const auto& entry : std::filesystem::directory_iterator(root_)) {
    if (entry.path().extension() != ".log") continue;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (text.size() > 4000) text = "..." + text.substr(text.size() - 4000);
    absl::StrAppend(&out, "--- ", entry.path().filename().string(), "\n", text);
  }
  return out;
}

v1::Document MakeDocument(const std::string& id, const std::string& title,
                          const std::string& body) {
  v1::Document document;
  document.set_id(id);
  document.set_title(title);
  document.set_body(body);
  return document;
}

absl::StatusOr<v1::SearchResponse> SearchCluster(v1::QueryService::Stub& query,
                                                 const std::string& text,
                                                 int page_size,
                                                 absl::Duration timeout) {
  v1::SearchRequest request;
  request.set_query(text);
  request.set_page_size(page_size);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + TestTime(timeout)));
  v1::SearchResponse response;
  const grpc::Status s = query.Search(&context, request, &response);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        s.error_message());
  }
  return response;
}

}  // namespace sift::testing
