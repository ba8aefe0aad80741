// govcredit serve (work in progress for issue 6): the read-only JSON API over the embedded
// shards of a data directory, on plain HTTP, until SIGINT or SIGTERM.
#include <signal.h>

#include <iostream>

#include "common.h"
#include "govcredit/api.h"

namespace govcredit::cli {
namespace {

struct ServeArgs {
  ShardArgs shard;
  std::string listen = "127.0.0.1:8080";
  unsigned threads = 2;
  int partitions = 1;
};

int serve(const ServeArgs& a) {
  std::size_t colon = a.listen.rfind(':');
  if (colon == std::string::npos)
    return report(Status(Reason::kInvalidArgument, "--listen must be HOST:PORT"));
  int port = 0;
  try {
    port = std::stoi(a.listen.substr(colon + 1));
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535)
    return report(Status(Reason::kInvalidArgument, "--listen: bad port in '" + a.listen + "'"));
  auto bus = EmbeddedBus::open(EmbeddedOptions{.data_dir = a.shard.data,
                                               .partitions = a.partitions,
                                               .ledger = LedgerOptions{.name = a.shard.name}});
  if (!bus) return report(bus.status());
  auto key = ledger_key(a.shard);
  if (!key) return report(key.status());
  ApiContext ctx{bus->get(), &ScoringRules::builtin(), &*key};
  // Block the signals before the server's threads start, so that only sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto server = http::Server::start(http::ServerOptions{.address = a.listen.substr(0, colon),
                                                        .port = static_cast<unsigned short>(port),
                                                        .threads = a.threads},
                                    make_api(ctx));
  if (!server) return report(server.status());
  std::cout << "govcredit serving " << a.shard.data << " on http://" << a.listen.substr(0, colon)
            << ":" << (*server)->port() << "/  (GET /v1/agencies, /healthz; Ctrl-C stops)"
            << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  (*server)->stop();
  std::cout << "stopped\n";
  return kExitOk;
}

}  // namespace

void register_serve(CLI::App& app, Runner& run) {
  auto a = std::make_shared<ServeArgs>();
  auto* c = app.add_subcommand(
      "serve",
      "Serve the read-only JSON API (agencies, status with as_of, explain, trails, "
      "checkpoints, inclusion proofs) over the embedded shards of --data, on plain HTTP. Work in "
      "progress: submission, TLS, authentication and the web pages are not there yet.");
  add_shard_options(c, a->shard);
  c->add_option("--listen", a->listen, "HOST:PORT (port 0 picks a free one)")
      ->capture_default_str();
  c->add_option("--threads", a->threads, "server threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  c->add_option("--partitions", a->partitions, "embedded bus partitions")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  c->callback([&run, a] { run = [a] { return serve(*a); }; });
}

}  // namespace govcredit::cli
