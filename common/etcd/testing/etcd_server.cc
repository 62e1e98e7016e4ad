#include "common/etcd/testing/etcd_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/etcd/client.h"

extern char** environ;

namespace sift::etcd::testing {
namespace {

// Generous, for sanitizer builds on loaded machines; a healthy etcd answers
// within a second or two.
constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStopTimeout = absl::Seconds(10);
// Tries with fresh ports when another process took one between picking it
// and etcd binding it.
constexpr int kStartAttempts = 5;

std::string EtcdBinary() {
  const char* binary = getenv("SIFT_ETCD_BINARY");
  return binary != nullptr && *binary != '\0' ? binary : "/usr/bin/etcd";
}

std::string LoopbackUrl(int port) {
  return absl::StrCat("http://127.0.0.1:", port);
}

// `n` distinct loopback ports that were free a moment ago: all bound at
// once, so that the kernel cannot hand out one of them twice.
std::vector<int> PickFreePorts(int n) {
  std::vector<int> fds;
  std::vector<int> ports;
  for (int i = 0; i < n; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      break;
    }
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) close(fd);
  if (static_cast<int>(ports.size()) != n) return {};
  return ports;
}

absl::StatusOr<std::string> MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  if (base == nullptr || *base == '\0') base = getenv("TMPDIR");
  if (base == nullptr || *base == '\0') base = "/tmp";
  std::string templ = absl::StrCat(base, "/sift-etcd-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("mkdtemp ", templ, ": ", std::strerror(errno)));
  }
  return templ;
}

// Distinct per cluster (from a data folder's unique name), so that members
// of two test clusters never take each other's messages for their own.
std::string ClusterToken(const std::string& dir) {
  return absl::StrCat("sift-", std::filesystem::path(dir).filename().string());
}

// True once every thread of `pid` is stopped (state T in /proc), so that
// nothing of the process runs any more.
bool AllThreadsStopped(pid_t pid) {
  std::error_code error;
  const std::filesystem::path tasks = absl::StrCat("/proc/", pid, "/task");
  for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
    std::ifstream stat(task.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;  // The thread exited.
    // The state follows the command name, which is in parentheses and may
    // hold spaces: "pid (comm) S ...".
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size()) return false;
    const char state = line[paren + 2];
    if (state != 'T' && state != 't' && state != 'Z' && state != 'X') {
      return false;
    }
  }
  return !error;
}

bool PortCollision(const std::string& log) {
  return absl::StrContains(log, "address already in use");
}

}  // namespace

int PickFreePort() {
  std::vector<int> ports = PickFreePorts(1);
  return ports.empty() ? 0 : ports.front();
}

absl::StatusOr<std::unique_ptr<EtcdServer>> EtcdServer::Start() {
  absl::Status status;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    const std::vector<int> ports = PickFreePorts(2);
    if (ports.empty()) return absl::UnavailableError("no free loopback port");
    absl::StatusOr<std::string> dir = MakeTempDir();
    if (!dir.ok()) return dir.status();
    std::unique_ptr<EtcdServer> server(
        new EtcdServer("etcd", *dir, ports[0], ports[1]));
    status = server->Spawn(
        absl::StrCat(server->name_, "=", LoopbackUrl(server->peer_port_)),
        ClusterToken(*dir));
    if (status.ok()) status = server->WaitUntilServing(kStartTimeout);
    if (status.ok()) return server;
    if (!PortCollision(server->LogTail())) return status;
  }
  return status;
}

EtcdServer::EtcdServer(std::string name, std::string dir, int client_port,
                       int peer_port)
    : name_(std::move(name)),
      dir_(std::move(dir)),
      client_port_(client_port),
      peer_port_(peer_port) {}

