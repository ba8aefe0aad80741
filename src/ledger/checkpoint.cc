#include "govcredit/checkpoint.h"

#include <charconv>
#include <cstring>

#include "govcredit/encoding.h"

namespace govcredit {
namespace {
constexpr std::string_view kDash = "\xE2\x80\x94 ";  // U+2014 EM DASH and a space

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

std::string Checkpoint::body() const {
  return origin + "\n" + std::to_string(size) + "\n" + to_base64(root.view()) + "\ntime " +
         std::to_string(time.ms) + "\n";
}

std::array<std::uint8_t, 4> note_key_hash(std::string_view name, const PublicKeyBytes& key) {
  Sha256 h;
  static constexpr std::uint8_t kEd25519 = 0x01;
  h.update(name).update(std::string_view("\n")).update(ByteView(&kEd25519, 1)).update(key.view());
  Digest d = h.finish();
  return {d.bytes[0], d.bytes[1], d.bytes[2], d.bytes[3]};
}

namespace {
// "— <origin> base64(key hash ‖ signature)\n": key's signature line for c's body.
std::string signature_line(const Checkpoint& c, const PrivateKey& key) {
  Signature sig = key.sign(as_bytes(c.body()));
  auto kh = note_key_hash(c.origin, key.public_key().bytes());
  Bytes blob(kh.begin(), kh.end());
  blob.insert(blob.end(), sig.bytes.begin(), sig.bytes.end());
  return std::string(kDash) + c.origin + " " + to_base64(blob) + "\n";
}
}  // namespace

Checkpoint sign_checkpoint(std::string origin, std::uint64_t size, const Digest& root,
                           Timestamp time, const PrivateKey& key) {
  Checkpoint c{std::move(origin), size, root, time, {}};
  c.text = c.body() + "\n" + signature_line(c, key);
  return c;
}

Checkpoint cosign_checkpoint(const Checkpoint& c, const PrivateKey& key) {
  Checkpoint out = c;
  out.text += signature_line(c, key);
  return out;
}

Result<Checkpoint> parse_checkpoint(std::string_view text) {
  auto bad = [](std::string what) {
    return Status(Reason::kCorrupt, "not a govcredit checkpoint: " + what);
  };
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return bad("the last line has no newline");
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  if (lines.size() < 6 || !lines[4].empty())
    return bad("expected four body lines, a blank line and a signature");
  Checkpoint c;
  c.origin = std::string(lines[0]);
  if (c.origin.empty()) return bad("empty origin");
  if (!parse_u64(lines[1], c.size)) return bad("the tree size is not a decimal number");
  auto root = from_base64(lines[2]);
  if (!root || root->size() != 32) return bad("the root is not a base64 SHA-256 hash");
  std::memcpy(c.root.bytes.data(), root->data(), 32);
  std::uint64_t ms = 0;
  if (lines[3].substr(0, 5) != "time " || !parse_u64(lines[3].substr(5), ms))
    return bad("the time line is malformed");
  c.time.ms = static_cast<std::int64_t>(ms);
  for (std::size_t i = 5; i < lines.size(); ++i)
    if (lines[i].substr(0, kDash.size()) != kDash)
      return bad("a signature line does not start with an em dash");
  c.text = std::string(text);
  return c;
}

Status verify_checkpoint(const Checkpoint& c, const PublicKey& key) {
  auto kh = note_key_hash(c.origin, key.bytes());
  std::string prefix = std::string(kDash) + c.origin + " ";
  std::size_t pos = 0;
  std::string body = c.body();
  if (c.text.compare(0, body.size(), body) != 0)
    return Status(Reason::kCorrupt, "the checkpoint text does not match its fields");
  while ((pos = c.text.find(prefix, pos)) != std::string::npos) {
    std::size_t end = c.text.find('\n', pos);
    auto blob = from_base64(
        std::string_view(c.text).substr(pos + prefix.size(), end - pos - prefix.size()));
    pos = end;
    if (!blob || blob->size() != 68 || !std::equal(kh.begin(), kh.end(), blob->begin())) continue;
    Signature sig;
    std::memcpy(sig.bytes.data(), blob->data() + 4, 64);
    if (key.verify(as_bytes(body), sig)) return Status::ok();
    return Status(Reason::kSignatureInvalid,
                  "the checkpoint signature by " + c.origin + " is invalid");
  }
  return Status(Reason::kKeyUnknown,
                "the checkpoint carries no signature by this key for " + c.origin);
}

}  // namespace govcredit
