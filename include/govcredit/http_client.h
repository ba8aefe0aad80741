// A small HTTP/1.1 client for the command line's conversations with a govcredit server (fetching
// a checkpoint or a proof to verify against): one request per connection, http:// or https://
// (certificate and host name verified), optionally signed with a principal's key (auth.h).
#pragma once

#include <map>
#include <string>

#include "govcredit/crypto.h"
#include "govcredit/status.h"

namespace govcredit::http {

struct Url {
  bool tls = false;
  std::string host;          // a name, an IPv4 address or an IPv6 address without brackets
  std::string port;          // "80" / "443" when the URL gives none
  std::string target = "/";  // path and query
};

// "http(s)://host[:port][/path?query]"; kInvalidArgument for anything else.
Result<Url> parse_url(const std::string& url);

struct FetchOptions {
  std::string method = "GET";
  std::string body{};
  const PrivateKey* key = nullptr;  // signs the request when set
  std::string ca_file{};            // trust these certificates (default: the system's)
  int timeout_ms = 30000;
};

struct FetchResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names as the server sent them
};

// One request. kUnavailable when the server cannot be reached, the TLS handshake fails (an
// untrusted certificate included) or the exchange times out. Any HTTP status is a result.
Result<FetchResult> fetch(const Url& url, const FetchOptions& options = {});

}  // namespace govcredit::http
