// The HTTP API (include/govcredit/api.h, docs/API.md): authentication and role checks, the read
// endpoints, submission and its status, citizens' complaints, metrics and the static pages.
#include "govcredit/api.h"

#include <openssl/crypto.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <fstream>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <unordered_map>

#include "govcredit/auth.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/kafka.h"
#include "govcredit/report.h"
#include "govcredit/status_cache.h"
#include "govcredit/views.h"
#include "metrics.h"

namespace govcredit {
namespace {

using auth::Caller;
using http::error_response;
using http::json_response;
using http::Request;
using http::Response;
using nlohmann::json;

int http_status_for(const Status& s) {
  switch (s.reason()) {
    case Reason::kNotFound:
      return 404;
    case Reason::kUnauthenticated:
    case Reason::kRequestExpired:
    case Reason::kRequestReplayed:
      return 401;
    case Reason::kForbidden:
      return 403;
    case Reason::kRateLimited:
      return 429;
    case Reason::kUnavailable:
      return 503;
    case Reason::kIoError:
    case Reason::kStorageError:
    case Reason::kInternal:
    case Reason::kCorrupt:
      return 500;
    default:
      return 400;  // the request's fault: a reason code from validation or the domain rules
  }
}

Response fail(const Status& s) {
  Response r = error_response(http_status_for(s), s);
  if (s.reason() == Reason::kUnauthenticated || s.reason() == Reason::kRequestExpired ||
      s.reason() == Reason::kRequestReplayed)
    r.headers.emplace_back("WWW-Authenticate", "Govcredit-Ed25519");
  return r;
}

Status forbidden(std::string what) {
  return Status(Reason::kForbidden, std::move(what));
}

// as_of from the query (RFC 3339 with Z or an offset), or nullopt.
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

std::string query_or(const Request& r, const std::string& key, std::string fallback = "") {
  auto it = r.query.find(key);
  return it == r.query.end() ? fallback : it->second;
}

bool reads_all(const Caller& c) {
  return c.authenticated &&
         (c.principal.role == Role::kAuthority || c.principal.role == Role::kAuditor);
}

bool is_agency_of(const Caller& c, const AgencyId& a) {
  return c.authenticated && c.principal.role == Role::kAgency && c.principal.agency &&
         *c.principal.agency == a;
}

bool can_read_agency(const Caller& c, const AgencyId& a) {
  return reads_all(c) || is_agency_of(c, a);
}

// An event (or a log entry) may be read by whoever reads everything, its issuer, and the agency
// it is about.
bool can_read_event(const Caller& c, const PrincipalId& issuer, const AgencyId& subject) {
  return reads_all(c) || (c.authenticated && c.principal.id == issuer) || is_agency_of(c, subject);
}

// A token bucket per client address.
class RateLimiter {
 public:
  RateLimiter(double per_minute, double burst) : rate_(per_minute / 60000.0), burst_(burst) {}
  // Takes a token; false (and the milliseconds until one is back) when there is none.
  bool take(const std::string& client, std::int64_t now_ms, std::int64_t* retry_ms) {
    std::lock_guard lock(mu_);
    if (buckets_.size() > 100000) buckets_.clear();  // a flood of addresses: start over
    auto [it, fresh] = buckets_.try_emplace(client, Bucket{burst_, now_ms});
    Bucket& b = it->second;
    if (!fresh) {
      b.tokens = std::min(burst_, b.tokens + static_cast<double>(now_ms - b.at) * rate_);
      b.at = now_ms;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return true;
    }
    *retry_ms = rate_ > 0 ? static_cast<std::int64_t>((1 - b.tokens) / rate_) + 1 : 60000;
    return false;
  }

 private:
  struct Bucket {
    double tokens;
    std::int64_t at;
  };
  std::mutex mu_;
  double rate_;
  double burst_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// What became of a submission made through this server.
struct Tracked {
  enum class State { kPending, kAccepted, kRejected } state = State::kPending;
  PrincipalId issuer;
  AgencyId subject;
  int partition = 0;
  std::uint64_t seq = 0;
  Status reason;
};

std::string_view state_name(Tracked::State s) {
  switch (s) {
    case Tracked::State::kPending:
      return "pending";
    case Tracked::State::kAccepted:
      return "accepted";
    case Tracked::State::kRejected:
      return "rejected";
  }
  return "pending";
}

std::string random_from(std::string_view alphabet, std::size_t n) {
  std::vector<std::uint8_t> b(n);
  random_bytes(b);
  std::string out;
  for (std::uint8_t x : b) out.push_back(alphabet[x % alphabet.size()]);  // 256 % 32 == 0
  return out;
}

constexpr std::string_view kBase32 = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";  // no I, O, 0, 1

// A request body that must be a JSON object: invalid UTF-8 and malformed JSON get their own codes.
Result<json> json_object_body(const Request& r) {
  if (!is_valid_utf8(r.body)) return Status(Reason::kUtf8Invalid, "the body is not valid UTF-8");
  json body = json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return Status(Reason::kJsonMalformed, "the body must be a JSON object");
  return body;
}

class Service {
 public:
  explicit Service(const ApiContext& ctx)
      : ctx_(ctx),
        complaints_(ctx.complaints_per_minute, ctx.complaints_burst),
        lookups_(ctx.complaints_per_minute * 5, ctx.complaints_burst * 3),
        caches_(static_cast<std::size_t>(ctx.partitions)) {}

