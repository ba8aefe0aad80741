// The JSON API under /v1 (issue 6, work in progress): read-only endpoints over the shards of an
// embedded bus — health, agencies and their status (with as_of), score explanations, audit
// trails, checkpoints and inclusion proofs. Submission, authentication, TLS, the web pages and
// the OpenAPI document are still to come.
#pragma once

#include <memory>

#include "govcredit/bus.h"
#include "govcredit/crypto.h"
#include "govcredit/http.h"
#include "govcredit/scoring.h"

namespace govcredit {

struct ApiContext {
  EmbeddedBus* bus = nullptr;
  const ScoringRules* rules = nullptr;
  const PrivateKey* ledger_key = nullptr;  // signs checkpoints
};

// The routes; ctx must outlive the router.
http::Router make_api(const ApiContext& ctx);

}  // namespace govcredit
