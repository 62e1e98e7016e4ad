#include "services/storage/replication/shard_member.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"
#include "services/storage/durable_file.h"
#include "services/storage/index_factory.h"
#include "services/storage/replication/replication_service.h"

namespace sift::storage {
namespace {

constexpr char kIndexPointerFile[] = "INDEX";

// The longest the member's thread sleeps between two looks at etcd when
// nothing wakes it.
constexpr absl::Duration kPoll = absl::Milliseconds(500);

std::string IndexFolder(const std::string& data_dir, int generation) {
  return absl::StrCat(data_dir, "/index-", generation);
}

}  // namespace

absl::Status WriteIndexPointer(const std::string& data_dir, int generation) {
  return WriteFileDurably(data_dir,
                          absl::StrCat(data_dir, "/", kIndexPointerFile),
                          absl::StrCat("index-", generation, "\n"));
}

namespace {

IndexOptions WithOpLog(IndexOptions options) {
  if (options.op_log_writes == 0) options.op_log_writes = kDefaultOpLogWrites;
  return options;
}

}  // namespace

absl::StatusOr<std::shared_ptr<Index>> OpenMemberIndex(
    const std::string& data_dir, const IndexOptions& options, int* generation) {
  if (std::filesystem::exists(absl::StrCat(data_dir, "/CURRENT"))) {
    return absl::FailedPreconditionError(
        absl::StrCat(data_dir,
                     " holds the index of a single node; a member of a "
                     "replicated cluster starts from an empty folder (its "
                     "documents come from the shard's primary)"));
  }
  *generation = 1;
  std::ifstream in(absl::StrCat(data_dir, "/", kIndexPointerFile));
  if (in) {
    std::stringstream contents;
    contents << in.rdbuf();
    absl::string_view name = absl::StripAsciiWhitespace(contents.str());
    if (!absl::ConsumePrefix(&name, "index-") ||
        !absl::SimpleAtoi(name, generation) || *generation < 1) {
      return absl::DataLossError(absl::StrCat(
          data_dir, "/", kIndexPointerFile, " does not name an index folder"));
    }
  } else {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    SIFT_RETURN_IF_ERROR(WriteIndexPointer(data_dir, *generation));
  }
  // Folders of other generations are what a recovery replaced, or began
  // and did not finish.
  const std::string current =
      std::filesystem::path(IndexFolder(data_dir, *generation))
          .filename()
          .string();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind("index-", 0) == 0 &&
        name != current) {
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
  SIFT_ASSIGN_OR_RETURN(
      std::unique_ptr<Index> index,
      OpenIndex(IndexFolder(data_dir, *generation), WithOpLog(options)));
  return std::shared_ptr<Index>(std::move(index));
}

absl::StatusOr<std::unique_ptr<ShardMember>> ShardMember::Start(
    etcd::Client* etcd, cluster::ClusterKeys keys, MemberOptions options) {
  v1::ClusterConfig shape;
  shape.set_shards(options.shard.count);
  shape.set_copies(options.copies);
  SIFT_RETURN_IF_ERROR(
      cluster::EnsureClusterConfig(etcd, keys, shape).status());
  int generation = 1;
  SIFT_ASSIGN_OR_RETURN(
      std::shared_ptr<Index> index,
      OpenMemberIndex(options.data_dir, options.index, &generation));
  std::unique_ptr<ShardMember> member(new ShardMember(
      etcd, std::move(keys), std::move(options), std::move(index), generation));
  SIFT_RETURN_IF_ERROR(member->Register());
  member->thread_ = std::thread([raw = member.get()] { raw->Run(); });
  return member;
}

ShardMember::ShardMember(etcd::Client* etcd, cluster::ClusterKeys keys,
                         MemberOptions options, std::shared_ptr<Index> index,
                         int generation)
    : etcd_(etcd),
      keys_(std::move(keys)),
      options_(std::move(options)),
      index_(std::move(index)),
      generation_(generation) {
  // Any change of the shard's keys is a reason to look again.
  watch_ = etcd_->WatchPrefix(
      keys_.Shard(options_.shard.shard), 0,
      [this](const std::vector<etcd::WatchEvent>&) {
        MutexLock lock(&mu_);
        changed_ = true;
        wake_.SignalAll();
      },
      [this](const absl::Status&) {
        MutexLock lock(&mu_);
        changed_ = true;
        wake_.SignalAll();
      });
}

ShardMember::~ShardMember() {
  watch_.reset();
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    wake_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  std::shared_ptr<ShardPrimary> primary;
  std::unique_ptr<ShardFollower> follower;
  std::unique_ptr<etcd::LeaseKeeper> lease;
  {
    MutexLock lock(&mu_);
    primary = std::move(primary_);
    follower = std::move(follower_);
    lease = std::move(lease_);
  }
  follower.reset();
  primary.reset();
  lease.reset();
}

std::shared_ptr<Index> ShardMember::index() const {
  MutexLock lock(&mu_);
  return index_;
}

std::shared_ptr<ShardPrimary> ShardMember::primary() const {
  MutexLock lock(&mu_);
  return primary_;
}

absl::StatusOr<v1::WriteResponse> ShardMember::Write(
    const v1::WriteRequest& request) {
  std::shared_ptr<ShardPrimary> primary = this->primary();
  if (primary == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("member ", options_.member, " is not the primary of ",
                     DescribeShardRef(options_.shard),
                     "; look the primary up in etcd again"));
  }
  absl::StatusOr<v1::WriteResponse> response = primary->Write(request);
  // A primary that stepped down mid-write: the write may be in the log and
  // be applied by the next primary. Upserts and deletes by id may be sent
  // again safely, so the caller retries (UNAVAILABLE) on the new primary.
  if (!response.ok() && absl::IsFailedPrecondition(response.status()) &&
      !primary->Stopped().ok()) {
    return absl::UnavailableError(response.status().message());
  }
  return response;
}

