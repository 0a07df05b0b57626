// tensordctl: the operator's command line for a running daemon, over its
// Admin service (status, sessions, kill, drain) and Runtime.Handshake
// (version). Human-readable tables by default, one JSON object with --json.
//
// Exit codes (docs/operations.md, "tensordctl"): 0 done; 1 the daemon
// refused or failed the request (not an admin, no such session, ...);
// 2 the daemon cannot be reached; 3 `drain --wait` ran out of time with
// sessions still open; 64 bad usage (EX_USAGE of sysexits.h).
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "server/cli_tls.h"
#include "tensord/v1/admin.grpc.pb.h"
#include "tensord/v1/runtime.grpc.pb.h"

namespace {

using nlohmann::json;

enum ExitCode { kOk = 0, kRefused = 1, kUnreachable = 2, kDrainTimedOut = 3, kUsage = 64 };

constexpr const char* kDefaultAddress = "127.0.0.1:7070";

// ------------------------------------------------------------- formatting

std::string Format(const char* fmt, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, value);
  return buf;
}

// 1536 -> "1.5 KiB"; exact bytes below 1 KiB.
std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  return Format(v < 10 ? "%.1f" : "%.0f", v) + " " + kUnits[unit];
}

// 4.2 -> "4.2s", 3723 -> "1h02m03s", 200000 -> "2d07h33m".
std::string HumanDuration(double seconds) {
  if (seconds < 60) return Format("%.1fs", seconds);
  auto s = static_cast<uint64_t>(seconds);
  char buf[64];
  if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", s / 3600,
                  s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "d%02" PRIu64 "h%02" PRIu64 "m", s / 86400,
                  s / 3600 % 24, s / 60 % 60);
  }
  return buf;
}

// Columns padded to their widest cell; numeric columns right-aligned.
class Table {
 public:
  struct Column {
    std::string header;
    bool right = false;
  };
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print() const {
    std::vector<size_t> width(columns_.size());
    for (size_t c = 0; c < columns_.size(); ++c) width[c] = columns_[c].header.size();
    for (const auto& row : rows_) {
      for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    }
    auto line = [&](auto cell) {
      std::string out;
      for (size_t c = 0; c < columns_.size(); ++c) {
        const std::string text = cell(c);
        const std::string pad(width[c] - text.size(), ' ');
        const bool last = c + 1 == columns_.size();
        out += columns_[c].right ? pad + text : last ? text : text + pad;
        if (!last) out += "  ";
      }
      std::printf("%s\n", out.c_str());
    };
    line([&](size_t c) { return columns_[c].header; });
    for (const auto& row : rows_) line([&](size_t c) { return row[c]; });
  }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// ------------------------------------------------------------- the calls

struct Options {
  std::string address;
  std::string token;
  double timeout_seconds = 10;
  bool json = false;
  tensord::cli::TlsFlags tls;
};

class Daemon {
 public:
  Daemon(const Options& options, std::shared_ptr<grpc::Channel> channel)
      : options_(options),
        admin_(tensord::v1::Admin::NewStub(channel)),
        runtime_(tensord::v1::Runtime::NewStub(channel)) {}

  // Runs one Admin call: `call(stub, ctx)` returns its grpc::Status.
  template <typename Call>
  grpc::Status Admin(Call call) {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    return call(*admin_, &ctx);
  }
  template <typename Call>
  grpc::Status Runtime(Call call) {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    return call(*runtime_, &ctx);
  }