  std::int64_t now_ms() const {
    if (ctx_.clock) return ctx_.clock();
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  Timestamp now() const { return Timestamp{now_ms()}; }

  int partition_of(const std::string& key) const { return partition_for_key(key, ctx_.partitions); }

  Result<Ledger*> shard(int p) const {
    Ledger* l = ctx_.shard ? ctx_.shard(Partition{p}) : nullptr;
    if (!l)
      return Status(Reason::kUnavailable,
                    "shard " + std::to_string(p) + " is not available yet; retry shortly");
    return l;
  }
  Result<Ledger*> shard_of(const std::string& agency) const { return shard(partition_of(agency)); }

  Result<StatusCache*> cache_of(const std::string& agency) {
    int p = partition_of(agency);
    auto l = shard(p);
    if (!l) return l.status();
    std::lock_guard lock(caches_mu_);
    auto& c = caches_[static_cast<std::size_t>(p)];
    if (!c) c = std::make_unique<StatusCache>(**l);
    return c.get();
  }

  // The registry as of shard 0's log (registry events go to every shard), reloaded when that
  // log has grown (at most every half second, or at once for an unknown key).
  Result<std::shared_ptr<const Registry>> registry(bool unknown_key = false) {
    auto l = shard(0);
    if (!l) return l.status();
    std::uint64_t size = (*l)->head().size;
    std::int64_t t = now_ms();
    {
      std::lock_guard lock(registry_mu_);
      if (registry_ && (size == registry_size_ || (!unknown_key && t - registry_at_ < 500)))
        return registry_;
    }
    auto reg = (*l)->load_registry();
    if (!reg) return reg.status();
    std::lock_guard lock(registry_mu_);
    registry_ = std::make_shared<const Registry>(std::move(*reg));
    registry_size_ = size;
    registry_at_ = t;
    return registry_;
  }

  // A session: a bearer token issued to a signed request (POST /v1/sessions), so that a client
  // making many requests pays for one signature check instead of one per request.
  struct Session {
    Caller caller;
    std::int64_t expires_ms = 0;
  };
  static constexpr std::int64_t kSessionMs = 15 * 60 * 1000;

  Result<Caller> session_caller(const std::string& token) {
    std::optional<Session> s;
    {
      std::lock_guard lock(sessions_mu_);
      auto it = sessions_.find(token);
      if (it != sessions_.end()) s = it->second;
    }
    const Status bad(Reason::kUnauthenticated,
                     "the session token is unknown or expired; sign in again (POST /v1/sessions)");
    if (!s || s->expires_ms <= now_ms()) return bad;
    // A key revoked since the session began ends the session.
    auto reg = registry();
    if (!reg) return reg.status();
    const KeyInfo* k = (*reg)->key(s->caller.key);
    if (!k || (k->revoked_at && k->revoked_at->ms <= now_ms())) return bad;
    return s->caller;
  }

  Response open_session(const Request& r, const Caller& c) {
    if (!r.header("authorization").empty())
      return fail(Status(Reason::kUnauthenticated,
                         "a session is opened by a signed request, not by another session"));
    std::array<std::uint8_t, 32> b{};
    random_bytes(b);
    std::string token = to_base64(ByteView(b.data(), b.size()));
    for (char& ch : token) ch = ch == '+' ? '-' : ch == '/' ? '_' : ch;  // base64url
    token.erase(token.find('='));
    const std::int64_t expires = now_ms() + kSessionMs;
    {
      std::lock_guard lock(sessions_mu_);
      if (sessions_.size() >= 100000)
        std::erase_if(sessions_, [&](const auto& kv) { return kv.second.expires_ms <= now_ms(); });
      if (sessions_.size() >= 100000)
        return fail(Status(Reason::kRateLimited, "too many open sessions; try again later"));
      sessions_[token] = Session{c, expires};
    }
    return json_response(201, json{{"token", token},
                                   {"expires_at", format_time(Timestamp{expires})},
                                   {"principal", c.principal.id.value},
                                   {"role", std::string(enum_name(c.principal.role))}}
                                  .dump());
  }

  Response close_session(const Request& r, const Caller&) {
    const std::string& auth = r.header("authorization");
    if (auth.rfind("Bearer ", 0) != 0)
      return fail(Status(Reason::kInvalidArgument,
                         "send the session's token (Authorization: Bearer ...) to end it"));
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(auth.substr(7));
    return json_response(200, R"({"status":"ended"})");
  }

  Result<Caller> caller(const Request& r) {
    const std::string& authorization = r.header("authorization");
    if (!authorization.empty()) {
      if (authorization.rfind("Bearer ", 0) != 0)
        return Status(Reason::kUnauthenticated,
                      "Authorization must be \"Bearer <session token>\" (docs/API.md §2)");
      auto c = session_caller(authorization.substr(7));
      if (!c) metrics_.count_auth_failure(c.status().code());
      return c;
    }
    if (r.header("x-govcredit-key").empty() && r.header("x-govcredit-signature").empty() &&
        r.header("x-govcredit-time").empty() && r.header("x-govcredit-nonce").empty())
      return Caller{};
    auto reg = registry();
    if (!reg) return reg.status();
    auto c = auth::authenticate(r, **reg, nonces_, now_ms());
    if (!c && c.status().reason() == Reason::kUnauthenticated &&
        !(*reg)->key(KeyId(r.header("x-govcredit-key")))) {
      auto fresh = registry(true);  // a key registered a moment ago
      if (fresh && *fresh != *reg) c = auth::authenticate(r, **fresh, nonces_, now_ms());
    }
    if (!c) metrics_.count_auth_failure(c.status().code());
    return c;
  }

  using Handler = std::function<Response(const Request&, const Caller&)>;

  // A route that needs a signed request.
  http::Router::Handler signed_only(Handler h) {
    return [this, h](const Request& r) {
      auto c = caller(r);
      if (!c) return fail(c.status());
      if (!c->authenticated)
        return fail(Status(Reason::kUnauthenticated,
                           "this endpoint needs a signed request (X-Govcredit-* headers, "
                           "docs/API.md §2)"));
      return h(r, *c);
    };
  }
  // A route the public may use (a signature, when present, must still be valid).
  http::Router::Handler public_route(Handler h) {
    return [this, h](const Request& r) {
      auto c = caller(r);
      if (!c) return fail(c.status());
      return h(r, *c);
    };
  }

  // ---- Agencies ----

  Response directory(const Request&, const Caller&) {
    auto reg = registry();
    if (!reg) return fail(reg.status());
    json out = json::array();
    for (const auto& [id, a] : (*reg)->agencies())
      out.push_back({{"agency", id.value},
                     {"name_zh", a.name_zh},
                     {"name_en", a.name_en},
                     {"level", std::string(enum_name(a.level))},
                     {"district", a.district.value_or("")}});
    return json_response(200, json{{"agencies", out}}.dump());
  }

  Response agencies(const Request& r, const Caller& c) {
    if (!reads_all(c) && !(c.principal.role == Role::kAgency && c.principal.agency))
      return fail(forbidden("only the authority, auditors and agencies read agency status"));
    json out = json::array();
    Timestamp t = now();
    const std::string district = query_or(r, "district");
    const std::string band = query_or(r, "band");
    for (int p = 0; p < ctx_.partitions; ++p) {
      auto l = shard(p);
      if (!l) return fail(l.status());
      auto all = all_agencies(**l);
      if (!all) return fail(all.status());
      for (const auto& a : *all) {
        if (partition_of(a.info.id.value) != p) continue;  // registry copies
        if (!can_read_agency(c, a.info.id)) continue;
        if (!district.empty() && a.info.district.value_or("") != district) continue;
        Score s = score(a, t, *ctx_.rules, false);
        if (!band.empty() && s.band != band) continue;
        std::uint32_t overdue = 0;
        for (const RecItem& x : a.recommendations) overdue += overdue_at(x, t);
        out.push_back({{"agency", a.info.id.value},
                       {"name_zh", a.info.name_zh},
                       {"name_en", a.info.name_en},
                       {"level", std::string(enum_name(a.info.level))},
                       {"district", a.info.district.value_or("")},
                       {"score", s.value},
                       {"band", s.band},
                       {"confirmed_records", a.records_in(RecordPhase::kConfirmed)},
                       {"overdue_recommendations", overdue}});
      }
    }
    std::sort(out.begin(), out.end(),
              [](const json& a, const json& b) { return a["agency"] < b["agency"]; });
    return json_response(200, json{{"as_of", format_time(t)}, {"agencies", out}}.dump());
  }

  // The {id} of an agency route, if the caller may read it.
  Result<AgencyId> agency_param(const Request& r, const Caller& c) {
    const std::string& id = r.params.at("id");
    if (!is_identifier(id))
      return Status(Reason::kNotFound, "no agency '" + id.substr(0, 80) + "'");
    if (!can_read_agency(c, AgencyId(id)))
      return forbidden("an agency reads only its own status; this is " + id);
    return AgencyId(id);
  }

  Response agency(const Request& r, const Caller& c) {
    auto id = agency_param(r, c);
    if (!id) return fail(id.status());
    auto t = as_of(r);
    if (!t) return fail(t.status());
    if (!*t) {
      auto cache = cache_of(id->value);
      if (!cache) return fail(cache.status());
      Timestamp n = now();
      auto st = (*cache)->get(*id, n, *ctx_.rules);
      if (!st) return fail(st.status());
      json j = agency_status_json(*st->agency, st->score, n);
      j["partition"] = partition_of(id->value);
      return json_response(200, j.dump());
    }
    auto l = shard_of(id->value);
    if (!l) return fail(l.status());
    auto st = agency_state_as_of(**l, *id, **t);
    if (!st) return fail(st.status());
    json j = agency_status_json(*st, score(*st, **t, *ctx_.rules, false), **t);
    j["partition"] = partition_of(id->value);
    return json_response(200, j.dump());
  }

  Response explain(const Request& r, const Caller& c) {
    auto id = agency_param(r, c);
    if (!id) return fail(id.status());
    auto t = as_of(r);
    if (!t) return fail(t.status());
    auto l = shard_of(id->value);
    if (!l) return fail(l.status());
    Timestamp when = *t ? **t : now();
    auto st = *t ? agency_state_as_of(**l, *id, when) : agency_state(**l, *id);
    if (!st) return fail(st.status());
    return json_response(200, score_json(score(*st, when, *ctx_.rules)).dump());
  }

  Response trail_of(const Request& r, const Caller& c) {
    auto id = agency_param(r, c);
    if (!id) return fail(id.status());
    auto from = number(r, "from", 0);
    auto limit = number(r, "limit", 100);
    if (!from) return fail(from.status());
    if (!limit) return fail(limit.status());
    std::uint64_t n = std::clamp<std::uint64_t>(*limit, 1, 1000);
    auto l = shard_of(id->value);
    if (!l) return fail(l.status());
    auto lines = trail(**l, TrailKind::kAgency, id->value, Seq{*from}, n);
    if (!lines) return fail(lines.status());
    json out = json::array();
    for (const Line& x : *lines) out.push_back(line_json(x));
    json page = {{"agency", id->value}, {"partition", partition_of(id->value)}, {"lines", out}};
    if (lines->size() == n) page["next_from"] = lines->back().seq.value + 1;
    return json_response(200, page.dump());
  }

  // ---- Records, complaints, recommendations ----

  struct Filter {
    std::string agency, category, source, state, district;
    std::optional<bool> overdue;
    std::uint64_t offset = 0, limit = 100;
  };

  Result<Filter> filter(const Request& r) {
    Filter f{query_or(r, "agency"), query_or(r, "category"), query_or(r, "source"),
             query_or(r, "state"),  query_or(r, "district"), std::nullopt};
    std::string od = query_or(r, "overdue");
    if (od == "true")
      f.overdue = true;
    else if (od == "false")
      f.overdue = false;
    else if (!od.empty())
      return Status(Reason::kInvalidArgument, "overdue must be true or false");
    if (!f.category.empty() && !enum_from_name<Category>(f.category))
      return Status(Reason::kInvalidArgument, "unknown category '" + f.category.substr(0, 40) +
                                                  "' (see events/FORMAT.md §2)");
    auto off = number(r, "offset", 0);
    auto lim = number(r, "limit", 100);
    if (!off) return off.status();
    if (!lim) return lim.status();
    f.offset = *off;
    f.limit = std::clamp<std::uint64_t>(*lim, 1, 1000);
    return f;
  }

  // The partitions a listing visits, and the district of every agency (for the filter).
  Result<std::map<AgencyId, AgencyInfo>> agencies_info() {
    auto reg = registry();
    if (!reg) return reg.status();
    return (*reg)->agencies();
  }

  // Runs visit(p, ledger) for the shards a filter touches.
  Status each_shard(const Filter& f, const std::function<Status(Ledger&)>& visit) {
    for (int p = 0; p < ctx_.partitions; ++p) {
      if (!f.agency.empty() && partition_of(f.agency) != p) continue;
      auto l = shard(p);
      if (!l) return l.status();
      if (Status s = visit(**l); !s) return s;
    }
    return Status::ok();
  }

  static bool district_ok(const Filter& f, const std::map<AgencyId, AgencyInfo>& info,
                          const AgencyId& a) {
    if (f.district.empty()) return true;
    auto it = info.find(a);
    return it != info.end() && it->second.district.value_or("") == f.district;
  }

  // One page of a listing: counts every match, keeps those in [offset, offset + limit).
  struct Pager {
    const Filter& f;
    json items = json::array();
    std::uint64_t total = 0;
    template <class Make>
    void add(Make make) {
      if (total >= f.offset && items.size() < f.limit) {
        json j = make();
        j.erase("history");  // a listing is a summary; the object's own endpoint has it all
        items.push_back(std::move(j));
      }
      ++total;
    }
    Response response(const char* name) {
      json out = {{name, std::move(items)}, {"total", total}, {"offset", f.offset}};
      if (f.offset + f.limit < total) out["next_offset"] = f.offset + f.limit;
      return json_response(200, out.dump());
    }
  };

  // Confines an agency's listing to its own agency (a filter naming another is a 403, never a
  // silently empty page). nullopt when the caller is no agency.
  static std::optional<Status> confine_to_agency(const Caller& c, Filter& f, const char* what) {
    if (c.principal.role != Role::kAgency || !c.principal.agency) return std::nullopt;
    if (!f.agency.empty() && f.agency != c.principal.agency->value)
      return forbidden(std::string("an agency reads only its own ") + what);
    f.agency = c.principal.agency->value;
    return Status::ok();
  }

  Response records(const Request& r, const Caller& c) {
    auto f = filter(r);
    if (!f) return fail(f.status());
    // Scope: an agency sees its own records, a source those it submitted.
    if (!reads_all(c)) {
      if (auto s = confine_to_agency(c, *f, "records")) {
        if (!*s) return fail(*s);
      } else if (c.principal.role == Role::kSource) {
        if (!f->source.empty() && f->source != c.principal.id.value)
          return fail(forbidden("a source reads only the records it submitted"));
        f->source = c.principal.id.value;
      } else {
        return fail(forbidden("this role does not read records"));
      }
    }
    if (!f->state.empty() && !enum_from_name<RecordPhase>(f->state))
      return fail(Status(Reason::kInvalidArgument,
                         "state must be one of the record phases (docs/API.md §4)"));
    auto info = agencies_info();
    if (!info) return fail(info.status());
    Pager pager{*f};
    Status s = each_shard(*f, [&](Ledger& l) {
      return for_each_record(l, [&](const EventId& id, const RecordState& rs) {
        if (!f->agency.empty() && rs.agency.value != f->agency) return true;
        if (!f->source.empty() && rs.source.value != f->source) return true;
        if (!f->category.empty() && enum_name(rs.category) != f->category) return true;
        if (!f->state.empty() && enum_name(rs.phase) != f->state) return true;
        if (!district_ok(*f, *info, rs.agency)) return true;
        pager.add([&] { return record_json(id, rs); });
        return true;
      });
    });
    if (!s) return fail(s);
    return pager.response("records");
  }

  Response record(const Request& r, const Caller& c) {
    auto id = event_id_from_hex(r.params.at("id"), "the record id");
    if (!id) return fail(id.status());
    for (int p = 0; p < ctx_.partitions; ++p) {
      auto l = shard(p);
      if (!l) return fail(l.status());
      auto rs = record_state(**l, *id);
      if (!rs) {
        if (rs.status().reason() == Reason::kNotFound) continue;
        return fail(rs.status());
      }
      if (!can_read_event(c, rs->source, rs->agency))
        return fail(forbidden("this record is neither about your agency nor submitted by you"));
      auto v = record_view(**l, *id);
      if (!v) return fail(v.status());
      (*v)["partition"] = p;
      return json_response(200, v->dump());
    }
    return fail(Status(Reason::kNotFound, "no record " + to_hex(id->view())));
  }

  Response complaints(const Request& r, const Caller& c) {
    auto f = filter(r);
    if (!f) return fail(f.status());
    if (!reads_all(c) && c.principal.role != Role::kComplaintChannel) {
      auto s = confine_to_agency(c, *f, "complaints");
      if (!s) return fail(forbidden("this role does not read complaints"));
      if (!*s) return fail(*s);
    }
    if (!f->state.empty() && !enum_from_name<ComplaintPhase>(f->state))
      return fail(Status(Reason::kInvalidArgument,
                         "state must be one of the complaint phases (docs/API.md §4)"));
    auto info = agencies_info();
    if (!info) return fail(info.status());
    Pager pager{*f};
    Status s = each_shard(*f, [&](Ledger& l) {
      return for_each_complaint(l, [&](const EventId& id, const ComplaintState& cs) {
        if (!f->agency.empty() && cs.agency.value != f->agency) return true;
        if (!f->category.empty() && (!cs.category || enum_name(*cs.category) != f->category))
          return true;
        if (!f->state.empty() && enum_name(cs.phase) != f->state) return true;
        if (!district_ok(*f, *info, cs.agency)) return true;
        pager.add([&] { return complaint_json(id, cs); });
        return true;
      });
    });
    if (!s) return fail(s);
    return pager.response("complaints");
  }

  Response recommendations(const Request& r, const Caller& c) {
    auto f = filter(r);
    if (!f) return fail(f.status());
    if (!reads_all(c)) {
      auto s = confine_to_agency(c, *f, "recommendations");
      if (!s) return fail(forbidden("this role does not read recommendations"));
      if (!*s) return fail(*s);
    }
    if (!f->state.empty() && !enum_from_name<RecommendationPhase>(f->state))
      return fail(
          Status(Reason::kInvalidArgument, "state must be open, rectification_reported or closed"));
    auto info = agencies_info();
    if (!info) return fail(info.status());
    Timestamp t = now();
    Pager pager{*f};
    Status s = each_shard(*f, [&](Ledger& l) {
      return for_each_recommendation(l, [&](const EventId& id, const RecommendationState& rs) {
        if (!f->agency.empty() && rs.agency.value != f->agency) return true;
        if (!f->state.empty() && enum_name(rs.phase) != f->state) return true;
        if (!district_ok(*f, *info, rs.agency)) return true;
        json j = recommendation_json(id, rs, t);
        if (f->overdue && j.value("overdue", false) != *f->overdue) return true;
        pager.add([&] { return std::move(j); });
        return true;
      });
    });
    if (!s) return fail(s);
    return pager.response("recommendations");
  }

  Response reports_list(const Request&, const Caller& c) {
    if (!reads_all(c)) return fail(forbidden("reports are for the authority and auditors"));
    json out = json::array();
    for (int p = 0; p < ctx_.partitions; ++p) {
      auto l = shard(p);
      if (!l) return fail(l.status());
      auto reps = reports(**l);
      if (!reps) return fail(reps.status());
      for (const ReportState& x : *reps)
        out.push_back({{"period", x.period},
                       {"title", x.title},
                       {"content_sha256", to_hex(x.content_sha256)},
                       {"content_bytes", x.content_bytes},
                       {"published_at", format_time(x.at)},
                       {"partition", p},
                       {"seq", x.seq.value}});
    }
    return json_response(200, json{{"reports", out}}.dump());
  }

  Response report_file(const Request& r, const Caller& c) {
    if (!reads_all(c)) return fail(forbidden("reports are for the authority and auditors"));
    std::vector<const Ledger*> shards;
    for (int p = 0; p < ctx_.partitions; ++p) {
      auto l = shard(p);
      if (!l) return fail(l.status());
      shards.push_back(*l);
    }
    auto rep = make_report(
        shards, *ctx_.rules,
        ReportOptions{.period = r.params.at("period"), .lang = query_or(r, "lang", "zh")}, now());
    if (!rep) return fail(rep.status());
    Response out;
    out.body = std::move(rep->html.content);
    out.content_type = "text/html; charset=utf-8";
    out.headers.emplace_back("Content-Security-Policy",
                             "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    out.headers.emplace_back("X-Govcredit-Content-Sha256", to_hex(sha256(out.body)));
    return out;
  }

  // ---- Proofs ----

  Result<std::pair<int, Ledger*>> partition_param(const Request& r) {
    auto p = number(r, "partition", 0);
    if (!p) return p.status();
    if (*p >= static_cast<std::uint64_t>(ctx_.partitions))
      return Status(Reason::kInvalidArgument, "no partition " + std::to_string(*p));
    auto l = shard(static_cast<int>(*p));
    if (!l) return l.status();
    return std::make_pair(static_cast<int>(*p), *l);
  }

  Response checkpoint(const Request& r, const Caller&) {
    auto l = partition_param(r);
    if (!l) return fail(l.status());
    auto c = l->second->make_checkpoint(*ctx_.ledger_key, now());
    if (!c) return fail(c.status());
    return json_response(200, json{{"partition", l->first},
                                   {"origin", c->origin},
                                   {"size", c->size},
                                   {"root", to_hex(c->root)},
                                   {"time", format_time(c->time)},
                                   {"note", c->text},
                                   {"public_key", to_hex(ctx_.ledger_key->public_key().bytes())}}
                                  .dump());
  }

  Response inclusion(const Request& r, const Caller& c) {
    auto l = partition_param(r);
    if (!l) return fail(l.status());
    Ledger& ledger = *l->second;
    auto seq = number(r, "seq", 0);
    auto size = number(r, "size", ledger.head().size);
    if (!seq) return fail(seq.status());
    if (!size) return fail(size.status());
    if (!reads_all(c)) {
      // The proof carries the entry (the event itself): only for those who may read it.
      auto e = ledger.get(Seq{*seq});
      if (!e) return fail(e.status());
      auto ev = decode_logged_wire(e->wire);
      if (!ev) return fail(ev.status());
      if (!can_read_event(c, ev->issuer, ev->subject))
        return fail(forbidden("this entry is neither about your agency nor issued by you"));
    }
    auto p = ledger.inclusion_proof(Seq{*seq}, *size);
    if (!p) return fail(p.status());
    json path = json::array();
    for (const Digest& d : p->path) path.push_back(to_hex(d));
    return json_response(200, json{{"partition", l->first},
                                   {"seq", p->seq.value},
                                   {"tree_size", p->tree_size},
                                   {"leaf_data", to_hex(p->leaf_data)},
                                   {"path", path},
                                   {"root", to_hex(p->root)}}
                                  .dump());
  }

  Response consistency(const Request& r, const Caller&) {
    auto l = partition_param(r);
    if (!l) return fail(l.status());
    Ledger& ledger = *l->second;
    auto from = number(r, "from", 0);
    auto to = number(r, "to", ledger.head().size);
    if (!from) return fail(from.status());
    if (!to) return fail(to.status());
    auto p = ledger.consistency_proof(*from, *to);
    if (!p) return fail(p.status());
    auto r1 = ledger.root_at(*from);
    auto r2 = ledger.root_at(*to);
    if (!r1) return fail(r1.status());
    if (!r2) return fail(r2.status());
    json path = json::array();
    for (const Digest& d : *p) path.push_back(to_hex(d));
    return json_response(200, json{{"partition", l->first},
                                   {"from", *from},
                                   {"to", *to},
                                   {"from_root", to_hex(*r1)},
                                   {"to_root", to_hex(*r2)},
                                   {"path", path}}
                                  .dump());
  }

  // ---- Submission ----

  void track(const EventId& id, Tracked t) {
    std::lock_guard lock(tracked_mu_);
    std::string key = to_hex(id.view());
    if (!tracked_.count(key)) {
      order_.push_back(key);
      if (order_.size() > 200000) {
        tracked_.erase(order_.front());
        order_.pop_front();
      }
    }
    tracked_[key] = std::move(t);
  }

  // Publishes; the outcome when the bus is embedded, pending otherwise.
  Result<Tracked> publish(const Event& e) {
    Tracked t{Tracked::State::kPending, e.issuer, e.subject, partition_of(e.subject.value), 0, {}};
    if (ctx_.embedded) {
      auto results = ctx_.embedded->publish_all_with_results({e});
      if (results.empty() || !results[0]) return results.empty() ? Status() : results[0].status();
      const auto& per_shard = *results[0];
      // A registry event goes to every shard (one result each, by partition); report the
      // subject's shard (they agree).
      const IngestResult* mine = nullptr;
      if (per_shard.size() == static_cast<std::size_t>(ctx_.partitions))
        mine = &per_shard[static_cast<std::size_t>(t.partition)];
      else if (!per_shard.empty())
        mine = &per_shard.front();
      if (!mine) return Status(Reason::kInternal, "no ingest result");
      metrics_.count_ingest(*mine);
      if (mine->outcome == IngestOutcome::kRejected) {
        t.state = Tracked::State::kRejected;
        t.reason = mine->status;
      } else {
        t.state = Tracked::State::kAccepted;
        t.seq = mine->seq.value;
      }
      track(e.id, t);
      return t;
    }
    // Kafka: tracked before it is published, since the ledger node may ingest it before
    // publish() returns.
    track(e.id, t);
    metrics_.published();
    auto d = ctx_.bus->publish(e);
    std::lock_guard lock(tracked_mu_);
    auto it = tracked_.find(to_hex(e.id.view()));
    if (!d) {
      if (it != tracked_.end() && it->second.state == Tracked::State::kPending) {
        tracked_.erase(it);
        metrics_.settled();
      }
      return d.status();
    }
    return it != tracked_.end() ? it->second : t;
  }

  // NodeOptions::on_batch (Kafka mode).
  void ingested(Partition p, const std::vector<IngestResult>& results) {
    for (const IngestResult& x : results) {
      metrics_.count_ingest(x);
      if (!x.event_id) continue;
      std::lock_guard lock(tracked_mu_);
      auto it = tracked_.find(to_hex(x.event_id->view()));
      if (it == tracked_.end() || it->second.partition != p.value) continue;
      if (it->second.state == Tracked::State::kPending) metrics_.settled();
      if (x.outcome == IngestOutcome::kRejected) {
        it->second.state = Tracked::State::kRejected;
        it->second.reason = x.status;
      } else if (x.outcome != IngestOutcome::kAlreadyConsumed) {
        it->second.state = Tracked::State::kAccepted;
        it->second.seq = x.seq.value;
      }
    }
  }

  static json tracked_json(const EventId& id, const Tracked& t) {
    json j = {{"event", to_hex(id.view())},
              {"status", std::string(state_name(t.state))},
              {"partition", t.partition}};
    if (t.state == Tracked::State::kAccepted) j["seq"] = t.seq;
    if (t.state == Tracked::State::kRejected) {
      j["code"] = std::string(t.reason.code());
      j["message"] = t.reason.message();
    }
    return j;
  }

  Response submit(const Request& r, const Caller& c) {
    auto e = event_from_json(r.body);
    if (!e) return fail(e.status());
    if (e->issuer != c.principal.id)
      return fail(forbidden("the event's issuer is " + e->issuer.value.substr(0, 80) +
                            " but the request is signed by " + c.principal.id.value +
                            ": submit your own events"));
    auto t = publish(*e);
    if (!t) return fail(t.status());
    json j = tracked_json(e->id, *t);
    j["status_url"] = "/v1/events/" + to_hex(e->id.view());
    Response resp = json_response(202, j.dump());
    resp.headers.emplace_back("Location", j["status_url"].get<std::string>());
    return resp;
  }

  Response event_status(const Request& r, const Caller& c) {
    auto id = event_id_from_hex(r.params.at("id"), "the event id");
    if (!id) return fail(id.status());
    std::optional<Tracked> t;
    {
      std::lock_guard lock(tracked_mu_);
      auto it = tracked_.find(to_hex(id->view()));
      if (it != tracked_.end()) t = it->second;
    }
    if (t) {
      if (!can_read_event(c, t->issuer, t->subject))
        return fail(
            forbidden("only the issuer, the agency it is about, the authority and "
                      "auditors see an event's status"));
      return json_response(200, tracked_json(*id, *t).dump());
    }
    // Not submitted here (or long ago): the ledger itself.
    for (int p = 0; p < ctx_.partitions; ++p) {
      auto l = shard(p);
      if (!l) return fail(l.status());
      auto e = (*l)->get_by_event(*id);
      if (!e) continue;
      auto ev = decode_logged_wire(e->wire);
      if (!ev) return fail(ev.status());
      if (!can_read_event(c, ev->issuer, ev->subject))
        return fail(
            forbidden("only the issuer, the agency it is about, the authority and "
                      "auditors see an event's status"));
      Tracked found{Tracked::State::kAccepted, ev->issuer, ev->subject, p, e->seq.value, {}};
      return json_response(200, tracked_json(*id, found).dump());
    }
    return fail(Status(Reason::kNotFound, "no event " + to_hex(id->view()) +
                                              " was submitted here or is in the ledger"));
  }

  // ---- Complaints ----

  bool rate_ok(RateLimiter& rl, const Request& r, Response* out) {
    std::int64_t retry = 0;
    if (rl.take(r.remote, now_ms(), &retry)) return true;
    metrics_.rate_limited();
    *out = fail(
        Status(Reason::kRateLimited, "too many requests from your address; please try again in " +
                                         std::to_string(retry / 1000 + 1) + " seconds"));
    out->headers.emplace_back("Retry-After", std::to_string(retry / 1000 + 1));
    return false;
  }

  Response file_complaint(const Request& r, const Caller&) {
    if (!ctx_.complaint_key || !ctx_.vault)
      return fail(Status(Reason::kUnavailable, "this server does not take complaints"));
    Response limited;
    if (!rate_ok(complaints_, r, &limited)) return limited;
    auto parsed = json_object_body(r);
    if (!parsed) return fail(parsed.status());
    json& body = *parsed;
    for (const auto& [k, v] : body.items())
      if (k != "agency" && k != "category" && k != "summary" && k != "contact")
        return fail(Status(Reason::kFieldUnknown,
                           "unknown field '" + k.substr(0, 40) +
                               "': send agency, summary, and optionally category and contact"));
    auto str = [&](const char* k) -> std::optional<std::string> {
      auto it = body.find(k);
      if (it == body.end() || it->is_null()) return std::string();
      if (!it->is_string()) return std::nullopt;
      return it->get<std::string>();
    };
    auto agency = str("agency"), summary = str("summary"), contact = str("contact"),
         category = str("category");
    if (!agency || !summary || !contact || !category)
      return fail(Status(Reason::kFieldType, "agency, summary, category and contact are strings"));
    if (agency->empty())
      return fail(Status(Reason::kFieldMissing, "say which agency the complaint is about"));
    if (summary->empty())
      return fail(Status(Reason::kFieldMissing, "describe what happened (summary)"));
    if (contact->size() > 1000)
      return fail(Status(Reason::kFieldTooLong, "contact details are limited to 1000 bytes"));
    if (!is_valid_utf8(*contact))
      return fail(Status(Reason::kUtf8Invalid, "contact details must be UTF-8 text"));
    std::optional<Category> cat;
    if (!category->empty()) {
      cat = enum_from_name<Category>(*category);
      if (!cat)
        return fail(
            Status(Reason::kFieldInvalid, "unknown category '" + category->substr(0, 40) + "'"));
    }
    auto reg = registry();
    if (!reg) return fail(reg.status());
    if (!is_identifier(*agency) || !(*reg)->agency(AgencyId(*agency)))
      return fail(Status(Reason::kAgencyUnknown,
                         "no agency '" + agency->substr(0, 80) + "'; pick one from /v1/directory"));
    const KeyInfo* k = (*reg)->key(ctx_.complaint_key->key_id());
    if (!k)
      return fail(Status(Reason::kUnavailable, "the complaint channel's key is not registered"));

    auto shard_l = shard_of(*agency);
    if (!shard_l) return fail(shard_l.status());
    const std::string secret = random_from(kBase32, 5) + "-" + random_from(kBase32, 5) + "-" +
                               random_from(kBase32, 5) + "-" + random_from(kBase32, 5);
    Event e;
    random_bytes(e.id.bytes);
    e.subject = AgencyId(*agency);
    e.issuer = k->principal;
    e.issued_at = now();
    std::string receipt;
    for (int attempt = 0; attempt < 5; ++attempt) {  // receipts are unique per shard
      std::uint32_t number;
      random_bytes({reinterpret_cast<std::uint8_t*>(&number), sizeof number});
      receipt = complaint_receipt(e.issued_at, number % 100000000);
      if (!complaint_by_receipt(**shard_l, receipt)) break;
    }
    ComplaintFiled cf{receipt, cat, *summary, {}, sha256(secret)};
    DataKey data_key = new_data_key();
    if (!contact->empty()) {
      auto sealed = seal_contact(data_key, e.id, *contact);
      if (!sealed) return fail(sealed.status());
      cf.contact_sealed = std::move(*sealed);
    }
    e.payload = std::move(cf);
    sign_event(e, *ctx_.complaint_key);
    if (Status s = validate_event(e); !s) return fail(s);
    // The data key is kept before the complaint is published, so an accepted complaint never
    // lacks its key; a rejected one's key is destroyed again.
    if (!contact->empty()) {
      std::lock_guard lock(vault_mu_);
      if (Status s = ctx_.vault->put(e.id, data_key); !s) return fail(s);
    }
    auto t = publish(e);
    if (!t || t->state == Tracked::State::kRejected) {
      if (!contact->empty()) {
        std::lock_guard lock(vault_mu_);
        (void)ctx_.vault->erase(e.id);
      }
      return fail(t ? t->reason : t.status());
    }
    metrics_.complaint_filed();
    json j = {{"receipt", receipt},
              {"secret", secret},
              {"complaint", to_hex(e.id.view())},
              {"status", std::string(state_name(t->state))},
              {"filed_at", format_time(e.issued_at)},
              {"partition", t->partition}};
    if (t->state == Tracked::State::kAccepted) j["seq"] = t->seq;
    return json_response(t->state == Tracked::State::kAccepted ? 201 : 202, j.dump());
  }

  Response lookup_complaint(const Request& r, const Caller&) {
    Response limited;
    if (!rate_ok(lookups_, r, &limited)) return limited;
    auto parsed = json_object_body(r);
    if (!parsed) return fail(parsed.status());
    json& body = *parsed;
    if (!body.contains("receipt") || !body.contains("secret") || !body["receipt"].is_string() ||
        !body["secret"].is_string())
      return fail(Status(Reason::kFieldMissing,
                         "send {\"receipt\": ..., \"secret\": ...} as given when you filed"));
    std::string receipt = body["receipt"].get<std::string>();
    std::string secret = body["secret"].get<std::string>();
    for (char& ch : secret) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const Status unknown(Reason::kNotFound,
                         "no complaint has this receipt number and secret; check both");
    if (receipt.empty() || receipt.size() > 32) return fail(unknown);
    Digest want = sha256(secret);
    for (int p = 0; p < ctx_.partitions; ++p) {
      auto l = shard(p);
      if (!l) return fail(l.status());
      EventId id;
      auto cs = complaint_by_receipt(**l, receipt, &id);
      if (!cs) {
        if (cs.status().reason() == Reason::kNotFound) continue;
        return fail(cs.status());
      }
      if (CRYPTO_memcmp(cs->secret_digest.bytes.data(), want.bytes.data(), 32) != 0)
        return fail(unknown);
      auto v = complaint_view(**l, id);
      if (!v) return fail(v.status());
      (*v)["partition"] = p;
      auto reg = registry();
      if (reg)
        if (const AgencyInfo* a = (*reg)->agency(cs->agency)) {
          (*v)["agency_name_zh"] = a->name_zh;
          (*v)["agency_name_en"] = a->name_en;
        }
      return json_response(200, v->dump());
    }
    // A complaint just published through Kafka may not be in the shard yet.
    return fail(unknown);
  }

  // ---- Operations ----

  Response readyz(const Request&, const Caller&) {
    json shards = json::array();
    bool ready = true;
    for (int p = 0; p < ctx_.partitions; ++p) {
      Ledger* l = ctx_.shard ? ctx_.shard(Partition{p}) : nullptr;
      if (!l) {
        ready = false;
        shards.push_back({{"partition", p}, {"available", false}});
        continue;
      }
      shards.push_back({{"partition", p}, {"available", true}, {"size", l->head().size}});
    }
    return json_response(ready ? 200 : 503,
                         json{{"status", ready ? "ready" : "starting"}, {"shards", shards}}.dump());
  }

  Response metrics(const Request& r, const Caller& c) {
    if (!r.loopback && !reads_all(c))
      return fail(c.authenticated
                      ? forbidden("metrics are for the authority and auditors")
                      : Status(Reason::kUnauthenticated,
                               "/metrics answers loopback clients, or signed requests"));
    std::vector<ShardFigures> shards;
    for (int p = 0; p < ctx_.partitions; ++p) {
      Ledger* l = ctx_.shard ? ctx_.shard(Partition{p}) : nullptr;
      if (!l) continue;
      shards.push_back({p, l->head().size, l->rejection_count(), l->store_bytes()});
    }
    Response resp = json_response(200, metrics_.render(shards));
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return resp;
  }

  Response demo_identities(const Request&, const Caller&) {
    std::ifstream in(ctx_.demo_identities, std::ios::binary);
    if (ctx_.demo_identities.empty() || !in)
      return fail(Status(Reason::kNotFound, "no demo identities on this server"));
    std::stringstream ss;
    ss << in.rdbuf();
    return json_response(200, ss.str());
  }

  Response static_file(const std::string& name) {
    static const std::map<std::string, std::string> kTypes = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".json", "application/json; charset=utf-8"},
        {".yaml", "application/yaml; charset=utf-8"},
        {".ico", "image/x-icon"},
        {".png", "image/png"}};
    const Status missing(Reason::kNotFound, "no such page: /" + name.substr(0, 80));
    if (ctx_.web_dir.empty() || name.empty() || name.size() > 64 || name[0] == '.' ||
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos)
      return fail(missing);
    std::size_t dot = name.rfind('.');
    auto type = kTypes.find(dot == std::string::npos ? "" : name.substr(dot));
    if (type == kTypes.end()) return fail(missing);
    std::ifstream in(ctx_.web_dir + "/" + name, std::ios::binary);
    if (!in) return fail(missing);
    std::stringstream ss;
    ss << in.rdbuf();
    Response r;
    r.body = ss.str();
    r.content_type = type->second;
    if (type->first == ".html")
      r.headers.emplace_back("Content-Security-Policy",
                             "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                             "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
    return r;
  }

  ApiContext ctx_;
  Metrics metrics_;

 private:
  auth::NonceCache nonces_;
  RateLimiter complaints_;
  RateLimiter lookups_;
  std::mutex caches_mu_;
  std::vector<std::unique_ptr<StatusCache>> caches_;
  std::mutex registry_mu_;
  std::shared_ptr<const Registry> registry_;  // GUARDED_BY(registry_mu_)
  std::uint64_t registry_size_ = 0;
  std::int64_t registry_at_ = 0;
  std::mutex tracked_mu_;
  std::unordered_map<std::string, Tracked> tracked_;  // GUARDED_BY(tracked_mu_)
  std::deque<std::string> order_;
  std::mutex vault_mu_;
  std::mutex sessions_mu_;
  std::unordered_map<std::string, Session> sessions_;  // GUARDED_BY(sessions_mu_)
};

}  // namespace

Api make_api(const ApiContext& ctx) {
  auto s = std::make_shared<Service>(ctx);
  Api api;
  http::Router& r = api.router;
  auto bind = [s](Response (Service::*m)(const Request&, const Caller&)) {
    return [s, m](const Request& q, const Caller& c) { return (s.get()->*m)(q, c); };
  };
  r.add("GET", "/healthz", [](const Request&) { return json_response(200, R"({"status":"ok"})"); });
  r.add("GET", "/readyz", s->public_route(bind(&Service::readyz)));
  r.add("GET", "/metrics", s->public_route(bind(&Service::metrics)));
  r.add("GET", "/v1/directory", s->public_route(bind(&Service::directory)));
  r.add("POST", "/v1/complaints", s->public_route(bind(&Service::file_complaint)));
  r.add("POST", "/v1/complaints/lookup", s->public_route(bind(&Service::lookup_complaint)));
  r.add("GET", "/v1/demo/identities", s->public_route(bind(&Service::demo_identities)));
  r.add("GET", "/v1/whoami", s->signed_only([](const Request&, const Caller& c) {
    json j = {{"principal", c.principal.id.value},
              {"role", std::string(enum_name(c.principal.role))},
              {"name", c.principal.display_name},
              {"key", c.key.value}};
    if (c.principal.agency) j["agency"] = c.principal.agency->value;
    return json_response(200, j.dump());
  }));
  r.add("POST", "/v1/sessions", s->signed_only(bind(&Service::open_session)));
  r.add("DELETE", "/v1/sessions", s->signed_only(bind(&Service::close_session)));
  r.add("POST", "/v1/events", s->signed_only(bind(&Service::submit)));
  r.add("GET", "/v1/events/{id}", s->signed_only(bind(&Service::event_status)));
  r.add("GET", "/v1/agencies", s->signed_only(bind(&Service::agencies)));
  r.add("GET", "/v1/agencies/{id}", s->signed_only(bind(&Service::agency)));
  r.add("GET", "/v1/agencies/{id}/explain", s->signed_only(bind(&Service::explain)));
  r.add("GET", "/v1/agencies/{id}/trail", s->signed_only(bind(&Service::trail_of)));
  r.add("GET", "/v1/records", s->signed_only(bind(&Service::records)));
  r.add("GET", "/v1/records/{id}", s->signed_only(bind(&Service::record)));
  r.add("GET", "/v1/complaints", s->signed_only(bind(&Service::complaints)));
  r.add("GET", "/v1/recommendations", s->signed_only(bind(&Service::recommendations)));
  r.add("GET", "/v1/reports", s->signed_only(bind(&Service::reports_list)));
  r.add("GET", "/v1/reports/{period}", s->signed_only(bind(&Service::report_file)));
  r.add("GET", "/v1/checkpoints/latest", s->signed_only(bind(&Service::checkpoint)));
  r.add("GET", "/v1/proofs/inclusion", s->signed_only(bind(&Service::inclusion)));
  r.add("GET", "/v1/proofs/consistency", s->signed_only(bind(&Service::consistency)));
  // The pages (static files of web/): last, so that the routes above win.
  r.add("GET", "/", [s](const Request&) { return s->static_file("index.html"); });
  r.add("GET", "/{file}", [s](const Request& q) { return s->static_file(q.params.at("file")); });
  api.observe = [s](const Request& q, const Response& resp, double secs) {
    s->metrics_.observe_http(q.method, resp.route, resp.status, secs);
  };
  api.ingested = [s](Partition p, const std::vector<IngestResult>& results) {
    s->ingested(p, results);
  };
  return api;
}

}  // namespace govcredit