EtcdServer::~EtcdServer() {
  if (running()) {
    // A failure leaves nothing to do but remove the folder.
    Kill().IgnoreError();
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string EtcdServer::endpoint() const {
  return absl::StrCat("127.0.0.1:", client_port_);
}

std::string EtcdServer::log_path() const {
  return absl::StrCat(dir_, "/etcd.log");
}

absl::Status EtcdServer::Spawn(const std::string& initial_cluster,
                               const std::string& cluster_token) {
  const std::string binary = EtcdBinary();
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("etcd binary ", binary,
                     " not found or not executable: install the Debian package "
                     "etcd-server (scripts/lib/common.sh installs it) or set "
                     "SIFT_ETCD_BINARY"));
  }
  initial_cluster_ = initial_cluster;
  cluster_token_ = cluster_token;
  const std::string client_url = LoopbackUrl(client_port_);
  const std::string peer_url = LoopbackUrl(peer_port_);
  std::vector<std::string> args = {binary};
  auto flag = [&args](std::string name, std::string value) {
    args.push_back(std::move(name));
    args.push_back(std::move(value));
  };
  flag("--name", name_);
  flag("--data-dir", absl::StrCat(dir_, "/data"));
  flag("--listen-client-urls", client_url);
  flag("--advertise-client-urls", client_url);
  flag("--listen-peer-urls", peer_url);
  flag("--initial-advertise-peer-urls", peer_url);
  flag("--initial-cluster", initial_cluster_);
  flag("--initial-cluster-state", "new");
  flag("--initial-cluster-token", cluster_token_);
  // Half of etcd's defaults: a single member elects itself sooner, and a
  // cluster replaces a stopped leader sooner; still far above loopback round
  // trips under sanitizers.
  flag("--heartbeat-interval", "50");
  flag("--election-timeout", "500");
  // Tests compact explicitly, when they mean to.
  flag("--auto-compaction-retention", "0");
  // Keeps the raft log that etcd holds in memory small.
  flag("--snapshot-count", "10000");
  flag("--logger", "zap");
  flag("--log-outputs", "stderr");
  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls are allowed, as the test has threads.
  std::vector<char*> argv;
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // etcd reads ETCD_* variables as flags, and refuses ones that repeat a
  // flag: the test's environment must not configure it.
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "ETCD_")) envp.push_back(*e);
  }
  envp.push_back(nullptr);

  const std::string log = log_path();
  const int log_fd =
      open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(
        absl::StrCat("open ", log, ": ", std::strerror(errno)));
  }
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // The child dies with the thread that started it, even on a crash.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    // A test may block signals (SIGTERM for its servers); etcd must not
    // inherit that.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  const int fork_errno = errno;
  close(log_fd);
  if (null_fd >= 0) close(null_fd);
  if (pid < 0) {
    return absl::InternalError(
        absl::StrCat("fork: ", std::strerror(fork_errno)));
  }
  pid_ = pid;
  paused_ = false;
  return absl::OkStatus();
}