  // Prints why `status` failed and returns the exit code for it.
  int Fail(const grpc::Status& status) const {
    const std::string& address = options_.address;
    const std::string& message = status.error_message();
    switch (status.error_code()) {
      case grpc::StatusCode::UNAVAILABLE:
        std::fprintf(stderr, "tensordctl: cannot reach a tensord daemon at %s: %s%s\n",
                     address.c_str(), message.c_str(), TlsHint(message).c_str());
        return kUnreachable;
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        std::fprintf(stderr,
                     "tensordctl: no answer from %s within %g s (--timeout): is a tensord daemon "
                     "listening there?\n",
                     address.c_str(), options_.timeout_seconds);
        return kUnreachable;
      case grpc::StatusCode::UNAUTHENTICATED:
        std::fprintf(stderr,
                     "tensordctl: %s refused the token: %s (pass an admin tenant's --token, or "
                     "set TENSORD_TOKEN)\n",
                     address.c_str(), message.c_str());
        return kRefused;
      case grpc::StatusCode::PERMISSION_DENIED:
        std::fprintf(stderr, "tensordctl: permission denied by %s: %s\n", address.c_str(),
                     message.c_str());
        return kRefused;
      case grpc::StatusCode::UNIMPLEMENTED:
        std::fprintf(stderr, "tensordctl: %s does not implement this call (an older daemon?): %s\n",
                     address.c_str(), message.c_str());
        return kRefused;
      default:
        std::fprintf(stderr, "tensordctl: %s (%s)\n", message.c_str(),
                     StatusCodeName(status.error_code()));
        return kRefused;
    }
  }

 private:
  static const char* StatusCodeName(grpc::StatusCode code) {
    switch (code) {
      case grpc::StatusCode::NOT_FOUND:
        return "NOT_FOUND";
      case grpc::StatusCode::INVALID_ARGUMENT:
        return "INVALID_ARGUMENT";
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return "RESOURCE_EXHAUSTED";
      case grpc::StatusCode::FAILED_PRECONDITION:
        return "FAILED_PRECONDITION";
      case grpc::StatusCode::INTERNAL:
        return "INTERNAL";
      default:
        return "gRPC error";
    }
  }

  // Something listened and hung up, or the handshake failed: most often a
  // TLS mismatch, which the bare gRPC message does not say.
  std::string TlsHint(const std::string& message) const {
    const bool hung_up = message.find("Socket closed") != std::string::npos ||
                         message.find("Connection reset") != std::string::npos;
    const bool handshake = message.find("SSL") != std::string::npos ||
                           message.find("ssl") != std::string::npos ||
                           message.find("andshake") != std::string::npos ||
                           message.find("certificate") != std::string::npos;
    if (!options_.tls.enabled && (hung_up || handshake)) {
      return " (does it serve TLS? pass --tls-ca or --tls, or set TENSORD_TLS_CA)";
    }
    if (options_.tls.enabled && hung_up && options_.tls.cert.empty()) {
      return " (does it require a client certificate? pass --tls-cert and --tls-key)";
    }
    if (options_.tls.enabled && (hung_up || handshake)) {
      return " (check --tls-ca, --tls-server-name and the client certificate)";
    }
    return "";
  }

  void Prepare(grpc::ClientContext* ctx) const {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(
                          static_cast<int64_t>(std::llround(options_.timeout_seconds * 1000))));
    if (!options_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + options_.token);
  }

  const Options& options_;
  std::unique_ptr<tensord::v1::Admin::Stub> admin_;
  std::unique_ptr<tensord::v1::Runtime::Stub> runtime_;
};

void PrintJson(const json& j) { std::printf("%s\n", j.dump(2).c_str()); }

// ------------------------------------------------------------- commands

