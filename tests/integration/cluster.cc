#include "tests/integration/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/server/channels.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace sift::testing {

absl::StatusOr<std::unique_ptr<Process>> Process::Start(
    const std::string& binary, const std::vector<std::string>& args,
    const std::string& log_path) {
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(
        absl::StrCat("binary ", binary, " is missing; build every target"));
  }
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0)
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    // Unblock what the test runner may have blocked, so SIGTERM works.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  return std::unique_ptr<Process>(new Process(pid, log_path));
}

Process::~Process() {
  if (pid_ > 0) Stop(SIGKILL);
}

void Process::Stop(int signal) {
  if (pid_ <= 0) return;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void Process::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

int PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

absl::Duration TestTime(absl::Duration d) {
  static const double scale = [] {
    const char* value = std::getenv("SIFT_TEST_TIME_SCALE");
    double parsed = 1.0;
    if (value == nullptr || !absl::SimpleAtod(value, &parsed) || parsed < 1.0) {
      return 1.0;
    }
    return parsed;
  }();
  return d * scale;
}

std::chrono::system_clock::time_point DeadlineIn(absl::Duration d) {
  return std::chrono::system_clock::now() +
         absl::ToChronoMilliseconds(TestTime(d));
}

absl::StatusOr<int> IndexAll(Cluster& cluster,
                             const std::vector<v1::DocumentInput>& inputs,
                             absl::Duration per_batch) {
  constexpr size_t kBatch = 500;
  int accepted = 0;
  for (size_t i = 0; i < inputs.size(); i += kBatch) {
    v1::IndexRequest request;
    for (size_t j = i; j < inputs.size() && j < i + kBatch; ++j) {
      *request.add_documents() = inputs[j];
    }
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(per_batch));
    v1::IndexResponse response;
    const grpc::Status s = cluster.ingest().Index(&context, request, &response);
    if (!s.ok()) {
      return absl::UnknownError(absl::StrCat("Index of documents ", i, "..",
                                             i + request.documents_size(), ": ",
                                             s.error_message()));
    }
    accepted += static_cast<int>(response.accepted());
  }
  return accepted;
}