v1::ReplicationStatus ShardMember::Status() const {
  v1::ReplicationStatus status;
  MutexLock lock(&mu_);
  status.set_member(options_.member);
  status.set_role(role_);
  status.set_term(term_);
  status.set_in_sync(in_sync_);
  if (index_ != nullptr) {
    status.set_applied_seq(index_->LastOp().seq);
    status.set_logged_seq(index_->LogEnd().seq);
  }
  if (primary_ != nullptr) {
    status.set_primary_seq(status.logged_seq());
  } else if (follower_ != nullptr) {
    status.set_primary_seq(follower_->State().primary_last_seq);
  }
  if (!error_.ok()) status.set_error(error_.ToString());
  return status;
}

std::string ShardMember::PrimaryJson(uint64_t term) const {
  v1::PrimaryRecord record;
  record.set_member(options_.member);
  record.set_address(options_.address);
  record.set_term(term);
  return cluster::ToJson(record);
}

absl::Status ShardMember::Register() {
  MutexLock lock(&mu_);
  if (lease_ == nullptr || lease_->lost()) {
    lease_.reset();
    SIFT_ASSIGN_OR_RETURN(
        lease_, etcd::LeaseKeeper::Start(etcd_, options_.lease_ttl, [this] {
          MutexLock lock(&mu_);
          changed_ = true;
          wake_.SignalAll();
        }));
  }
  v1::MemberRecord record;
  record.set_member(options_.member);
  record.set_shard(options_.shard.shard);
  record.set_address(options_.address);
  if (index_ != nullptr) record.set_last_seq(index_->LastOp().seq);
  return etcd_
      ->Put(keys_.Member(options_.shard.shard, options_.member),
            cluster::ToJson(record), lease_->id())
      .status();
}