int Status(const Options& options, Daemon& daemon) {
  tensord::v1::StatusResponse resp;
  grpc::Status st = daemon.Admin(
      [&](auto& stub, auto* ctx) { return stub.Status(ctx, tensord::v1::StatusRequest(), &resp); });
  if (!st.ok()) return daemon.Fail(st);
  json devices = json::array();
  for (int i = 0; i < resp.devices_size(); ++i) {
    const auto& d = resp.devices(i);
    const tensord::v1::DeviceMemory* m = i < resp.memory_size() ? &resp.memory(i) : nullptr;
    std::string name = d.kind() == "cpu" ? "cpu" : d.kind() + ":" + std::to_string(d.index());
    devices.push_back({{"device", m ? m->device() : name},
                       {"name", d.name()},
                       {"total_memory_bytes", d.total_memory()},
                       {"in_use_bytes", m ? m->tracked_bytes() : 0},
                       {"reserved_bytes",
                        m && m->has_reserved_bytes() ? json(m->reserved_bytes()) : json(nullptr)}});
  }
  if (options.json) {
    PrintJson({{"address", options.address},
               {"daemon_version", resp.daemon_version()},
               {"uptime_seconds", resp.uptime_seconds()},
               {"draining", resp.draining()},
               {"session_count", resp.session_count()},
               {"tracked_bytes", resp.tracked_bytes()},
               {"devices", devices}});
    return kOk;
  }
  std::printf("daemon    %s at %s\n", resp.daemon_version().c_str(), options.address.c_str());
  std::printf("state     %s\n", resp.draining() ? "draining (takes no new sessions)" : "serving");
  std::printf("uptime    %s\n", HumanDuration(resp.uptime_seconds()).c_str());
  std::printf("sessions  %u\n", resp.session_count());
  std::printf("memory    %s held by sessions' tensors\n\n",
              HumanBytes(resp.tracked_bytes()).c_str());
  Table table({{"DEVICE"}, {"NAME"}, {"TOTAL", true}, {"IN USE", true}, {"RESERVED", true}});
  for (const json& d : devices) {
    table.Add(
        {d["device"].get<std::string>(), d["name"].get<std::string>(),
         HumanBytes(d["total_memory_bytes"].get<uint64_t>()),
         HumanBytes(d["in_use_bytes"].get<uint64_t>()),
         d["reserved_bytes"].is_null() ? "-" : HumanBytes(d["reserved_bytes"].get<uint64_t>())});
  }
  table.Print();
  return kOk;
}

int Sessions(const Options& options, Daemon& daemon) {
  tensord::v1::ListSessionsResponse resp;
  grpc::Status st = daemon.Admin([&](auto& stub, auto* ctx) {
    return stub.ListSessions(ctx, tensord::v1::ListSessionsRequest(), &resp);
  });
  if (!st.ok()) return daemon.Fail(st);
  if (options.json) {
    json sessions = json::array();
    for (const auto& s : resp.sessions()) {
      sessions.push_back({{"id", s.id_prefix()},
                          {"tenant", s.tenant()},
                          {"client_name", s.client_name()},
                          {"client_peer", s.client_peer()},
                          {"memory_bytes", s.memory_bytes()},
                          {"live_tensors", s.live_tensors()},
                          {"ops_executed", s.ops_executed()},
                          {"ops_per_second", s.ops_per_second()},
                          {"age_seconds", s.age_seconds()},
                          {"attached", s.attached()}});
    }
    PrintJson({{"address", options.address}, {"sessions", sessions}});
    return kOk;
  }
  if (resp.sessions().empty()) {
    std::printf("no sessions\n");
    return kOk;
  }
  Table table({{"ID"},
               {"TENANT"},
               {"CLIENT"},
               {"MEMORY", true},
               {"TENSORS", true},
               {"OPS/S", true},
               {"AGE", true},
               {"STREAM"},
               {"PEER"}});
  for (const auto& s : resp.sessions()) {
    table.Add({s.id_prefix(), s.tenant(), s.client_name().empty() ? "-" : s.client_name(),
               HumanBytes(s.memory_bytes()), std::to_string(s.live_tensors()),
               Format("%.1f", s.ops_per_second()), HumanDuration(s.age_seconds()),
               s.attached() ? "attached" : "detached",
               s.client_peer().empty() ? "-" : s.client_peer()});
  }
  table.Print();
  return kOk;
}

int Kill(const Options& options, Daemon& daemon, const std::string& session) {
  tensord::v1::KillSessionRequest req;
  req.set_session_id(session);
  tensord::v1::KillSessionResponse resp;
  grpc::Status st =
      daemon.Admin([&](auto& stub, auto* ctx) { return stub.KillSession(ctx, req, &resp); });
  if (!st.ok()) return daemon.Fail(st);
  if (options.json) {
    PrintJson({{"killed", resp.id_prefix()}});
  } else {
    std::printf("killed session %s\n", resp.id_prefix().c_str());
  }
  return kOk;
}

