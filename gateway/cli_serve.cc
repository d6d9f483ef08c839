// serve: run the node's HTTPS API (gateway/api.h) and its admin listener until
// SIGTERM or SIGINT (graceful stop: in-flight requests finish, the store is flushed);
// SIGHUP reloads the TLS certificate and key.
#include <fmt/core.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

#include "config/model_config.h"
#include "config/node_config.h"
#include "crypto/attestation.h"
#include "gateway/api.h"
#include "gateway/cli.h"
#include "gateway/cross_border.h"
#include "gateway/node_keys.h"
#include "gateway/node_service.h"
#include "gateway/on_demand_task.h"
#include "gateway/server/https_server.h"
#include "gateway/store.h"

namespace cg::gateway {
namespace {

struct ServeOptions {
  std::string config_file;
};

server::ServerLimits ToServerLimits(const config::LimitsConfig& c) {
  using std::chrono::milliseconds;
  server::ServerLimits limits;
  limits.max_header_bytes = static_cast<size_t>(c.max_header_bytes);
  limits.max_body_bytes = static_cast<size_t>(c.max_body_bytes);
  limits.header_read_timeout = milliseconds(c.header_read_timeout_ms);
  limits.body_read_timeout = milliseconds(c.body_read_timeout_ms);
  limits.idle_timeout = milliseconds(c.idle_timeout_ms);
  limits.handshake_timeout = milliseconds(c.handshake_timeout_ms);
  limits.max_connections = static_cast<size_t>(c.max_connections);
  limits.max_pipelined = static_cast<size_t>(c.max_pipelined);
  limits.rate_per_second = static_cast<double>(c.client_rate_per_second);
  limits.rate_burst = static_cast<double>(c.client_burst);
  limits.shutdown_grace = milliseconds(c.shutdown_grace_ms);
  return limits;
}

// The log message as the inside of a JSON string: messages may quote input.
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (const char c : msg.payload) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            dest.append(fmt::format("\\u{:04x}", static_cast<unsigned char>(c)));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

// Operational logs go to standard error; standard output carries only the line that
// says where the node is serving.
void ConfigureLogging(const config::LogConfig& log) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("credit-gateway"));
  switch (log.level) {
    case config::LogLevel::kTrace:
      spdlog::set_level(spdlog::level::trace);
      break;
    case config::LogLevel::kDebug:
      spdlog::set_level(spdlog::level::debug);
      break;
    case config::LogLevel::kInfo:
      spdlog::set_level(spdlog::level::info);
      break;
    case config::LogLevel::kWarn:
      spdlog::set_level(spdlog::level::warn);
      break;
    case config::LogLevel::kError:
      spdlog::set_level(spdlog::level::err);
      break;
  }
  if (log.format == config::LogFormat::kJson) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","message":"%*"})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
}

// Runs `task` on its own thread now and then every `interval` until destroyed.
class PeriodicTask {
 public:
  PeriodicTask(std::chrono::milliseconds interval, std::function<void()> task)
      : interval_(interval), task_(std::move(task)), thread_([this] { Run(); }) {}
  ~PeriodicTask() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      task_();
      lock.lock();
      wake_.wait_for(lock, interval_, [&] { return stopping_; });
    }
  }
  const std::chrono::milliseconds interval_;
  const std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// /readyz is answered on an I/O thread and must not wait on the store: a small
// thread asks the service every second and keeps the answer.
class ReadinessProbe {
 public:
  explicit ReadinessProbe(NodeService& service)
      : task_(std::chrono::seconds(1), [this, &service] {
          const Status status = service.Ready();
          if (!status.ok() && ready_.load()) spdlog::warn("not ready: {}", status.message());
          ready_ = status.ok();
        }) {}
  bool ready() const { return ready_.load(); }

 private:
  std::atomic<bool> ready_{false};
  PeriodicTask task_;  // last: it runs at once, and uses ready_
};

