// govcredit serve: the HTTP API and the web pages (include/govcredit/api.h, docs/API.md) over
// the shards of a data directory, fed by the embedded bus (default) or by Kafka (--kafka), on
// HTTP or HTTPS, until SIGINT or SIGTERM.
#include <signal.h>
#include <sys/stat.h>

#include <iostream>
#include <thread>

#include "common.h"
#include "govcredit/api.h"
#include "govcredit/kafka.h"

#ifndef GOVCREDIT_WEB_DIR
#define GOVCREDIT_WEB_DIR "web"
#endif

namespace govcredit::cli {
namespace {

struct ServeArgs {
  ShardArgs shard;
  std::string listen = "127.0.0.1:8080";
  unsigned threads = 2;
  int partitions = 1;
  std::string kafka;
  std::string group = "govcredit-serve";
  std::string tls_cert, tls_key;
  std::string web = GOVCREDIT_WEB_DIR;
  std::string complaint_key;  // default: DATA/keys/complaints.key when it exists
  double complaints_per_minute = 6;
  double complaints_burst = 10;
  bool demo_sign_in = false;
  std::size_t body_limit = 64 * 1024;
  int timeout_s = 10;
};

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

int serve(const ServeArgs& a) {
  std::size_t colon = a.listen.rfind(':');
  if (colon == std::string::npos)
    return report(Status(Reason::kInvalidArgument, "--listen must be HOST:PORT"));
  int port = -1;
  try {
    port = std::stoi(a.listen.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535)
    return report(Status(Reason::kInvalidArgument, "--listen: bad port in '" + a.listen + "'"));
  std::string host = a.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);  // [::1]
  if (a.tls_cert.empty() != a.tls_key.empty())
    return report(Status(Reason::kInvalidArgument, "--tls-cert and --tls-key go together"));
  ::mkdir(a.shard.data.c_str(), 0755);

  auto key = ledger_key(a.shard);
  if (!key) return report(key.status());
  std::optional<PrivateKey> complaint_key;
  std::string ck_path =
      a.complaint_key.empty() ? a.shard.data + "/keys/complaints.key" : a.complaint_key;
  if (!a.complaint_key.empty() || exists(ck_path)) {
    auto k = load_private_key(ck_path);
    if (!k) return report(k.status());
    complaint_key = std::move(*k);
  }
  auto vault = KeyVault::open(a.shard.data + "/vault");
  if (!vault) return report(vault.status());

  // The transport: the embedded bus, or Kafka with an in-process ledger node writing the shards.
  std::unique_ptr<EmbeddedBus> embedded;
  std::unique_ptr<KafkaBus> kafka_bus;
  std::unique_ptr<LedgerNode> node;
  std::function<void(Partition, const std::vector<IngestResult>&)> settle;  // set below
  ApiContext ctx;
  if (a.kafka.empty()) {
    auto bus = EmbeddedBus::open(EmbeddedOptions{.data_dir = a.shard.data,
                                                 .partitions = a.partitions,
                                                 .ledger = LedgerOptions{.name = a.shard.name}});
    if (!bus) return report(bus.status());
    embedded = std::move(*bus);
    ctx.partitions = a.partitions;
    ctx.bus = embedded.get();
    ctx.embedded = embedded.get();
    ctx.shard = [b = embedded.get()](Partition p) { return &b->shard(p); };
  } else {
    KafkaConfig config;
    config.brokers = a.kafka;
    auto n = ensure_topics(config);
    if (!n) return report(n.status());
    auto bus = KafkaBus::create(config);
    if (!bus) return report(bus.status());
    kafka_bus = std::move(*bus);
    NodeOptions no;
    no.data_dir = a.shard.data;
    no.group = a.group;
    no.ledger = LedgerOptions{.name = a.shard.name};
    no.on_batch = [&settle](Partition p, const std::vector<IngestResult>& r) {
      if (settle) settle(p, r);
    };
    auto ln = LedgerNode::create(config, no);
    if (!ln) return report(ln.status());
    node = std::move(*ln);
    ctx.partitions = *n;
    ctx.bus = kafka_bus.get();
    ctx.shard = [nd = node.get()](Partition p) { return nd->shard(p); };
  }
  ctx.rules = &ScoringRules::builtin();
  ctx.ledger_key = &*key;
  ctx.complaint_key = complaint_key ? &*complaint_key : nullptr;
  ctx.vault = vault->get();
  ctx.web_dir = a.web;
  if (a.demo_sign_in) ctx.demo_identities = a.shard.data + "/demo-identities.json";
  ctx.complaints_per_minute = a.complaints_per_minute;
  ctx.complaints_burst = a.complaints_burst;
  Api api = make_api(ctx);
  settle = api.ingested;

  // Block the signals before any thread starts, so that only sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread node_thread;
  Status node_status;
  if (node)
    node_thread = std::thread([&] {
      node_status = node->run();
      if (!node_status) {
        std::cerr << "ledger node stopped: " << node_status.to_string() << "\n";
        ::kill(::getpid(), SIGTERM);
      }
    });

  http::ServerOptions so{.address = host,
                         .port = static_cast<unsigned short>(port),
                         .threads = a.threads,
                         .body_limit = a.body_limit,
                         .header_limit = 16 * 1024,
                         .timeout = std::chrono::seconds(a.timeout_s),
                         .tls = std::nullopt,
                         .observe = api.observe};
  if (!a.tls_cert.empty()) so.tls = http::TlsOptions{a.tls_cert, a.tls_key};
  auto server = http::Server::start(so, api.router);
  if (!server) {
    if (node) {
      node->stop();
      node_thread.join();
    }
    return report(server.status());
  }
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::cout << "govcredit serving " << a.shard.data << " ("
            << (node ? "Kafka " + a.kafka : "embedded bus") << ", " << ctx.partitions
            << " shard(s))\n"
            << "  open " << (so.tls ? "https" : "http") << "://" << shown << ":"
            << (*server)->port() << "/\n"
            << "  complaints: "
            << (complaint_key ? "taken, signed by " + ck_path
                              : std::string("not taken (no complaint channel key)"))
            << "\n"
            << "  Ctrl-C stops" << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  (*server)->stop();
  if (node) {
    node->stop();
    node_thread.join();
  }
  std::cout << "stopped\n";
  return node_status ? kExitOk : kExitIo;
}

}  // namespace

void register_serve(CLI::App& app, Runner& run) {
  auto a = std::make_shared<ServeArgs>();
  auto* c = app.add_subcommand(
      "serve",
      "Serve the HTTP API and the web pages over the shards of --data: the public complaint "
      "form and status look-up, the agency dashboard and the auditor's proof check for signed-in "
      "staff, and the signed JSON API (docs/API.md). Events go through the embedded bus, or "
      "through Kafka with --kafka (an in-process ledger node then writes the shards).");
  c->set_config("--config", "", "a TOML file of these options (e.g. listen = \"0.0.0.0:8443\")");
  add_shard_options(c, a->shard);
  c->add_option("--listen", a->listen, "HOST:PORT ([::1]:PORT for IPv6; port 0 picks a free one)")
      ->capture_default_str();
  c->add_option("--threads", a->threads, "server threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  c->add_option("--partitions", a->partitions, "embedded bus partitions (ignored with --kafka)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  c->add_option("--kafka", a->kafka,
                "Kafka brokers (HOST:PORT,...): publish there and run a "
                "ledger node in this process");
  c->add_option("--group", a->group, "the ledger node's consumer group (with --kafka)")
      ->capture_default_str();
  c->add_option("--tls-cert", a->tls_cert, "PEM certificate chain: serve HTTPS (docs/API.md §1)");
  c->add_option("--tls-key", a->tls_key, "PEM private key of the certificate");
  c->add_option("--web", a->web, "directory of the web pages")->capture_default_str();
  c->add_option("--complaint-key", a->complaint_key,
                "the complaint channel's private key (default DATA/keys/complaints.key when "
                "present; without one no complaints are taken)");
  c->add_option("--complaints-per-minute", a->complaints_per_minute,
                "complaints per client address per minute (token bucket)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100000.0));
  c->add_option("--complaints-burst", a->complaints_burst, "the bucket's size")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 100000.0));
  c->add_option("--body-limit", a->body_limit, "largest request body, bytes")
      ->capture_default_str()
      ->check(CLI::Range(1024, 16 * 1024 * 1024));
  c->add_option("--timeout", a->timeout_s, "seconds to receive a request or send a response")
      ->capture_default_str()
      ->check(CLI::Range(1, 600));
  c->add_flag("--demo-sign-in", a->demo_sign_in,
              "offer the demo's test identities (DATA/demo-identities.json) for one-click "
              "sign-in; for demo data only");
  c->callback([&run, a] { run = [a] { return serve(*a); }; });
}

}  // namespace govcredit::cli