void ShardMember::Run() {
  absl::Duration wait = kPoll;
  while (true) {
    {
      MutexLock lock(&mu_);
      if (!changed_) wake_.WaitWithTimeout(&mu_, wait);
      changed_ = false;
      if (stopping_) return;
      if (leaving_) {
        wake_.WaitWithTimeout(&mu_, kPoll);
        continue;
      }
    }
    wait = kPoll;
    const absl::Status status = Step(&wait);
    MutexLock lock(&mu_);
    if (!status.ok()) {
      if (error_ != status) {
        std::fprintf(stderr, "sift-storage: %s: %s\n", options_.member.c_str(),
                     status.ToString().c_str());
      }
      wait = absl::Milliseconds(200);
    }
    error_ = status;
  }
}

absl::Status ShardMember::Step(absl::Duration* wait) {
  bool lease_lost = false;
  {
    MutexLock lock(&mu_);
    lease_lost = lease_ == nullptr || lease_->lost();
  }
  if (lease_lost) {
    // Whatever this member held in etcd has gone with its lease.
    std::shared_ptr<ShardPrimary> primary;
    {
      MutexLock lock(&mu_);
      primary = std::move(primary_);
      role_ = "candidate";
    }
    if (primary != nullptr) {
      primary->StepDown(absl::UnavailableError(
          "this member lost its etcd lease and is no longer the primary"));
    }
    SIFT_RETURN_IF_ERROR(Register());
  }

  std::shared_ptr<ShardPrimary> primary = this->primary();
  if (primary != nullptr && !primary->Stopped().ok()) {
    std::fprintf(stderr, "sift-storage: %s steps down as primary: %s\n",
                 options_.member.c_str(),
                 primary->Stopped().ToString().c_str());
    Resign();
    return absl::OkStatus();
  }

  SIFT_ASSIGN_OR_RETURN(
      cluster::ShardState state,
      cluster::ReadShardState(etcd_, keys_, options_.shard.shard));
  int64_t lease_id = 0;
  {
    MutexLock lock(&mu_);
    lease_id = lease_->id();
    in_sync_ = state.IsInSync(options_.member);
  }
  if (!state.members.contains(options_.member)) {
    // The member key went (a compaction of leases, an operator): again.
    SIFT_RETURN_IF_ERROR(Register());
  }

  if (state.primary) {
    if (state.primary->member() == options_.member) {
      if (primary != nullptr && state.primary_kv->lease == lease_id &&
          state.primary->term() == primary->term()) {
        return absl::OkStatus();
      }
      // The key of an earlier run of this member (same name, older
      // lease): nobody acts on it, so end it instead of waiting out its
      // TTL.
      SIFT_ASSIGN_OR_RETURN(
          etcd::TxnResult ended,
          etcd_->Txn({etcd::Compare::ModRevisionEquals(
                         keys_.Primary(options_.shard.shard),
                         state.primary_kv->mod_revision)},
                     {etcd::Op::Delete(keys_.Primary(options_.shard.shard))}));
      static_cast<void>(ended);
      *wait = absl::ZeroDuration();
      return absl::OkStatus();
    }
    // Someone else is the primary: follow it.
    if (primary != nullptr) {
      primary->StepDown(absl::UnavailableError(
          absl::StrCat("member ", state.primary->member(),
                       " is the primary of term ", state.primary->term())));
      Resign();
    }
    std::unique_ptr<ShardFollower> replaced;
    bool needs_checkpoint = false;
    {
      MutexLock lock(&mu_);
      term_ = state.primary->term();
      if (follower_ != nullptr &&
          (follower_->options().primary_address != state.primary->address() ||
           follower_->options().term != state.primary->term())) {
        replaced = std::move(follower_);
      }
      if (follower_ != nullptr) {
        needs_checkpoint = follower_->State().needs_checkpoint;
      }
    }
    replaced.reset();
    if (needs_checkpoint) return Recover(*state.primary);
    MutexLock lock(&mu_);
    if (follower_ == nullptr && index_ != nullptr) {
      FollowerOptions follow;
      follow.member = options_.member;
      follow.shard = options_.shard;
      follow.primary_address = state.primary->address();
      follow.term = state.primary->term();
      follower_ = std::make_unique<ShardFollower>(index_.get(), follow);
      role_ = "replica";
    }
    return absl::OkStatus();
  }

  // No primary.
  {
    std::unique_ptr<ShardFollower> stopped;
    {
      MutexLock lock(&mu_);
      stopped = std::move(follower_);
      role_ = "candidate";
    }
  }
  bool eligible = state.IsInSync(options_.member);
  if (!state.in_sync.has_value()) {
    // A new shard: any member, but one with the most writes (restored from
    // a snapshot) before the empty ones.
    uint64_t mine = 0;
    {
      MutexLock lock(&mu_);
      if (index_ != nullptr) mine = index_->LastOp().seq;
    }
    eligible = true;
    for (const auto& [name, member] : state.members) {
      if (member.last_seq() > mine) eligible = false;
    }
  }
  if (!eligible) return absl::OkStatus();
  return Campaign(state);
}

