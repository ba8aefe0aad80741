// Holds a read transaction open on each LMDB environment named, so that no page freed after it
// starts can be reused by the writer: every commit's pages then come from the file's end.
#include <lmdb.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    MDB_env* env; MDB_txn* txn;
    int rc = mdb_env_create(&env);
    if (!rc) rc = mdb_env_set_maxdbs(env, 64);
    if (!rc) rc = mdb_env_open(env, argv[i], MDB_RDONLY, 0644);
    if (!rc) rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc) { fprintf(stderr, "%s: %s\n", argv[i], mdb_strerror(rc)); return 1; }
    fprintf(stderr, "pinned %s at txn %zu\n", argv[i], mdb_txn_id(txn));
  }
  pause();
  return 0;
}