int Drain(const Options& options, Daemon& daemon, double wait_seconds) {
  tensord::v1::DrainResponse resp;
  grpc::Status st = daemon.Admin(
      [&](auto& stub, auto* ctx) { return stub.Drain(ctx, tensord::v1::DrainRequest(), &resp); });
  if (!st.ok()) return daemon.Fail(st);
  uint32_t open = resp.open_sessions();
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::milliseconds(std::llround(wait_seconds * 1000));
  if (wait_seconds > 0 && open > 0 && !options.json) {
    std::fprintf(stderr, "draining: waiting up to %g s for %u session(s) to close\n", wait_seconds,
                 open);
  }
  while (wait_seconds > 0 && open > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    tensord::v1::ListSessionsResponse list;
    st = daemon.Admin([&](auto& stub, auto* ctx) {
      return stub.ListSessions(ctx, tensord::v1::ListSessionsRequest(), &list);
    });
    if (!st.ok()) return daemon.Fail(st);
    open = static_cast<uint32_t>(list.sessions_size());
  }
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const bool timed_out = wait_seconds > 0 && open > 0;
  if (options.json) {
    json out = {
        {"draining", true}, {"already_draining", resp.already_draining()}, {"open_sessions", open}};
    if (wait_seconds > 0) {
      out["waited_seconds"] = waited;
      out["timed_out"] = timed_out;
    }
    PrintJson(out);
  } else {
    std::printf("%s %s: it takes no new sessions and readiness reports NOT_SERVING\n",
                resp.already_draining() ? "already draining" : "draining", options.address.c_str());
    std::printf("%u session(s) open%s\n", open,
                timed_out   ? Format(" after waiting %.0f s", waited).c_str()
                : open == 0 ? ": safe to stop the daemon"
                            : " (they keep running until their clients close them)");
  }
  return timed_out ? kDrainTimedOut : kOk;
}

int Version(const Options& options, Daemon& daemon) {
  tensord::v1::HandshakeRequest req;
  req.set_protocol_major(1);  // tensord.v1
  req.set_client_name("tensordctl");
  req.set_client_version(TENSORD_VERSION_STRING);
  tensord::v1::HandshakeResponse resp;
  grpc::Status st =
      daemon.Runtime([&](auto& stub, auto* ctx) { return stub.Handshake(ctx, req, &resp); });
  if (options.json) {
    json out = {{"client_version", TENSORD_VERSION_STRING}, {"address", options.address}};
    out["daemon_version"] = st.ok() ? json(resp.daemon_version()) : json(nullptr);
    if (st.ok()) {
      out["protocol"] =
          std::to_string(resp.protocol_major()) + "." + std::to_string(resp.protocol_minor());
      out["op_schema_version"] = resp.op_schema_version();
    } else {
      out["daemon_error"] = st.error_message();
    }
    PrintJson(out);
  } else {
    std::printf("tensordctl %s\n", TENSORD_VERSION_STRING);
    if (st.ok()) {
      std::printf("daemon     %s at %s (protocol %u.%u, op schema %s)\n",
                  resp.daemon_version().c_str(), options.address.c_str(), resp.protocol_major(),
                  resp.protocol_minor(), resp.op_schema_version().c_str());
    } else {
      std::printf("daemon     unknown: %s answered %s\n", options.address.c_str(),
                  st.error_message().c_str());
    }
  }
  // The client's own version always prints; the daemon's is extra, so an
  // unreachable daemon still fails the command for scripts that check it.
  return st.ok() ? kOk : daemon.Fail(st);
}