absl::Status ShardMember::Campaign(const cluster::ShardState& state) {
  const uint32_t shard = options_.shard.shard;
  const uint64_t term = state.term + 1;
  int64_t lease_id = 0;
  std::shared_ptr<Index> index;
  {
    MutexLock lock(&mu_);
    lease_id = lease_->id();
    index = index_;
  }
  if (index == nullptr) return absl::OkStatus();
  std::vector<etcd::Compare> compares = {
      etcd::Compare::CreateRevisionEquals(keys_.Primary(shard), 0),
      state.term_kv ? etcd::Compare::ModRevisionEquals(
                          keys_.Term(shard), state.term_kv->mod_revision)
                    : etcd::Compare::CreateRevisionEquals(keys_.Term(shard), 0),
      state.in_sync_kv
          ? etcd::Compare::ModRevisionEquals(keys_.InSync(shard),
                                             state.in_sync_kv->mod_revision)
          : etcd::Compare::CreateRevisionEquals(keys_.InSync(shard), 0),
  };
  std::vector<etcd::Op> ops = {
      etcd::Op::Put(keys_.Primary(shard), PrimaryJson(term), lease_id),
      etcd::Op::Put(keys_.Term(shard), absl::StrCat(term)),
  };
  std::vector<std::string> in_sync;
  if (state.in_sync) {
    in_sync.assign(state.in_sync->members().begin(),
                   state.in_sync->members().end());
  } else {
    // A new shard: its first primary is its only in-sync copy.
    in_sync = {options_.member};
    v1::InSyncRecord record;
    record.add_members(options_.member);
    record.set_term(term);
    ops.push_back(etcd::Op::Put(keys_.InSync(shard), cluster::ToJson(record)));
  }
  SIFT_ASSIGN_OR_RETURN(etcd::TxnResult won, etcd_->Txn(compares, ops));
  if (!won.succeeded) return absl::OkStatus();

  PrimaryOptions primary_options;
  primary_options.member = options_.member;
  primary_options.term = term;
  primary_options.in_sync = in_sync;
  for (const std::string& member : in_sync) {
    if (member != options_.member && !state.members.contains(member)) {
      primary_options.gone.push_back(member);
    }
  }
  primary_options.copy_timeout = options_.copy_timeout;
  const std::string primary_key = keys_.Primary(shard);
  const std::string in_sync_key = keys_.InSync(shard);
  const std::string mine = PrimaryJson(term);
  primary_options.write_in_sync =
      [this, primary_key, in_sync_key, mine,
       term](const std::vector<std::string>& members) -> absl::Status {
    v1::InSyncRecord record;
    for (const std::string& m : members) record.add_members(m);
    record.set_term(term);
    SIFT_ASSIGN_OR_RETURN(
        etcd::TxnResult result,
        etcd_->Txn({etcd::Compare::ValueEquals(primary_key, mine)},
                   {etcd::Op::Put(in_sync_key, cluster::ToJson(record))}));
    if (!result.succeeded) {
      return absl::FailedPreconditionError(
          absl::StrCat("member ", options_.member,
                       " is no longer the primary of term ", term));
    }
    return absl::OkStatus();
  };
  primary_options.valid_until = [this] {
    MutexLock lock(&mu_);
    return lease_ == nullptr ? absl::InfinitePast() : lease_->ValidUntil();
  };
  auto primary = std::make_shared<ShardPrimary>(index.get(), primary_options);
  std::fprintf(stderr,
               "sift-storage: %s is the primary of %s, term %llu (in sync: "
               "%zu copies)\n",
               options_.member.c_str(),
               DescribeShardRef(options_.shard).c_str(),
               static_cast<unsigned long long>(term), in_sync.size());
  MutexLock lock(&mu_);
  primary_ = std::move(primary);
  role_ = "primary";
  term_ = term;
  return absl::OkStatus();
}

