#include "common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace govcredit::cli {

Result<std::string> read_file(const std::string& path) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Reason::kIoError, "cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_file(const std::string& path, std::string_view data, bool private_mode) {
  if (path == "-") {
    std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
    std::cout.flush();
    return Status::ok();
  }
  // Write to a temporary file and rename, so a crash never leaves half a key or vector.
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, private_mode ? 0600 : 0644);
  if (fd < 0) return Status(Reason::kIoError, "cannot write " + path + ": " + std::strerror(errno));
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status(Reason::kIoError, "cannot write " + path + ": " + std::strerror(err));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0)
    return Status(Reason::kIoError, "cannot write " + path + ": " + std::strerror(errno));
  return Status::ok();
}

Result<PrivateKey> load_private_key(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.status();
  auto k = PrivateKey::from_pem(*text);
  if (!k) return Status(Reason::kIoError, path + ": " + k.status().message());
  return k;
}

Result<PublicKey> load_public_key(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.status();
  auto k = PublicKey::from_pem(*text);
  if (!k) return Status(Reason::kIoError, path + ": " + k.status().message());
  return k;
}

int report(const Status& s) {
  std::cerr << "error: " << s.to_string() << "\n";
  switch (s.reason()) {
    case Reason::kOk: return kExitOk;
    case Reason::kIoError:
    case Reason::kStorageError: return kExitIo;
    case Reason::kInvalidArgument: return kExitUsage;
    case Reason::kInternal: return kExitInternal;
    default: return kExitRejected;
  }
}

}  // namespace govcredit::cli
