// govcredit event sign|verify|canonical|decode: client-side tools over one event.
#include <iostream>

#include "common.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"

namespace govcredit::cli {
namespace {

struct EventArgs {
  std::string in = "-";
  std::string out = "-";
  std::string key;
  std::string pub;
  bool wire = false;
};

int sign(const EventArgs& a) {
  auto key = load_private_key(a.key);
  if (!key) return report(key.status());
  auto text = read_file(a.in);
  if (!text) return report(text.status());
  auto e = event_from_json(*text, JsonReadOptions{.for_signing = true});
  if (!e) return report(e.status());
  sign_event(*e, *key);
  return report_or_ok(write_file(a.out, event_to_json_text(*e, true, 2) + "\n"));
}

int verify(const EventArgs& a) {
  auto key = load_public_key(a.pub);
  if (!key) return report(key.status());
  auto text = read_file(a.in);
  if (!text) return report(text.status());
  auto e = event_from_json(*text);
  if (!e) return report(e.status());
  if (Status s = verify_event_signature(*e, *key); !s) return report(s);
  std::cout << "ok: " << e->type_name() << " " << to_hex(e->id) << " signed by " << e->key_id.value
            << "\n";
  return kExitOk;
}

int canonical(const EventArgs& a) {
  auto text = read_file(a.in);
  if (!text) return report(text.status());
  auto e = event_from_json(*text);
  if (!e) return report(e.status());
  Bytes b = a.wire ? encode_wire(*e) : signing_input(*e);
  return report_or_ok(write_file(a.out, as_chars(b)));
}

int decode(const EventArgs& a) {
  auto bytes = read_file(a.in);
  if (!bytes) return report(bytes.status());
  auto e = decode_wire(as_bytes(*bytes));
  if (!e) return report(e.status());
  return report_or_ok(write_file(a.out, event_to_json_text(*e, true, 2) + "\n"));
}

}  // namespace

void register_event(CLI::App& app, Runner& run) {
  auto* ev = app.add_subcommand(
      "event", "Sign, verify and inspect single events (client side; no ledger needed).");
  ev->require_subcommand(1);
  auto args = std::make_shared<EventArgs>();

  auto* s = ev->add_subcommand(
      "sign",
      "Read an event in JSON (events/FORMAT.md) and write it signed. Missing id, issued_at and "
      "key_id are filled in (random id, the current time, the key's id).");
  s->add_option("--key", args->key, "the signer's private key (PEM)")->required();
  s->add_option("--in", args->in, "input JSON file, - for stdin")->capture_default_str();
  s->add_option("--out", args->out, "output file, - for stdout")->capture_default_str();
  s->callback([&run, args] { run = [args] { return sign(*args); }; });

  auto* v = ev->add_subcommand(
      "verify",
      "Check a signed JSON event's format and its signature under one public key. Exit 0 when "
      "valid, 1 with the reason code when not.");
  v->add_option("--pub", args->pub, "the signer's public key (PEM)")->required();
  v->add_option("--in", args->in, "input JSON file, - for stdin")->capture_default_str();
  v->callback([&run, args] { run = [args] { return verify(*args); }; });

  auto* c = ev->add_subcommand(
      "canonical",
      "Write the canonical signing bytes of a signed JSON event (events/FORMAT.md §2), or with "
      "--wire its wire form (signing bytes + signature).");
  c->add_option("--in", args->in, "input JSON file, - for stdin")->capture_default_str();
  c->add_option("--out", args->out, "output file, - for stdout")->capture_default_str();
  c->add_flag("--wire", args->wire, "write the wire form instead");
  c->callback([&run, args] { run = [args] { return canonical(*args); }; });

  auto* d =
      ev->add_subcommand("decode", "Read an event's wire form (binary) and print it as JSON.");
  d->add_option("--in", args->in, "input file, - for stdin")->capture_default_str();
  d->add_option("--out", args->out, "output file, - for stdout")->capture_default_str();
  d->callback([&run, args] { run = [args] { return decode(*args); }; });
}

}  // namespace govcredit::cli