void ShardMember::Resign() {
  std::shared_ptr<ShardPrimary> primary;
  {
    MutexLock lock(&mu_);
    primary = std::move(primary_);
    role_ = "candidate";
  }
  if (primary == nullptr) return;
  const std::string key = keys_.Primary(options_.shard.shard);
  // Only this member's own key, of its own term.
  etcd_
      ->Txn({etcd::Compare::ValueEquals(key, PrimaryJson(primary->term()))},
            {etcd::Op::Delete(key)})
      .status()
      .IgnoreError();
}

absl::Status ShardMember::Recover(const v1::PrimaryRecord& primary) {
  std::unique_ptr<ShardFollower> follower;
  int next = 0;
  {
    MutexLock lock(&mu_);
    follower = std::move(follower_);
    role_ = "recovering";
    next = generation_ + 1;
  }
  follower.reset();
  std::fprintf(
      stderr, "sift-storage: %s copies a checkpoint of %s from %s (%s)\n",
      options_.member.c_str(), DescribeShardRef(options_.shard).c_str(),
      primary.member().c_str(), primary.address().c_str());
  v1::FetchCheckpointRequest request;
  request.set_member(options_.member);
  request.set_shard(options_.shard.shard);
  request.set_shard_count(options_.shard.count);
  request.set_term(primary.term());
  const std::string folder = IndexFolder(options_.data_dir, next);
  SIFT_ASSIGN_OR_RETURN(
      const OpId at,
      DownloadCheckpoint(primary.address(), request, folder, absl::Hours(6)));
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<Index> fresh,
                        OpenIndex(folder, WithOpLog(options_.index)));
  SIFT_RETURN_IF_ERROR(WriteIndexPointer(options_.data_dir, next));
  std::shared_ptr<Index> old;
  int old_generation = 0;
  {
    MutexLock lock(&mu_);
    old = std::exchange(index_, std::shared_ptr<Index>(std::move(fresh)));
    old_generation = std::exchange(generation_, next);
    role_ = "replica";
  }
  std::fprintf(
      stderr, "sift-storage: %s now holds the checkpoint, up to write %llu\n",
      options_.member.c_str(), static_cast<unsigned long long>(at.seq));
  // Searches still running on the old index keep it open until they end;
  // its folder then goes at the next start.
  if (old.use_count() == 1) {
    old.reset();
    std::error_code ec;
    std::filesystem::remove_all(IndexFolder(options_.data_dir, old_generation),
                                ec);
  }
  return absl::OkStatus();
}

void ShardMember::Leave(absl::Duration grace) {
  {
    MutexLock lock(&mu_);
    leaving_ = true;
  }
  std::shared_ptr<ShardPrimary> primary = this->primary();
  if (primary != nullptr) primary->Drain(absl::Now() + grace);
  std::unique_ptr<ShardFollower> follower;
  std::unique_ptr<etcd::LeaseKeeper> lease;
  {
    MutexLock lock(&mu_);
    follower = std::move(follower_);
    lease = std::move(lease_);
    primary_.reset();
    role_ = "leaving";
  }
  follower.reset();
  // Revoking the lease deletes the member's key and, for a primary, the
  // primary key in one step: the copies see at once that the primary is
  // gone and that this member is, and the next primary does not wait for
  // it.
  if (lease != nullptr) lease->Revoke().IgnoreError();
}

}  // namespace sift::storage
