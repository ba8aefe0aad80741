// Sealing of complainants' contact details and the data-key vault (include/govcredit/privacy.h).
#include "govcredit/privacy.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "../ledger/lmdb.h"
#include "govcredit/crypto.h"
#include "govcredit/encoding.h"

namespace govcredit {
namespace {

constexpr std::string_view kAadPrefix{"govcredit/contact/v1\0", 21};
constexpr std::size_t kNonce = 12, kTag = 16;

Bytes aad_for(const EventId& id) {
  Bytes aad(kAadPrefix.size() + 16);
  std::memcpy(aad.data(), kAadPrefix.data(), kAadPrefix.size());
  std::memcpy(aad.data() + kAadPrefix.size(), id.bytes.data(), 16);
  return aad;
}

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

}  // namespace

DataKey new_data_key() {
  DataKey k;
  random_bytes(k.bytes);
  return k;
}

Result<Bytes> seal_contact(const DataKey& key, const EventId& complaint, std::string_view contact,
                           ByteView nonce) {
  if (!nonce.empty() && nonce.size() != kNonce)
    return Status(Reason::kInvalidArgument, "a nonce is 12 bytes");
  Bytes out(kNonce + contact.size() + kTag);
  if (nonce.empty())
    random_bytes(std::span<std::uint8_t>(out.data(), kNonce));
  else
    std::memcpy(out.data(), nonce.data(), kNonce);
  Bytes aad = aad_for(complaint);
  CipherCtx c;
  int len = 0;
  bool ok =
      c.ctx &&
      EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, key.bytes.data(), out.data()) == 1 &&
      EVP_EncryptUpdate(c.ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(c.ctx, out.data() + kNonce, &len,
                        reinterpret_cast<const std::uint8_t*>(contact.data()),
                        static_cast<int>(contact.size())) == 1 &&
      EVP_EncryptFinal_ex(c.ctx, out.data() + kNonce + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTag),
                          out.data() + kNonce + contact.size()) == 1;
  if (!ok) return Status(Reason::kInternal, "AES-256-GCM sealing failed");
  return out;
}

Result<std::string> open_contact(const DataKey& key, const EventId& complaint, ByteView sealed) {
  if (sealed.size() < kNonce + kTag)
    return Status(Reason::kCorrupt, "a sealed contact is at least 28 bytes");
  const std::size_t n = sealed.size() - kNonce - kTag;
  std::string out(n, '\0');
  Bytes aad = aad_for(complaint);
  Bytes tag(sealed.end() - kTag, sealed.end());
  CipherCtx c;
  int len = 0;
  bool ok =
      c.ctx &&
      EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, key.bytes.data(), sealed.data()) == 1 &&
      EVP_DecryptUpdate(c.ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(c.ctx, reinterpret_cast<std::uint8_t*>(out.data()), &len,
                        sealed.data() + kNonce, static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTag), tag.data()) == 1;
  std::uint8_t final_block[16];
  if (!ok || EVP_DecryptFinal_ex(c.ctx, final_block, &len) != 1)
    return Status(Reason::kCorrupt,
                  "the sealed contact does not open with this key for this complaint (wrong key, "
                  "wrong complaint, or altered bytes)");
  return out;
}

// ---- The vault ----

struct KeyVault::Impl {
  std::string dir;
  int lock_fd = -1;
  std::unique_ptr<lmdb::Env> env;
  MDB_dbi keys = 0;

  void finish_interrupted_erase();
  void compact_and_shred();
  // An erase's marker, on disk from before its transaction until its old file is shredded.
  std::string erasing() const { return dir + "/erasing"; }
  void erase_started();
  void erase_done();
  void open_env() {
    env = std::make_unique<lmdb::Env>(dir, lmdb::EnvOptions{std::size_t{64} << 20, 4, false});
    keys = env->open_db("keys");
  }
  ~Impl() {
    env.reset();
    if (lock_fd >= 0) ::close(lock_fd);
  }
};

