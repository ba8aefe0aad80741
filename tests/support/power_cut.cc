#include "support/power_cut.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

extern char** environ;

namespace govcredit::testing {

std::vector<LoggedCall> read_write_log(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<LoggedCall> calls;
  unsigned char head[15];
  while (in.read(reinterpret_cast<char*>(head), sizeof head)) {
    LoggedCall c;
    c.kind = static_cast<char>(head[0]);
    c.fd = head[1] | head[2] << 8;
    for (int i = 0; i < 8; ++i) c.offset |= std::uint64_t{head[3 + i]} << (8 * i);
    std::uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= std::uint32_t{head[11 + i]} << (8 * i);
    c.data.resize(len);
    if (len > 0 && !in.read(reinterpret_cast<char*>(c.data.data()), len)) {
      ADD_FAILURE() << "the write log ends inside a record";
      break;
    }
    calls.push_back(std::move(c));
  }
  return calls;
}

LoggedRun run_logged(const std::vector<std::string>& argv, const std::string& log,
                     const std::vector<std::string>& extra) {
  std::vector<std::string> env = {std::string("LD_PRELOAD=") + GOVCREDIT_WRITE_LOG_SHIM,
                                  "GOVCREDIT_WRITE_LOG=" + log};
  env.insert(env.end(), extra.begin(), extra.end());
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "LD_PRELOAD=", 11) != 0 &&
        std::strncmp(*e, "GOVCREDIT_WRITE_LOG", 19) != 0)
      env.emplace_back(*e);
  std::vector<char*> envp, args;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> copy = argv;
  for (auto& s : copy) args.push_back(s.data());
  args.push_back(nullptr);
  LoggedRun run;
  if (posix_spawn(&run.pid, args[0], nullptr, nullptr, args.data(), envp.data()) != 0) return run;
  run.started = waitpid(run.pid, &run.status, 0) == run.pid;
  return run;
}

