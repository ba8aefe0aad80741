#include "govcredit/api.h"

#include <chrono>
#include <mutex>

#include "govcredit/encoding.h"
#include "govcredit/kafka.h"
#include "govcredit/status_cache.h"
#include "govcredit/views.h"

namespace govcredit {
namespace {

using http::error_response;
using http::json_response;
using http::Request;
using http::Response;
using nlohmann::json;

Timestamp wall_now() {
  return Timestamp{std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count()};
}

int http_status_for(const Status& s) {
  switch (s.reason()) {
    case Reason::kNotFound:
      return 404;
    case Reason::kInvalidArgument:
      return 400;
    default:
      return 500;
  }
}

Response fail(const Status& s) {
  return error_response(http_status_for(s), s);
}

// as_of from the query (RFC 3339 with Z or an offset), or now.
Result<std::optional<Timestamp>> as_of(const Request& r) {
  auto it = r.query.find("as_of");
  if (it == r.query.end()) return std::optional<Timestamp>();
  auto t = parse_time_with_offset(it->second);
  if (!t)
    return Status(Reason::kInvalidArgument,
                  "as_of must be an RFC 3339 time such as 2013-12-31T23:59:59+08:00");
  return std::optional<Timestamp>(*t);
}

Result<std::uint64_t> number(const Request& r, const std::string& key, std::uint64_t fallback) {
  auto it = r.query.find(key);
  if (it == r.query.end()) return fallback;
  const std::string& v = it->second;
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
    return Status(Reason::kInvalidArgument, key + " must be a non-negative integer");
  return std::stoull(v);
}

Response unknown_agency(const std::string& id) {
  return error_response(404, Status(Reason::kNotFound, "no agency '" + id.substr(0, 80) + "'"));
}

struct Api {
  ApiContext ctx;
  std::vector<std::unique_ptr<StatusCache>> caches;  // one per shard

  Ledger& shard_of(const std::string& agency) {
    return ctx.bus->shard(Partition{partition_for_key(agency, ctx.bus->partitions())});
  }
  StatusCache& cache_of(const std::string& agency) {
    return *caches[static_cast<std::size_t>(partition_for_key(agency, ctx.bus->partitions()))];
  }
  Result<Ledger*> shard_param(const Request& r) {
    auto p = number(r, "partition", 0);
    if (!p) return p.status();
    if (*p >= static_cast<std::uint64_t>(ctx.bus->partitions()))
      return Status(Reason::kInvalidArgument, "no partition " + std::to_string(*p));
    return &ctx.bus->shard(Partition{static_cast<int>(*p)});
  }

  Response agency(const Request& r) {
    const std::string& id = r.params.at("id");
    if (!is_identifier(id)) return unknown_agency(id);
    auto t = as_of(r);
    if (!t) return fail(t.status());
    if (!*t) {
      auto st = cache_of(id).get(AgencyId(id), wall_now(), *ctx.rules);
      if (!st) return fail(st.status());
      return json_response(200, agency_status_json(*st->agency, st->score, wall_now()).dump());
    }
    auto st = agency_state_as_of(shard_of(id), AgencyId(id), **t);
    if (!st) return fail(st.status());
    return json_response(200,
                         agency_status_json(*st, score(*st, **t, *ctx.rules, false), **t).dump());
  }

  Response explain(const Request& r) {
    const std::string& id = r.params.at("id");
    if (!is_identifier(id)) return unknown_agency(id);
    auto t = as_of(r);
    if (!t) return fail(t.status());
    Timestamp when = *t ? **t : wall_now();
    auto st = *t ? agency_state_as_of(shard_of(id), AgencyId(id), when)
                 : agency_state(shard_of(id), AgencyId(id));
    if (!st) return fail(st.status());
    return json_response(200, score_json(score(*st, when, *ctx.rules)).dump());
  }

