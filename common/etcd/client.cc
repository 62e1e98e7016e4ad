#include "common/etcd/client.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/etcd/internal/members.h"
#include "common/etcd/internal/prefix_watch.h"
#include "common/status/status_macros.h"

namespace sift::etcd {
namespace {

using internal::Member;

void ToProto(const Compare& compare, etcdserverpb::Compare* out) {
  out->set_key(compare.key);
  out->set_result(etcdserverpb::Compare::EQUAL);
  switch (compare.target) {
    case Compare::Target::kValue:
      out->set_target(etcdserverpb::Compare::VALUE);
      out->set_value(compare.value);
      break;
    case Compare::Target::kVersion:
      out->set_target(etcdserverpb::Compare::VERSION);
      out->set_version(compare.number);
      break;
    case Compare::Target::kCreateRevision:
      out->set_target(etcdserverpb::Compare::CREATE);
      out->set_create_revision(compare.number);
      break;
    case Compare::Target::kModRevision:
      out->set_target(etcdserverpb::Compare::MOD);
      out->set_mod_revision(compare.number);
      break;
  }
}

void ToProto(const Op& op, etcdserverpb::RequestOp* out) {
  switch (op.type) {
    case Op::Type::kPut: {
      etcdserverpb::PutRequest* put = out->mutable_request_put();
      put->set_key(op.key);
      put->set_value(op.value);
      put->set_lease(op.lease);
      break;
    }
    case Op::Type::kDelete:
      out->mutable_request_delete_range()->set_key(op.key);
      break;
    case Op::Type::kDeletePrefix: {
      internal::KeyRange range = internal::PrefixRange(op.key);
      etcdserverpb::DeleteRangeRequest* del =
          out->mutable_request_delete_range();
      del->set_key(std::move(range.key));
      del->set_range_end(std::move(range.range_end));
      break;
    }
    case Op::Type::kGet:
      out->mutable_request_range()->set_key(op.key);
      break;
    case Op::Type::kGetPrefix: {
      internal::KeyRange range = internal::PrefixRange(op.key);
      etcdserverpb::RangeRequest* get = out->mutable_request_range();
      get->set_key(std::move(range.key));
      get->set_range_end(std::move(range.range_end));
      break;
    }
  }
}

std::vector<KeyValue> FromProto(
    const google::protobuf::RepeatedPtrField<mvccpb::KeyValue>& kvs) {
  std::vector<KeyValue> out;
  out.reserve(kvs.size());
  for (const mvccpb::KeyValue& kv : kvs) out.push_back(internal::FromProto(kv));
  return out;
}

// etcd counts lease TTLs in whole seconds.
int64_t TtlSeconds(absl::Duration ttl) {
  return std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(ttl))));
}

}  // namespace

Compare Compare::ValueEquals(std::string key, std::string value) {
  Compare c;
  c.target = Target::kValue;
  c.key = std::move(key);
  c.value = std::move(value);
  return c;
}

Compare Compare::VersionEquals(std::string key, int64_t version) {
  Compare c;
  c.target = Target::kVersion;
  c.key = std::move(key);
  c.number = version;
  return c;
}

Compare Compare::CreateRevisionEquals(std::string key, int64_t rev) {
  Compare c;
  c.target = Target::kCreateRevision;
  c.key = std::move(key);
  c.number = rev;
  return c;
}

Compare Compare::ModRevisionEquals(std::string key, int64_t rev) {
  Compare c;
  c.target = Target::kModRevision;
  c.key = std::move(key);
  c.number = rev;
  return c;
}

Op Op::Put(std::string key, std::string value, int64_t lease) {
  Op op;
  op.type = Type::kPut;
  op.key = std::move(key);
  op.value = std::move(value);
  op.lease = lease;
  return op;
}

Op Op::Delete(std::string key) {
  Op op;
  op.type = Type::kDelete;
  op.key = std::move(key);
  return op;
}

Op Op::DeletePrefix(std::string prefix) {
  Op op;
  op.type = Type::kDeletePrefix;
  op.key = std::move(prefix);
  return op;
}

Op Op::Get(std::string key) {
  Op op;
  op.type = Type::kGet;
  op.key = std::move(key);
  return op;
}

