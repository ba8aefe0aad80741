// The HTTP API (docs/API.md, web/openapi.yaml) and the web pages, served by `govcredit serve`:
//
//   public      /healthz /readyz, the agency directory, filing a complaint and looking one up
//               with its receipt number and secret, the web pages and the OpenAPI document
//   signed      (auth.h) submitting events and their status; agencies, status (as_of), score
//               explanations, audit trails; records, complaints and recommendations with
//               filters; checkpoints, inclusion and consistency proofs; reports; /metrics
//
// What a signed caller may read depends on its role: the authority and auditors read
// everything; an agency reads what concerns it; a source reads what it submitted; other roles
// (the complaint channel, ledger nodes) read what they issued. docs/API.md §3 is the matrix and
// tests/server/authz_test.cc checks every cell of it.
//
// Thread-safety: the router's handlers run on the server's threads at once; everything they
// share is locked.
#pragma once

#include <functional>
#include <memory>

#include "govcredit/bus.h"
#include "govcredit/crypto.h"
#include "govcredit/http.h"
#include "govcredit/privacy.h"
#include "govcredit/scoring.h"

namespace govcredit {

struct ApiContext {
  int partitions = 1;
  // The shard of a partition, or nullptr while it is not available (a Kafka ledger node that
  // has not been assigned it yet): then the answer is 503 unavailable.
  std::function<Ledger*(Partition)> shard{};
  Bus* bus = nullptr;               // where submissions and complaints are published
  EmbeddedBus* embedded = nullptr;  // the same bus when embedded: outcomes are known at once
  const ScoringRules* rules = nullptr;
  const PrivateKey* ledger_key = nullptr;     // signs checkpoints
  const PrivateKey* complaint_key = nullptr;  // signs citizens' complaints; nullptr: none taken
  KeyVault* vault = nullptr;  // keeps complaints' contact data keys (required with complaint_key)
  std::string web_dir{};      // the static pages; "" serves none
  // JSON served at /v1/demo/identities for the demo's one-click sign-in; "" (the default): 404.
  std::string demo_identities{};
  // Complaints and look-ups per client address: a token bucket of this many per minute, this
  // burst.
  double complaints_per_minute = 6;
  double complaints_burst = 10;
  // Milliseconds since the epoch; the wall clock when empty (tests pin it).
  std::function<std::int64_t()> clock{};
};

struct Api {
  http::Router router;
  // For ServerOptions::observe: HTTP latency and status counts for /metrics.
  std::function<void(const http::Request&, const http::Response&, double)> observe;
  // For NodeOptions::on_batch when a Kafka ledger node ingests: settles pending submissions.
  std::function<void(Partition, const std::vector<IngestResult>&)> ingested;
};

// ctx's pointers must outlive the Api.
Api make_api(const ApiContext& ctx);

}  // namespace govcredit