namespace {

// Whether something accepts TCP connections on 127.0.0.1:`port`.
bool PortAcceptsConnections(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

absl::Status WaitForServing(const std::string& address,
                            absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  // Wait for the listening socket first: a gRPC channel that fails to
  // connect backs off for a second or more before it tries again.
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  while (!PortAcceptsConnections(port)) {
    if (absl::Now() > end) {
      return absl::DeadlineExceededError(
          absl::StrCat(address, " never accepted connections"));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  auto channel = MakeChannel(address);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  std::string last = "no answer";
  while (absl::Now() < end) {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(DeadlineIn(absl::Seconds(2)));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status s = stub->Check(&context, request, &response);
    if (s.ok() &&
        response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    last = s.ok() ? "not serving" : s.error_message();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(address, " did not become healthy: ", last));
}

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Start(
    int num_shards, const std::string& root,
    const std::vector<std::string>& query_flags) {
  std::unique_ptr<Cluster> c(new Cluster);
  c->root_ = root;
  // Every address first: each shard is started knowing the shard count.
  for (int i = 0; i < num_shards; ++i) {
    c->shard_addresses_.push_back(absl::StrCat("127.0.0.1:", PickFreePort()));
    c->shards_.emplace_back();
  }
  for (int i = 0; i < num_shards; ++i) {
    absl::Status s = c->StartShard(i);
    if (!s.ok()) return s;
  }
  const std::string shards = absl::StrJoin(c->shard_addresses_, ",");
  const std::string bin = SIFT_BIN_DIR;
  c->ingest_address_ = absl::StrCat("127.0.0.1:", PickFreePort());
  auto ingest = Process::Start(
      bin + "/sift-ingest",
      {"--listen=" + c->ingest_address_, "--shards=" + shards,
       absl::StrCat("--timeout_ms=",
                    absl::ToInt64Milliseconds(TestTime(absl::Seconds(30))))},
      root + "/ingest.log");
  if (!ingest.ok()) return ingest.status();
  c->ingest_process_ = std::move(*ingest);
  c->query_address_ = absl::StrCat("127.0.0.1:", PickFreePort());
  // The servers' own defaults, scaled; a test's query_flags come after
  // and win.
  std::vector<std::string> query_args = {
      "--listen=" + c->query_address_, "--shards=" + shards,
      absl::StrCat("--timeout_ms=",
                   absl::ToInt64Milliseconds(TestTime(absl::Seconds(10))))};
  query_args.insert(query_args.end(), query_flags.begin(), query_flags.end());
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
  c->query_stub_ = v1::QueryService::NewStub(MakeChannel(c->query_address_));
  return c;
}

Cluster::~Cluster() {
  // Close the test's own connections first, as clients going away would.
  ingest_stub_.reset();
  query_stub_.reset();
  if (query_process_) query_process_->Stop(SIGTERM);
  if (ingest_process_) ingest_process_->Stop(SIGTERM);
  for (auto& shard : shards_) {
    if (shard) shard->Stop(SIGTERM);
  }
}

grpc::Status Cluster::Search(const v1::SearchRequest& request,
                             v1::SearchResponse* response,
                             absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(timeout));
  return query_stub_->Search(&context, request, response);
}

void Cluster::StopShard(int i, int signal) {
  if (shards_[i]) shards_[i]->Stop(signal);
  shards_[i].reset();
}

absl::Status Cluster::StartShard(int i) {
  const std::string data = absl::StrCat(root_, "/shard-", i);
  auto p = Process::Start(std::string(SIFT_BIN_DIR) + "/sift-storage",
                          {"--listen=" + shard_addresses_[i],
                           "--data_dir=" + data, absl::StrCat("--shard=", i),
                           absl::StrCat("--shards=", shard_addresses_.size())},
                          absl::StrCat(root_, "/shard-", i, ".log"));
  if (!p.ok()) return p.status();
  shards_[i] = std::move(*p);
  absl::Status s =
      WaitForServing(shard_addresses_[i], TestTime(absl::Seconds(30)));
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat(s.message(), "\n", Logs()));
  }
  return absl::OkStatus();
}

std::string Cluster::Logs() const {
  std::string out;
  for (const auto& entry : std::filesystem::directory_iterator(root_)) {
    if (entry.path().extension() != ".log") continue;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    absl::StrAppend(&out, "==== ", entry.path().filename().string(), "\n",
                    ss.str());
  }
  return out;
}

TempDir::TempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "sift-test-XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  path_ = p != nullptr ? p : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

namespace {

absl::StatusOr<std::ifstream> OpenShared(const std::string& relative) {
  const std::string path = std::string(SIFT_SHARED_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(
        path,
        " is missing: this test needs the shared corpora beside the "
        "repository (../shared), or -DSIFT_SHARED_DIR=... at configure time"));
  }
  return in;
}

}  // namespace

absl::StatusOr<std::string> ReadSharedFile(const std::string& relative) {
  auto in = OpenShared(relative);
  if (!in.ok()) return in.status();
  std::stringstream ss;
  ss << in->rdbuf();
  return ss.str();
}

absl::StatusOr<std::vector<std::string>> ReadSharedLines(
    const std::string& relative) {
  auto opened = OpenShared(relative);
  if (!opened.ok()) return opened.status();
  std::ifstream& in = *opened;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(std::move(line));
  }
  return lines;
}

absl::StatusOr<std::vector<v1::DocumentInput>> CranfieldInputs() {
  auto lines = ReadSharedLines("corpora/cranfield/docs.jsonl");
  if (!lines.ok()) return lines.status();
  std::vector<v1::DocumentInput> inputs;
  inputs.reserve(lines->size());
  for (const std::string& line : *lines) inputs.emplace_back().set_json(line);
  return inputs;
}

}  // namespace sift::testing