Op Op::GetPrefix(std::string prefix) {
  Op op;
  op.type = Type::kGetPrefix;
  op.key = std::move(prefix);
  return op;
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(
    const std::string& endpoints, ClientOptions options) {
  SIFT_ASSIGN_OR_RETURN(std::vector<std::string> addresses,
                        internal::ParseEndpoints(endpoints));
  if (options.call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("etcd: call_timeout must be positive");
  }
  auto members = std::make_shared<internal::Members>(addresses, options);
  return std::unique_ptr<Client>(new Client(std::move(members), options));
}

Client::Client(std::shared_ptr<internal::Members> members,
               ClientOptions options)
    : members_(std::move(members)), options_(options) {}

Client::~Client() = default;

absl::StatusOr<std::optional<KeyValue>> Client::Get(const std::string& key) {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  etcdserverpb::RangeResponse response;
  SIFT_RETURN_IF_ERROR(
      members_->Call("Get", options_.call_timeout,
                     [&](const Member& m, grpc::ClientContext* context) {
                       return m.kv->Range(context, request, &response);
                     }));
  if (response.kvs_size() == 0) return std::nullopt;
  return internal::FromProto(response.kvs(0));
}

absl::StatusOr<std::vector<KeyValue>> Client::GetPrefix(
    const std::string& prefix, int64_t* revision) {
  internal::KeyRange range = internal::PrefixRange(prefix);
  etcdserverpb::RangeRequest request;
  request.set_key(std::move(range.key));
  request.set_range_end(std::move(range.range_end));
  // With no sort order etcd returns a range in key order.
  etcdserverpb::RangeResponse response;
  SIFT_RETURN_IF_ERROR(
      members_->Call("GetPrefix", options_.call_timeout,
                     [&](const Member& m, grpc::ClientContext* context) {
                       return m.kv->Range(context, request, &response);
                     }));
  if (revision != nullptr) *revision = response.header().revision();
  return FromProto(response.kvs());
}

absl::StatusOr<int64_t> Client::Put(const std::string& key,
                                    const std::string& value, int64_t lease) {
  etcdserverpb::PutRequest request;
  request.set_key(key);
  request.set_value(value);
  request.set_lease(lease);
  etcdserverpb::PutResponse response;
  SIFT_RETURN_IF_ERROR(
      members_->Call("Put", options_.call_timeout,
                     [&](const Member& m, grpc::ClientContext* context) {
                       return m.kv->Put(context, request, &response);
                     }));
  return response.header().revision();
}

absl::Status Client::Delete(const std::string& key) {
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(key);
  etcdserverpb::DeleteRangeResponse response;
  return members_->Call("Delete", options_.call_timeout,
                        [&](const Member& m, grpc::ClientContext* context) {
                          return m.kv->DeleteRange(context, request, &response);
                        });
}

absl::StatusOr<TxnResult> Client::Txn(const std::vector<Compare>& compares,
                                      const std::vector<Op>& on_success,
                                      const std::vector<Op>& on_failure) {
  etcdserverpb::TxnRequest request;
  for (const Compare& c : compares) ToProto(c, request.add_compare());
  for (const Op& op : on_success) ToProto(op, request.add_success());
  for (const Op& op : on_failure) ToProto(op, request.add_failure());
  etcdserverpb::TxnResponse response;
  SIFT_RETURN_IF_ERROR(
      members_->Call("Txn", options_.call_timeout,
                     [&](const Member& m, grpc::ClientContext* context) {
                       return m.kv->Txn(context, request, &response);
                     }));
  TxnResult result;
  result.succeeded = response.succeeded();
  result.revision = response.header().revision();
  for (const etcdserverpb::ResponseOp& op : response.responses()) {
    if (op.has_response_range()) {
      result.gets.push_back(FromProto(op.response_range().kvs()));
    }
  }
  return result;
}

absl::Status Client::Compact(int64_t revision) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  etcdserverpb::CompactionResponse response;
  return members_->Call("Compact", options_.call_timeout,
                        [&](const Member& m, grpc::ClientContext* context) {
                          return m.kv->Compact(context, request, &response);
                        });
}

absl::StatusOr<int64_t> Client::GrantLease(absl::Duration ttl) {
  SIFT_ASSIGN_OR_RETURN(Grant grant, GrantLeaseWithTtl(ttl));
  return grant.id;
}

absl::StatusOr<Client::Grant> Client::GrantLeaseWithTtl(absl::Duration ttl) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(TtlSeconds(ttl));
  etcdserverpb::LeaseGrantResponse response;
  std::string address;
  SIFT_RETURN_IF_ERROR(
      members_->Call("LeaseGrant", options_.call_timeout,
                     [&](const Member& m, grpc::ClientContext* context) {
                       address = m.address;
                       return m.lease->LeaseGrant(context, request, &response);
                     }));
  // etcd reports its failures as gRPC errors; the field is a leftover.
  if (!response.error().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("etcd ", address, ": LeaseGrant: ", response.error()));
  }
  return Grant{response.id(), absl::Seconds(response.ttl())};
}

absl::Status Client::RevokeLease(int64_t lease) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease);
  etcdserverpb::LeaseRevokeResponse response;
  return members_->Call("LeaseRevoke", options_.call_timeout,
                        [&](const Member& m, grpc::ClientContext* context) {
                          return m.lease->LeaseRevoke(context, request,
                                                      &response);
                        });
}

absl::StatusOr<absl::Duration> Client::KeepAliveOnce(int64_t lease) {
  return KeepAliveOnce(lease, options_.call_timeout);
}

absl::StatusOr<absl::Duration> Client::KeepAliveOnce(int64_t lease,
                                                     absl::Duration timeout) {
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease);
  etcdserverpb::LeaseKeepAliveResponse response;
  std::string address;
  // LeaseKeepAlive is a stream meant to stay open; a fresh one per
  // keep-alive costs a little more and needs no state between calls.
  SIFT_RETURN_IF_ERROR(members_->Call(
      "LeaseKeepAlive", timeout,
      [&](const Member& m, grpc::ClientContext* context) {
        address = m.address;
        auto stream = m.lease->LeaseKeepAlive(context);
        if (!stream->Write(request) || !stream->Read(&response)) {
          // The stream is over; Finish says why.
          grpc::Status status = stream->Finish();
          if (status.ok()) {
            return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                "stream ended without a response");
          }
          return status;
        }
        stream->WritesDone();
        return stream->Finish();
      }));
  if (response.ttl() <= 0) {
    return absl::NotFoundError(absl::StrCat("etcd ", address,
                                            ": LeaseKeepAlive: lease ", lease,
                                            " has expired or was revoked"));
  }
  return absl::Seconds(response.ttl());
}

std::unique_ptr<Client::Watch> Client::WatchPrefix(
    const std::string& prefix, int64_t start_revision,
    std::function<void(const std::vector<WatchEvent>&)> on_events,
    std::function<void(const absl::Status&)> on_error) {
  return std::make_unique<internal::PrefixWatch>(
      members_, prefix, start_revision, std::move(on_events),
      std::move(on_error));
}

}  // namespace sift::etcd