int Serve(const ServeOptions& o) {
  auto config = config::LoadNodeConfig(o.config_file);
  if (!config.ok()) return ReportError(config.status());
  if (!config->api) {
    return ReportError(
        InvalidArgumentError(o.config_file + ": no [api] table: the node has nothing to serve"));
  }
  ConfigureLogging(config->log);
  auto keys = LoadSigningKeys(*config);
  if (!keys.ok()) return ReportError(keys.status());
  auto trust = LoadTrustList(*config, /*include_own=*/true);
  if (!trust.ok()) return ReportError(trust.status());
  auto store = Store::Open(config->store.url);
  if (!store.ok()) return ReportError(store.status());

  NodeServiceOptions service_options;
  service_options.validity = std::chrono::hours(24) * config->signing.validity_days;
  service_options.consent_required_purposes = config->policy.consent_required_purposes;
  service_options.audience_required = config->policy.default_audience_required;
  service_options.consent_required_for_peers = config->policy.consent_required_for_peers;
  // Enough store connections for every network thread (lookups and issuances read
  // there) and 16 handler threads at once; requests beyond wait for one.
  service_options.readers =
      static_cast<unsigned>(config->api->threads + std::min(config->api->handler_threads, 16)) + 1;
  // The shipped scales and the conservative translation, the home scale first.
  const config::ModelConfig model = config::DefaultModelConfig();
  service_options.scales = model.scales;
  service_options.translation = model.translation;
  const std::string_view home_scale =
      config->node.side == config::Side::kHongKong ? "hk-bureau" : "sz-six-level";
  std::stable_partition(service_options.scales.begin(), service_options.scales.end(),
                        [&](const mapping::Scale& scale) { return scale.name() == home_scale; });
  auto service = NodeService::Create(std::move(*keys), std::move(*trust), std::move(*store),
                                     std::move(service_options));
  if (!service.ok()) return ReportError(service.status());
  auto audit = AuditLog::Open(config->audit.file);
  if (!audit.ok()) return ReportError(audit.status());

  auto cross_border = CrossBorder::Create(**service, *config, CrossBorderOptionsFrom(config->peer));
  if (!cross_border.ok()) return ReportError(cross_border.status());
  ReplayGuard replay(std::chrono::seconds(config->peer.timestamp_window_seconds));

  auto metrics = std::make_shared<server::MetricsRegistry>();
  Api api(**service, **audit, *metrics, {cross_border->get(), &replay});
  ReadinessProbe readiness(**service);

  server::ServerOptions options;
  options.api_address = config->api->listen.host;
  options.api_port = config->api->listen.port;
  options.admin_address = config->admin.listen.host;
  options.admin_port = config->admin.listen.port;
  options.io_threads = config->api->threads;
  options.handler_threads = config->api->handler_threads;
  options.limits = ToServerLimits(config->limits);
  options.tls = {config->api->cert_file, config->api->key_file, config->api->client_ca_files};
  // A peer's CA issues its client certificates too; they are peers only.
  for (const config::TrustedNodeConfig& trusted : config->trust) {
    if (trusted.ca_file.empty()) continue;
    options.peer_cas.push_back({trusted.node_id, trusted.ca_file});
    auto& cas = options.tls.client_ca_files;
    if (std::find(cas.begin(), cas.end(), trusted.ca_file) == cas.end()) {
      cas.push_back(trusted.ca_file);
    }
  }
  options.roles = config->api->roles;
  options.handler = [&api](const server::HttpRequest& request) { return api.Handle(request); };
  options.readiness = [&readiness] { return readiness.ready(); };
  options.route_namer = &Api::RouteOf;
  options.async_handler = [&api](const server::HttpRequest& request, server::Responder respond) {
    api.HandleAsync(request, std::move(respond));
  };
  options.answering = [](const server::HttpRequest& request, std::string_view route) {
    return Api::AnsweringOf(request.method, route);
  };
  options.metrics = metrics;
  // After `key rotate`: sign with the new key from now on, and publish its rollover.
  // Unsealing the key set takes Argon2id's time: done on a thread of its own, not on
  // the signal's I/O strand.
  const auto reload_keys = [&] {
    auto reloaded = LoadSigningKeys(*config);
    const Status replaced =
        reloaded.ok() ? (*service)->ReplaceKeys(std::move(*reloaded)) : reloaded.status();
    if (!replaced.ok()) {
      spdlog::error("SIGHUP: key set not reloaded, still signing with the old key: {}",
                    replaced.ToString());
      return;
    }
    const cg::v1::IssuerKeys published = (*service)->PublicKeys();
    for (const auto& key : published.keys()) {
      if (key.state() == cg::v1::KEY_STATE_ACTIVE) {
        spdlog::info("SIGHUP: key set reloaded; signing with key {}", key.key_id());
      }
    }
  };
  OnDemandTask key_reloader(reload_keys);
  options.on_hangup = [&key_reloader] { key_reloader.Request(); };
  auto server = server::HttpsServer::Create(std::move(options));
  if (!server.ok()) return ReportError(server.status());

  // Keys, status lists and statements of the peers, now and then.
  std::optional<PeriodicTask> sync;
  if ((*cross_border)->peer_count() > 0 && config->peer.sync_interval_seconds > 0) {
    sync.emplace(std::chrono::seconds(config->peer.sync_interval_seconds), [&] {
      const cg::v1::PeerSyncReport report =
          (*cross_border)->Sync("sync-" + crypto::NewRandomId().substr(0, 16));
      for (const auto& peer : report.peers()) {
        if (peer.ok()) {
          spdlog::info(
              "synced with {}: {} keys added, {} recognitions superseded, {} revoked, "
              "{} statements stored",
              peer.peer_node_id(), peer.keys_added(), peer.recognitions_superseded(),
              peer.recognitions_revoked(), peer.statements_stored());
        }
      }
    });
  }

  // Tests and scripts read the bound ports from this line (port 0 in the config). It
  // is printed once the node answers and handles its signals.
  const Status ran = server::RunUntilSignalled(**server, [&] {
    fmt::print("{} ({}) serving https://{}:{} (admin http://{}:{})\n", (*service)->node_id(),
               (*service)->side(), config->api->listen.host, (*server)->api_port(),
               config->admin.listen.host, (*server)->admin_port());
    std::fflush(stdout);
  });
  spdlog::info("stopped: {} attestations issued since start", (*service)->attestations_issued());
  if (!ran.ok()) return ReportError(ran);
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ServeOptions>();
  auto* serve = app.add_subcommand(
      "serve",
      "Run the node's HTTPS API (mutual TLS) and its admin listener (/healthz, /readyz, "
      "/metrics) until SIGTERM; SIGHUP reloads the TLS certificate");
  serve->add_option("--config", o->config_file, "Node configuration (node.toml)")
      ->required()
      ->check(CLI::ExistingFile);
  serve->callback([o, &exit_code] { exit_code = Serve(*o); });
}

}  // namespace cg::gateway