KeyVault::KeyVault(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeyVault::~KeyVault() = default;

Result<std::unique_ptr<KeyVault>> KeyVault::open(const std::string& dir) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Status(Reason::kIoError, "cannot create the key vault " + dir + ": " + ec.message());
  impl->lock_fd = ::open((dir + "/vault.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (impl->lock_fd < 0 || ::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0)
    return Status(Reason::kIoError, "the key vault " + dir +
                                        " is in use by another process (stop the service first)");
  try {
    // An erase that did not finish (its marker is still there) may have deleted the key from the
    // live data without the compaction that takes its bytes out of the file's free pages: do
    // that part again.
    bool interrupted = std::filesystem::exists(impl->erasing());
    if (!std::filesystem::exists(dir + "/data.mdb") &&
        std::filesystem::exists(dir + "/data.mdb.erased")) {
      // An erase stopped between its two renames: the old file is the whole vault (the key was
      // already deleted from it); take it back and compact it again.
      std::filesystem::rename(dir + "/data.mdb.erased", dir + "/data.mdb");
      interrupted = true;
    }
    impl->finish_interrupted_erase();
    impl->open_env();
    if (interrupted) impl->compact_and_shred();
    impl->erase_done();
  } catch (const std::exception& e) {
    return Status(Reason::kStorageError, e.what());
  }
  return std::unique_ptr<KeyVault>(new KeyVault(std::move(impl)));
}

namespace {
Status closed_vault() {
  return Status(Reason::kStorageError,
                "the key vault was left closed by a failed erase; open it again (open() finishes "
                "the erase)");
}
}  // namespace

Status KeyVault::put(const EventId& complaint, const DataKey& key) {
  if (!impl_->env) return closed_vault();
  try {
    impl_->env->write([&](lmdb::Txn& txn) {
      txn.put(impl_->keys, lmdb::val(complaint.view()), lmdb::val(key.view()));
    });
  } catch (const std::exception& e) {
    return Status(Reason::kStorageError, e.what());
  }
  return Status::ok();
}

Result<std::optional<DataKey>> KeyVault::get(const EventId& complaint) const {
  if (!impl_->env) return closed_vault();
  std::optional<DataKey> out;
  try {
    impl_->env->read([&](const lmdb::Txn& txn) {
      if (auto v = txn.find(impl_->keys, lmdb::val(complaint.view())); v && v->size() == 32) {
        DataKey k;
        std::memcpy(k.bytes.data(), v->data(), 32);
        out = k;
      }
    });
  } catch (const std::exception& e) {
    return Status(Reason::kStorageError, e.what());
  }
  return out;
}

std::size_t KeyVault::size() const {
  if (!impl_->env) return 0;
  std::size_t n = 0;
  try {
    impl_->env->read([&](const lmdb::Txn& txn) { n = txn.count(impl_->keys); });
  } catch (const std::exception&) {
  }
  return n;
}

namespace {

void fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Overwrites a file with zeros, syncs it and removes it.
void shred(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    off_t size = ::lseek(fd, 0, SEEK_END);
    ::lseek(fd, 0, SEEK_SET);
    std::vector<char> zeros(1 << 16, 0);
    for (off_t done = 0; done < size;) {
      auto n = ::write(fd, zeros.data(),
                       static_cast<std::size_t>(std::min<off_t>(size - done, 1 << 16)));
      if (n <= 0) break;
      done += n;
    }
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

}  // namespace

void KeyVault::Impl::finish_interrupted_erase() {
  // An erase that stopped after swapping the files leaves the old file behind: finish it.
  if (std::filesystem::exists(dir + "/data.mdb.erased")) shred(dir + "/data.mdb.erased");
  std::error_code ec;
  std::filesystem::remove_all(dir + "/compact", ec);
}

// The deleted key is gone from the live data, but LMDB's free pages may still hold old copies:
// write a compact copy (no free pages), swap it in, then overwrite and remove the old file. A
// crash at any point leaves a whole vault; open() finishes an interrupted swap or shred.
void KeyVault::Impl::compact_and_shred() {
  namespace fs = std::filesystem;
  const std::string data = dir + "/data.mdb", old = dir + "/data.mdb.erased",
                    tmp = dir + "/compact";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  lmdb::check(mdb_env_copy2(env->get(), tmp.c_str(), MDB_CP_COMPACT), "mdb_env_copy2");
  fsync_path(tmp + "/data.mdb", O_RDONLY);
  env.reset();
  fs::rename(data, old);
  fs::rename(tmp + "/data.mdb", data);
  fsync_path(dir, O_RDONLY | O_DIRECTORY);
  finish_interrupted_erase();
  open_env();
}

void KeyVault::Impl::erase_started() {
  const int fd = ::open(erasing().c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot write " + erasing() + ": " + std::strerror(err));
  }
  ::close(fd);
  fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

void KeyVault::Impl::erase_done() {
  if (::unlink(erasing().c_str()) == 0) fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

Status KeyVault::erase(const EventId& complaint) {
  if (!impl_->env) return closed_vault();
  bool found = false;
  try {
    impl_->erase_started();
    impl_->env->write([&](lmdb::Txn& txn) {
      found = txn.find(impl_->keys, lmdb::val(complaint.view())).has_value();
      if (!found) return;
      std::uint8_t zeros[32] = {};
      txn.put(impl_->keys, lmdb::val(complaint.view()), MDB_val{32, zeros});
      txn.erase(impl_->keys, lmdb::val(complaint.view()));
    });
    if (!found) {
      impl_->erase_done();
      return Status(Reason::kNotFound,
                    "the vault holds no key for complaint " + to_hex(complaint.view()));
    }
    impl_->compact_and_shred();
    impl_->erase_done();
  } catch (const std::exception& e) {
    return Status(Reason::kStorageError, std::string("erasing the key: ") + e.what());
  }
  return Status::ok();
}

}  // namespace govcredit