absl::Status EtcdServer::WaitUntilServing(absl::Duration timeout) {
  ClientOptions options;
  options.call_timeout = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect(endpoint(), options);
  if (!client.ok()) return client.status();
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last;
  while (true) {
    if (Exited()) {
      return absl::UnavailableError(
          absl::StrCat("etcd ", name_, " (", endpoint(),
                       ") exited while starting; the end of ", log_path(),
                       ":\n", LogTail()));
    }
    // A linearizable read answers once the member has a leader and has
    // caught up with it.
    last = (*client)->Get("sift-etcd-testing-probe").status();
    if (last.ok()) return absl::OkStatus();
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::UnavailableError(
      absl::StrCat("etcd ", name_, " (", endpoint(), ") did not answer within ",
                   absl::FormatDuration(timeout), " (last: ", last.ToString(),
                   "); the end of ", log_path(), ":\n", LogTail()));
}

bool EtcdServer::Exited() {
  if (pid_ <= 0) return true;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
  pid_ = -1;
  paused_ = false;
  return true;
}

std::string EtcdServer::LogTail() const {
  constexpr std::streamoff kTail = 3000;
  std::ifstream in(log_path(), std::ios::binary);
  if (!in) return "(no log)";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(size > kTail ? size - kTail : 0);
  std::stringstream tail;
  tail << in.rdbuf();
  return tail.str();
}

absl::Status EtcdServer::Stop() {
  if (!running()) {
    return absl::FailedPreconditionError(
        absl::StrCat("etcd ", name_, " is not running"));
  }
  kill(pid_, SIGTERM);
  // A paused process only acts on the SIGTERM once it runs again.
  if (paused_) kill(pid_, SIGCONT);
  const absl::Time deadline = absl::Now() + kStopTimeout;
  while (!Exited()) {
    if (absl::Now() >= deadline) return Kill();
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::OkStatus();
}

absl::Status EtcdServer::Kill() {
  if (!running()) {
    return absl::FailedPreconditionError(
        absl::StrCat("etcd ", name_, " is not running"));
  }
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  paused_ = false;
  return absl::OkStatus();
}

absl::Status EtcdServer::Restart() {
  if (running()) {
    return absl::FailedPreconditionError(
        absl::StrCat("etcd ", name_, " is still running"));
  }
  absl::Status status = Spawn(initial_cluster_, cluster_token_);
  if (status.ok()) status = WaitUntilServing(kStartTimeout);
  if (!status.ok() && running()) {
    // The error says what went wrong; a member half up helps no one.
    Kill().IgnoreError();
  }
  return status;
}

absl::Status EtcdServer::Pause() {
  if (!running()) {
    return absl::FailedPreconditionError(
        absl::StrCat("etcd ", name_, " is not running"));
  }
  if (kill(pid_, SIGSTOP) != 0) {
    return absl::InternalError(absl::StrCat("SIGSTOP: ", std::strerror(errno)));
  }
  paused_ = true;
  // kill() returns once the signal is queued; a thread already running on
  // another core can still answer a request before it stops. Callers expect
  // silence from the moment Pause returns, so wait for every thread.
  const absl::Time deadline = absl::Now() + kStopTimeout;
  while (!AllThreadsStopped(pid_)) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("etcd ", name_, " did not stop after SIGSTOP"));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return absl::OkStatus();
}

absl::Status EtcdServer::Resume() {
  if (!running()) {
    return absl::FailedPreconditionError(
        absl::StrCat("etcd ", name_, " is not running"));
  }
  if (kill(pid_, SIGCONT) != 0) {
    return absl::InternalError(absl::StrCat("SIGCONT: ", std::strerror(errno)));
  }
  paused_ = false;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(int size) {
  if (size < 1) {
    return absl::InvalidArgumentError("an etcd cluster needs a member");
  }
  absl::Status status;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    const std::vector<int> ports = PickFreePorts(2 * size);
    if (ports.empty()) return absl::UnavailableError("no free loopback port");
    std::vector<std::unique_ptr<EtcdServer>> members;
    std::vector<std::string> initial_cluster;
    for (int i = 0; i < size; ++i) {
      absl::StatusOr<std::string> dir = MakeTempDir();
      if (!dir.ok()) return dir.status();
      members.emplace_back(new EtcdServer(absl::StrCat("m", i), *dir,
                                          ports[2 * i], ports[2 * i + 1]));
      initial_cluster.push_back(absl::StrCat(members.back()->name_, "=",
                                             LoopbackUrl(ports[2 * i + 1])));
    }
    const std::string initial = absl::StrJoin(initial_cluster, ",");
    const std::string token = ClusterToken(members.front()->dir_);
    // Every member must run before any can answer: none has a quorum alone.
    status = absl::OkStatus();
    for (auto& member : members) {
      if (status.ok()) status = member->Spawn(initial, token);
    }
    for (auto& member : members) {
      if (status.ok()) status = member->WaitUntilServing(kStartTimeout);
    }
    if (status.ok()) {
      return std::unique_ptr<EtcdCluster>(new EtcdCluster(std::move(members)));
    }
    bool collision = false;
    for (auto& member : members) collision |= PortCollision(member->LogTail());
    if (!collision) return status;
  }
  return status;
}

std::string EtcdCluster::endpoints() const {
  return absl::StrJoin(members_, ",", [](std::string* out, const auto& member) {
    absl::StrAppend(out, member->endpoint());
  });
}

}  // namespace sift::etcd::testing
