#include <sys/stat.h>

#include <iostream>

#include "common.h"

namespace govcredit::cli {

void register_keygen(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand(
      "keygen",
      "Create an Ed25519 key pair: PATH.key (PKCS#8 PEM, mode 0600) and PATH.pub "
      "(SubjectPublicKeyInfo PEM). Prints the key id.");
  auto out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  cmd->add_option("--out", *out, "path prefix of the two files, e.g. keys/src.audit")->required();
  cmd->add_flag("--force", *force, "overwrite existing files");
  cmd->callback([&run, out, force] {
    run = [out, force]() -> int {
      struct stat st;
      if (!*force &&
          (::stat((*out + ".key").c_str(), &st) == 0 || ::stat((*out + ".pub").c_str(), &st) == 0))
        return report(Status(Reason::kInvalidArgument,
                             *out + ".key or .pub exists; pass --force to replace it"));
      auto key = PrivateKey::generate();
      if (!key) return report(key.status());
      if (Status s = write_file(*out + ".key", key->to_pem(), true); !s) return report(s);
      if (Status s = write_file(*out + ".pub", key->public_key().to_pem()); !s) return report(s);
      std::cout << key->key_id().value << "\n";
      return kExitOk;
    };
  });
}

}  // namespace govcredit::cli
