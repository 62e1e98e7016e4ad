#include "common/etcd/internal/members.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/server/channels.h"

namespace sift::etcd::internal {
namespace {

absl::Status BadEndpoint(absl::string_view entry, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("etcd endpoint \"", entry, "\": ", why,
                   " (expected host:port, such as 127.0.0.1:2379)"));
}

// Checks one "host:port" or "[v6]:port" entry.
absl::Status CheckEndpoint(absl::string_view entry) {
  if (absl::StrContains(entry, "://")) {
    return BadEndpoint(entry, "has a scheme; only plain-text gRPC is spoken");
  }
  absl::string_view host;
  absl::string_view port;
  if (absl::StartsWith(entry, "[")) {
    const size_t close = entry.find("]:");
    if (close == absl::string_view::npos) {
      return BadEndpoint(entry, "no port after the bracketed host");
    }
    host = entry.substr(1, close - 1);
    port = entry.substr(close + 2);
  } else {
    const size_t colon = entry.rfind(':');
    if (colon == absl::string_view::npos) return BadEndpoint(entry, "no port");
    host = entry.substr(0, colon);
    port = entry.substr(colon + 1);
    if (absl::StrContains(host, ':')) {
      return BadEndpoint(entry, "an IPv6 host needs brackets");
    }
  }
  if (host.empty()) return BadEndpoint(entry, "no host");
  int number = 0;
  if (port.empty() ||
      port.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
    return BadEndpoint(entry, "the port is not a number in 1..65535");
  }
  return absl::OkStatus();
}

// How long a call waits for a connection to one member before it moves on to
// the next: longer than the longest reconnect backoff (MakeChannel), so that
// a member that came back is found again.
constexpr absl::Duration kConnectSlice = absl::Milliseconds(1500);

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ClientOptions& options) {
  grpc::ChannelArguments args;
  // A prefix read returns whatever is stored under it; etcd itself puts no
  // bound on responses.
  args.SetMaxReceiveMessageSize(-1);
  // gRPC's default backoff grows to two minutes; a member that comes back
  // after a restart should be used again within a second.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Pings find a member that stopped answering under a long-lived watch
  // stream, which would otherwise wait for events forever. Only while a call
  // is in flight: etcd closes connections that ping while idle.
  args.SetInt(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
  args.SetInt(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return sift::MakeChannel(address, args);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseEndpoints(
    absl::string_view endpoints) {
  std::vector<std::string> addresses;
  for (absl::string_view entry : absl::StrSplit(endpoints, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd endpoints \"", endpoints,
                       "\": empty entry (expected host:port,host:port,...)"));
    }
    absl::Status status = CheckEndpoint(entry);
    if (!status.ok()) return status;
    addresses.emplace_back(entry);
  }
  return addresses;
}

Members::Members(const std::vector<std::string>& addresses,
                 const ClientOptions& options) {
  for (const std::string& address : addresses) {
    auto member = std::make_unique<Member>();
    member->address = address;
    member->channel = MakeChannel(address, options);
    member->kv = etcdserverpb::KV::NewStub(member->channel);
    member->lease = etcdserverpb::Lease::NewStub(member->channel);
    member->watch = etcdserverpb::Watch::NewStub(member->channel);
    members_.push_back(std::move(member));
  }
}

size_t Members::Preferred() const {
  ReaderMutexLock lock(&mu_);
  return preferred_;
}

void Members::MarkFailed(size_t i) {
  MutexLock lock(&mu_);
  if (preferred_ == i) preferred_ = (i + 1) % members_.size();
}

absl::Status Members::Connect(size_t i, absl::Time deadline) const {
  grpc::Channel& channel = *members_[i]->channel;
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (!channel.WaitForStateChange(state, absl::ToChronoTime(deadline))) {
      return absl::DeadlineExceededError("no connection in time");
    }
    state = channel.GetState(/*try_to_connect=*/true);
    // An attempt to connect just failed; the next one waits for a backoff.
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
        state == GRPC_CHANNEL_SHUTDOWN) {
      return absl::UnavailableError("cannot connect");
    }
  }
  return absl::OkStatus();
}

absl::Status Members::Call(absl::string_view operation, absl::Duration timeout,
                           const Attempt& attempt) {
  const absl::Time deadline = absl::Now() + timeout;
  const size_t first = Preferred();
  std::vector<absl::Status> failures;
  for (size_t n = 0; n < members_.size(); ++n) {
    const size_t i = (first + n) % members_.size();
    const Member& member = *members_[i];
    // The last member may use all the time left; the others only a slice,
    // so that one that cannot be reached leaves time for the rest.
    const bool last = n + 1 == members_.size();
    const absl::Time connect_by =
        last ? deadline : std::min(deadline, absl::Now() + kConnectSlice);
    if (absl::Status connected = Connect(i, connect_by); !connected.ok()) {
      // Nothing was sent: trying the next member is safe for any call.
      MarkFailed(i);
      failures.push_back(absl::UnavailableError(
          absl::StrCat("etcd ", member.address, ": ", operation, ": ",
                       connected.message())));
      if (absl::Now() >= deadline) break;
      continue;
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    const grpc::Status status = attempt(member, &context);
    if (status.ok()) return absl::OkStatus();
    absl::Status error = MemberError(status, member.address, operation);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      // A member that lets the deadline pass is likely stopped or cut off:
      // later calls start with the next one. This call is not tried again,
      // as its time is spent.
      if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        MarkFailed(i);
      }
      return error;
    }
    MarkFailed(i);
    failures.push_back(std::move(error));
    if (absl::Now() >= deadline) break;
  }
  if (failures.size() == 1) return failures.front();
  return absl::UnavailableError(absl::StrJoin(
      failures, "; ", [](std::string* out, const absl::Status& s) {
        absl::StrAppend(out, s.message());
      }));
}

absl::Status MemberError(const grpc::Status& status, absl::string_view address,
                         absl::string_view operation) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("etcd ", address, ": ", operation, ": ",
                                   status.error_message()));
}

KeyRange PrefixRange(absl::string_view prefix) {
  if (prefix.empty()) return {std::string(1, '\0'), std::string(1, '\0')};
  std::string end(prefix);
  while (!end.empty()) {
    const unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return {std::string(prefix), std::move(end)};
    }
    end.pop_back();
  }
  // Every byte is 0xff: no key sorts after the prefix's keys.
  return {std::string(prefix), std::string(1, '\0')};
}

KeyValue FromProto(const mvccpb::KeyValue& kv) {
  KeyValue out;
  out.key = kv.key();
  out.value = kv.value();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.version = kv.version();
  out.lease = kv.lease();
  return out;
}

}  // namespace sift::etcd::internal