bool PrintableToken(const std::string& token) {
  for (unsigned char c : token) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tensordctl: inspect and manage a running tensord daemon (docs/operations.md)"};
  app.set_version_flag("--version", std::string("tensordctl ") + TENSORD_VERSION_STRING);
  // At most one here, exactly one checked after parsing: with require_subcommand(1)
  // an unknown command would be reported as a missing one.
  app.require_subcommand(0, 1);
  app.failure_message(CLI::FailureMessage::help);  // bad usage prints the usage
  // Global options may follow the command too: `tensordctl status --json`.
  app.fallthrough();
  app.footer(
      "Exit codes: 0 done, 1 refused by the daemon (not an admin, no such session), 2 daemon "
      "unreachable, 3 drain --wait timed out, 64 bad usage.");
  Options options;
  if (const char* v = std::getenv("TENSORD_ADDR"); v && *v) options.address = v;
  if (options.address.empty()) options.address = kDefaultAddress;
  app.add_option(
      "--address", options.address,
      "HOST:PORT or unix:PATH of the daemon (default $TENSORD_ADDR, else 127.0.0.1:7070)");
  app.add_option("--token", options.token,
                 "an admin tenant's token, when the daemon has a tenants file (default "
                 "$TENSORD_TOKEN)");
  app.add_option("--timeout", options.timeout_seconds,
                 "seconds to wait for each answer (default 10)")
      ->check(CLI::Range(0.001, 86400.0));
  app.add_flag("--json", options.json, "print one JSON object instead of tables");
  tensord::cli::AddTlsOptions(app, &options.tls);

  app.add_subcommand("status",
                     "version, devices, memory in use and reserved per device, sessions, "
                     "uptime, and whether the daemon is draining");
  app.add_subcommand("sessions",
                     "one row per session: id, tenant, client, memory, tensors, ops/s, "
                     "age, stream, peer");
  CLI::App* kill = app.add_subcommand("kill",
                                      "end a session: its stream ends with ABORTED and "
                                      "its memory is freed");
  std::string session;
  kill->add_option("SESSION", session,
                   "the session's id, or its first 8+ hex digits (as `sessions` "
                   "shows)")
      ->required();
  CLI::App* drain = app.add_subcommand(
      "drain",
      "stop taking new sessions and report NOT_SERVING to readiness probes; open "
      "sessions keep running. There is no undrain: restart the daemon");
  double wait_seconds = 0;
  drain
      ->add_option("--wait", wait_seconds,
                   "then wait up to SECONDS for the open sessions to close (exit 3 if some "
                   "remain)")
      ->check(CLI::Range(0.0, 7 * 86400.0));
  app.add_subcommand("version", "this client's version, and the daemon's when it answers");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, the version, or the error and usage
    return rc == 0 ? kOk : kUsage;
  }
  // CLI11's range checks let NaN through.
  if (!std::isfinite(options.timeout_seconds) || !std::isfinite(wait_seconds)) {
    std::fprintf(stderr, "tensordctl: --timeout and --wait take a number of seconds\n");
    return kUsage;
  }
  if (app.get_subcommands().empty()) {
    std::fprintf(stderr,
                 "tensordctl: a command is required (status, sessions, kill, drain, version)\n%s",
                 app.help().c_str());
    return kUsage;
  }
  if (options.token.empty()) {
    if (const char* v = std::getenv("TENSORD_TOKEN"); v && *v) options.token = v;
  }
  if (!PrintableToken(options.token)) {
    std::fprintf(stderr, "tensordctl: the token may hold only printable ASCII without spaces\n");
    return kUsage;
  }
  tensord::cli::ApplyTlsEnvironment(&options.tls);
  if (std::string err = tensord::cli::FinishTlsFlags(&options.tls); !err.empty()) {
    std::fprintf(stderr, "tensordctl: %s\n", err.c_str());
    return kUsage;
  }
  std::string err;
  auto credentials = tensord::cli::MakeCredentials(options.tls, &err);
  if (!credentials) {
    std::fprintf(stderr, "tensordctl: %s\n", err.c_str());
    return kUsage;
  }
  Daemon daemon(options, tensord::cli::MakeChannel(options.address, options.tls, credentials));

  const std::string command = app.get_subcommands().front()->get_name();
  if (command == "status") return Status(options, daemon);
  if (command == "sessions") return Sessions(options, daemon);
  if (command == "kill") return Kill(options, daemon, session);
  if (command == "drain") return Drain(options, daemon, wait_seconds);
  return Version(options, daemon);
}