std::string answer_in_child(const std::function<std::string()>& check) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    close(fds[0]);
    const std::string answer = check();
    (void)!::write(fds[1], answer.data(), answer.size());
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t k; (k = read(fds[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(k));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return out.empty() ? "no answer" : out;
}

// --- a file's bytes -------------------------------------------------------------------------

void DiskModel::Contents::write(std::uint64_t offset, const Bytes& data, bool durable) {
  const std::uint64_t end = offset + data.size();
  if (cache_.size() < end) cache_.resize(end);
  std::memcpy(cache_.data() + offset, data.data(), data.size());
  for (std::uint64_t s = offset / kSector; s * kSector < end; ++s) {
    if (durable) {
      make_durable(s);
      pending_.erase(s);
    } else {
      Version v;
      copy_sector(s, v.bytes);
      v.size = cache_.size();
      pending_[s].push_back(v);
    }
  }
  if (durable) durable_size_ = std::max(durable_size_, end);
}

void DiskModel::Contents::sync() {
  for (const auto& [s, versions] : pending_) make_durable(s);
  pending_.clear();
  durable_size_ = cache_.size();
}

Bytes DiskModel::Contents::crash(std::mt19937_64& rng, std::size_t& kept) const {
  Bytes image = durable_;
  std::uint64_t size = durable_size_;
  kept = 0;
  for (const auto& [s, versions] : pending_) {
    const std::size_t k = rng() % (versions.size() + 1);
    if (k == 0) continue;  // the disk never took this sector's writes
    ++kept;
    const Version& v = versions[k - 1];
    if (image.size() < (s + 1) * kSector) image.resize((s + 1) * kSector);
    std::memcpy(image.data() + s * kSector, v.bytes, kSector);
    size = std::max(size, std::min((s + 1) * kSector, v.size));
  }
  image.resize(size);
  return image;
}

void DiskModel::Contents::copy_sector(std::uint64_t s, std::uint8_t* out) const {
  std::memset(out, 0, kSector);
  const std::uint64_t from = s * kSector;
  if (from < cache_.size())
    std::memcpy(out, cache_.data() + from, std::min<std::uint64_t>(kSector, cache_.size() - from));
}

void DiskModel::Contents::make_durable(std::uint64_t s) {
  if (durable_.size() < (s + 1) * kSector) durable_.resize((s + 1) * kSector);
  copy_sector(s, durable_.data() + s * kSector);
}

// --- names ----------------------------------------------------------------------------------

namespace {
std::string parent(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}
}  // namespace

void DiskModel::change(std::map<std::string, int>& names, const NameChange& c) {
  switch (c.kind) {
    case NameChange::kAdd:
      names[c.to] = c.file;
      break;
    case NameChange::kRemove:
      if (auto it = names.find(c.from); it != names.end() && it->second == c.file) names.erase(it);
      break;
    case NameChange::kRename:
      if (auto it = names.find(c.from); it != names.end() && it->second == c.file) {
        names.erase(it);
        names[c.to] = c.file;
      }
      break;
  }
}

void DiskModel::add_change(NameChange c) {
  change(live_, c);
  pending_.push_back(std::move(c));
}

std::string DiskModel::apply(const LoggedCall& call) {
  const std::string text = call.text();
  auto file_of = [&](int fd) { return fd_file_.count(fd) ? fd_file_.at(fd) : -1; };
  switch (call.kind) {
    case 'O': {
      if (text.size() >= 15 && text.compare(text.size() - 15, 15, "/power_cut.acks") == 0)
        return "";            // written as 'A' records, never part of a state
      if (call.offset & 1) {  // created by this open
        files_.emplace_back();
        const int f = static_cast<int>(files_.size()) - 1;
        add_change({NameChange::kAdd, "", text, f, parent(text)});
        fd_file_[call.fd] = f;
      } else if (auto it = live_.find(text); it != live_.end()) {
        fd_file_[call.fd] = it->second;
      } else {
        return "opened " + text + ", which was there before the log began";
      }
      return "";
    }
    case 'd':
      fd_dir_[call.fd] = text;
      return "";
    case 'W':
    case 'D': {
      const int f = file_of(call.fd);
      if (f < 0) return "a write through descriptor " + std::to_string(call.fd) + " not opened";
      files_[static_cast<std::size_t>(f)].write(call.offset, call.data, call.kind == 'D');
      return "";
    }
    case 'S': {
      const int f = file_of(call.fd);
      if (f < 0) return "a flush of descriptor " + std::to_string(call.fd) + " not opened";
      files_[static_cast<std::size_t>(f)].sync();
      return "";
    }
    case 'Y': {
      if (!fd_dir_.count(call.fd)) return "a flush of a directory not opened";
      const std::string dir = fd_dir_.at(call.fd);
      std::vector<NameChange> left;
      for (auto& c : pending_) {
        if (c.dir == dir)
          change(durable_, c);
        else
          left.push_back(std::move(c));
      }
      pending_ = std::move(left);
      return "";
    }
    case 'R':
    case 'L': {
      const auto zero = text.find('\0');
      if (zero == std::string::npos) return "a rename record without its two paths";
      const std::string from = text.substr(0, zero), to = text.substr(zero + 1);
      auto it = live_.find(from);
      if (it == live_.end()) return "renamed " + from + ", a file not followed";
      const int f = it->second;
      if (call.kind == 'L') {
        add_change({NameChange::kAdd, "", to, f, parent(to)});
      } else if (parent(from) == parent(to)) {
        add_change({NameChange::kRename, from, to, f, parent(to)});
      } else {  // an entry added to one directory, one taken from the other
        add_change({NameChange::kAdd, "", to, f, parent(to)});
        add_change({NameChange::kRemove, from, "", f, parent(from)});
      }
      return "";
    }
    case 'U': {
      auto it = live_.find(text);
      if (it == live_.end()) return "removed " + text + ", a file not followed";
      add_change({NameChange::kRemove, text, "", it->second, parent(text)});
      return "";
    }
    case 'A': {
      std::size_t start = 0;
      for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
        acks_.push_back(text.substr(start, nl - start));
      if (start != text.size()) return "an acknowledgement not ended by a new line";
      return "";
    }
    default:
      return std::string("an unknown record '") + call.kind + "'";
  }
}

DiskModel::State DiskModel::write_state(std::mt19937_64& rng, const std::string& root,
                                        const std::string& into) const {
  State st;
  // Of each directory's changes since its last flush, a first few.
  std::map<std::string, std::size_t> pending_in, taken_in;
  for (const auto& c : pending_) ++pending_in[c.dir];
  for (const auto& [dir, n] : pending_in) taken_in[dir] = rng() % (n + 1);
  std::map<std::string, int> names = durable_;
  std::map<std::string, std::size_t> seen;
  for (const auto& c : pending_) {
    ++st.unflushed_names;
    if (seen[c.dir]++ < taken_in[c.dir]) {
      change(names, c);
      ++st.kept_names;
    }
  }
  // Each file's bytes once (a file under two names holds the same bytes under both).
  std::map<int, Bytes> images;
  for (const auto& [path, f] : names) {
    if (images.count(f)) continue;
    std::size_t kept = 0;
    images[f] = files_[static_cast<std::size_t>(f)].crash(rng, kept);
    st.unflushed_sectors += files_[static_cast<std::size_t>(f)].unflushed();
    st.kept_sectors += kept;
  }
  for (const auto& [path, f] : names) {
    if (path.rfind(root + "/", 0) != 0) {
      ADD_FAILURE() << "the writer named a file outside its directory: " << path;
      continue;
    }
    const std::string rel = path.substr(root.size() + 1), out = into + "/" + rel;
    std::filesystem::create_directories(parent(out));
    std::ofstream o(out, std::ios::binary | std::ios::trunc);
    const Bytes& b = images.at(f);
    o.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    EXPECT_TRUE(o.good()) << out;
    st.files.push_back(rel);
  }
  return st;
}

}  // namespace govcredit::testing
