// govcredit serve: the HTTP API and the web pages (include/govcredit/api.h, docs/API.md) over
// the shards of a data directory, fed by the embedded bus (default) or by Kafka (--kafka), on
// HTTP or HTTPS, until SIGINT or SIGTERM.
#include <signal.h>
#include <sys/stat.h>

#include <toml++/toml.h>
#include <iostream>
#include <map>
#include <set>
#include <thread>
#include <type_traits>

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
  std::map<std::string, std::string> kafka_set;  // --kafka-set, or the table kafka-set
  std::string group = "govcredit-serve";
  std::string topic = "govcredit.events";
  std::string rejected_topic = "govcredit.rejected";
  Durability durability = Durability::kOnReturn;  // of the in-process node's shards (--kafka)
  std::size_t warm_heap = 0;                      // of the in-process node (--kafka)
  std::string tls_cert, tls_key;
  std::string web = GOVCREDIT_WEB_DIR;
  std::string complaint_key;  // default: DATA/keys/complaints.key when it exists
  double complaints_per_minute = 6;
  double complaints_burst = 10;
  bool demo_sign_in = false;
  std::size_t body_limit = 64 * 1024;
  int timeout_s = 10;
  std::string config;
};

// --config FILE: a TOML table of the options by their long names (listen = "0.0.0.0:8443",
// threads = 4, tls-cert = "...", demo-sign-in = false). An option also given on the command line
// keeps the command line's value. An unknown key or a value of the wrong type is an error.
Status apply_config(const CLI::App& cmd, ServeArgs& a) {
  toml::table doc;
  try {
    doc = toml::parse_file(a.config);
  } catch (const toml::parse_error& e) {
    return Status(Reason::kInvalidArgument,
                  "--config " + a.config + ": " + std::string(e.description()));
  }
  Status problem;
  static const std::set<std::string> kKnown = {"data",
                                               "name",
                                               "listen",
                                               "threads",
                                               "partitions",
                                               "kafka",
                                               "kafka-set",
                                               "group",
                                               "topic",
                                               "rejected-topic",
                                               "durability",
                                               "warm-heap",
                                               "tls-cert",
                                               "tls-key",
                                               "web",
                                               "complaint-key",
                                               "complaints-per-minute",
                                               "complaints-burst",
                                               "body-limit",
                                               "timeout",
                                               "demo-sign-in"};
  auto set = [&](const std::string& key, const toml::node& v) -> bool {
    if (!kKnown.count(key)) {
      problem = Status(Reason::kInvalidArgument, "--config " + a.config + ": unknown option '" +
                                                     key + "' (see govcredit serve --help)");
      return false;
    }
    if (cmd.count("--" + key) > 0) return true;  // the command line wins
    auto str = [&](std::string& out) {
      if (auto x = v.value<std::string>()) out = *x;
      return v.is_string();
    };
    auto num = [&](auto& out) {
      if (auto x = v.value<double>(); x && (v.is_integer() || v.is_floating_point())) {
        out = static_cast<std::remove_reference_t<decltype(out)>>(*x);
        return true;
      }
      return false;
    };
    if (key == "data") return str(a.shard.data);
    if (key == "name") return str(a.shard.name);
    if (key == "listen") return str(a.listen);
    if (key == "threads") return num(a.threads) && a.threads >= 1 && a.threads <= 64;
    if (key == "partitions") return num(a.partitions) && a.partitions >= 1 && a.partitions <= 64;
    if (key == "kafka") return str(a.kafka);
    if (key == "kafka-set") {  // a table of librdkafka properties, each a string
      const toml::table* t = v.as_table();
      if (t == nullptr) return false;
      for (const auto& [name, value] : *t) {
        if (!value.is_string() || name.str() == "bootstrap.servers") return false;
        a.kafka_set[std::string(name.str())] = *value.value<std::string>();
      }
      return true;
    }
    if (key == "group") return str(a.group);
    if (key == "topic") return str(a.topic);
    if (key == "rejected-topic") return str(a.rejected_topic);
    if (key == "durability") {
      auto d = v.value<std::string>() ? durability_named(*v.value<std::string>()) : std::nullopt;
      if (d) a.durability = *d;
      return d.has_value();
    }
    if (key == "warm-heap") {  // bytes, or a string with a unit ("1536MiB")
      std::optional<std::size_t> n;
      if (auto x = v.value<std::int64_t>(); x && v.is_integer())
        n = size_named(std::to_string(*x));
      else if (auto t = v.value<std::string>())
        n = size_named(*t);
      if (n) a.warm_heap = *n;
      return n.has_value();
    }
    if (key == "tls-cert") return str(a.tls_cert);
    if (key == "tls-key") return str(a.tls_key);
    if (key == "web") return str(a.web);
    if (key == "complaint-key") return str(a.complaint_key);
    if (key == "complaints-per-minute") return num(a.complaints_per_minute);
    if (key == "complaints-burst") return num(a.complaints_burst) && a.complaints_burst >= 1;
    if (key == "body-limit") return num(a.body_limit) && a.body_limit >= 1024;
    if (key == "timeout") return num(a.timeout_s) && a.timeout_s >= 1;
    if (key == "demo-sign-in") {
      if (auto x = v.value<bool>()) a.demo_sign_in = *x;
      return v.is_boolean();
    }
    return false;
  };
  for (const auto& [k, v] : doc) {
    std::string key(k.str());
    if (!set(key, v)) {
      if (!problem) return problem;
      return Status(Reason::kInvalidArgument,
                    "--config " + a.config + ": a bad value for '" + key + "'");
    }
  }
  return Status::ok();
}

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
  if (a.kafka.empty() && !a.kafka_set.empty())
    return report(Status(Reason::kInvalidArgument,
                         "--kafka-set needs --kafka: the embedded bus takes no Kafka settings"));
  if (a.kafka.empty() && a.durability != Durability::kOnReturn)
    return report(Status(Reason::kInvalidArgument,
                         "--durability by-next-commit needs --kafka: the embedded bus keeps no "
                         "log to consume a commit undone by a crash again from"));
  if (a.kafka.empty() && a.warm_heap > 0)
    return report(Status(Reason::kInvalidArgument,
                         "--warm-heap needs --kafka: it is the in-process ledger node's"));
  std::string host = a.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);  // [::1]
  if (a.tls_cert.empty() != a.tls_key.empty())
    return report(Status(Reason::kInvalidArgument, "--tls-cert and --tls-key go together"));

  // With Kafka, its clients first: a setting they refuse (--kafka-set) or a broker not reached
  // is reported before anything is written to the data directory.
  std::unique_ptr<KafkaBus> kafka_bus;
  std::unique_ptr<LedgerNode> node;
  std::size_t kafka_partitions = 0;
  std::function<void(Partition, const std::vector<IngestResult>&)> settle;  // set below
  if (!a.kafka.empty()) {
    KafkaConfig config;
    config.brokers = a.kafka;
    config.extra = a.kafka_set;
    config.events_topic = a.topic;
    config.rejected_topic = a.rejected_topic;
    auto bus = KafkaBus::create(config);
    if (!bus) return report(bus.status());
    kafka_bus = std::move(*bus);
    auto n = ensure_topics(config);
    if (!n) return report(n.status());
    kafka_partitions = *n;
    NodeOptions no;
    no.data_dir = a.shard.data;
    no.group = a.group;
    no.ledger = LedgerOptions{.name = a.shard.name, .durability = a.durability};
    no.warm_heap_bytes = a.warm_heap;
    no.on_batch = [&settle](Partition p, const std::vector<IngestResult>& r) {
      if (settle) settle(p, r);
    };
    auto ln = LedgerNode::create(config, no);
    if (!ln) return report(ln.status());
    if (a.warm_heap > 0) report_heap_warmed(**ln);
    node = std::move(*ln);
  }
  make_dirs(a.shard.data);

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
    ctx.partitions = kafka_partitions;
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
            << (node ? "Kafka " + a.kafka : "embedded bus") << ", " << ctx.partitions << " shard(s)"
            << (a.durability == Durability::kByNextCommit ? ", durable by the next commit" : "")
            << ")\n"
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
  c->add_option("--config", a->config,
                "a TOML file of these options by long name (listen = \"0.0.0.0:8443\", "
                "threads = 4, ...); the command line wins")
      ->check(CLI::ExistingFile);
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
  add_kafka_set_option(c, a->kafka_set, "; with --kafka");
  c->add_option("--group", a->group, "the ledger node's consumer group (with --kafka)")
      ->capture_default_str();
  c->add_option("--topic", a->topic, "events topic (with --kafka)")->capture_default_str();
  c->add_option("--rejected-topic", a->rejected_topic, "rejection notices topic (with --kafka)")
      ->capture_default_str();
  add_durability_option(c, a->durability);
  add_warm_heap_option(c, a->warm_heap, "; with --kafka");
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
  c->callback([&run, a, c] {
    run = [a, c] {
      if (!a->config.empty())
        if (Status s = apply_config(*c, *a); !s) return report(s);
      return serve(*a);
    };
  });
}

}  // namespace govcredit::cli