  Response agencies(const Request&) {
    json out = json::array();
    Timestamp now = wall_now();
    for (int p = 0; p < ctx.bus->partitions(); ++p) {
      auto all = all_agencies(ctx.bus->shard(Partition{p}));
      if (!all) return fail(all.status());
      for (const auto& a : *all) {
        if (partition_for_key(a.info.id.value, ctx.bus->partitions()) != p) continue;
        Score s = score(a, now, *ctx.rules, false);
        out.push_back({{"agency", a.info.id.value},
                       {"name_zh", a.info.name_zh},
                       {"name_en", a.info.name_en},
                       {"level", std::string(enum_name(a.info.level))},
                       {"district", a.info.district.value_or("")},
                       {"score", s.value},
                       {"band", s.band}});
      }
    }
    return json_response(200, json{{"agencies", out}}.dump());
  }

  Response trail_of(const Request& r) {
    const std::string& id = r.params.at("id");
    if (!is_identifier(id)) return unknown_agency(id);
    auto from = number(r, "from", 0);
    auto limit = number(r, "limit", 100);
    if (!from) return fail(from.status());
    if (!limit) return fail(limit.status());
    auto lines = trail(shard_of(id), TrailKind::kAgency, id, Seq{*from},
                       std::min<std::uint64_t>(*limit, 1000));
    if (!lines) return fail(lines.status());
    json out = json::array();
    for (const Line& l : *lines) out.push_back(line_json(l));
    json page = {{"agency", id}, {"lines", out}};
    if (!lines->empty() && lines->size() == std::min<std::uint64_t>(*limit, 1000))
      page["next_from"] = lines->back().seq.value + 1;
    return json_response(200, page.dump());
  }

  Response checkpoint(const Request& r) {
    auto l = shard_param(r);
    if (!l) return fail(l.status());
    auto c = (*l)->make_checkpoint(*ctx.ledger_key, wall_now());
    if (!c) return fail(c.status());
    return json_response(
        200, json{{"size", c->size}, {"root", to_hex(c->root)}, {"note", c->text}}.dump());
  }

  Response inclusion(const Request& r) {
    auto l = shard_param(r);
    if (!l) return fail(l.status());
    auto seq = number(r, "seq", 0);
    auto size = number(r, "size", (*l)->head().size);
    if (!seq) return fail(seq.status());
    if (!size) return fail(size.status());
    auto p = (*l)->inclusion_proof(Seq{*seq}, *size);
    if (!p) return fail(p.status());
    json path = json::array();
    for (const Digest& d : p->path) path.push_back(to_hex(d));
    return json_response(200, json{{"seq", p->seq.value},
                                   {"tree_size", p->tree_size},
                                   {"leaf_data", to_hex(p->leaf_data)},
                                   {"path", path},
                                   {"root", to_hex(p->root)}}
                                  .dump());
  }
};

}  // namespace

http::Router make_api(const ApiContext& ctx) {
  auto api = std::make_shared<Api>();
  api->ctx = ctx;
  for (int p = 0; p < ctx.bus->partitions(); ++p)
    api->caches.push_back(std::make_unique<StatusCache>(ctx.bus->shard(Partition{p})));
  http::Router r;
  r.add("GET", "/healthz", [](const Request&) { return json_response(200, R"({"status":"ok"})"); });
  r.add("GET", "/readyz", [api](const Request&) {
    json shards = json::array();
    for (int p = 0; p < api->ctx.bus->partitions(); ++p)
      shards.push_back({{"partition", p}, {"size", api->ctx.bus->shard(Partition{p}).head().size}});
    return json_response(200, json{{"status", "ready"}, {"shards", shards}}.dump());
  });
  r.add("GET", "/v1/agencies", [api](const Request& q) { return api->agencies(q); });
  r.add("GET", "/v1/agencies/{id}", [api](const Request& q) { return api->agency(q); });
  r.add("GET", "/v1/agencies/{id}/explain", [api](const Request& q) { return api->explain(q); });
  r.add("GET", "/v1/agencies/{id}/trail", [api](const Request& q) { return api->trail_of(q); });
  r.add("GET", "/v1/checkpoints/latest", [api](const Request& q) { return api->checkpoint(q); });
  r.add("GET", "/v1/proofs/inclusion", [api](const Request& q) { return api->inclusion(q); });
  return r;
}

}  // namespace govcredit
