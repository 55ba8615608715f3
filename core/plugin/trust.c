/* Reading a plugin's files once, and the Ed25519 signature over them (see trust.h). */
#include "plugin/trust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "talentd/types.h"
#include "util/buf.h"
#include "util/mem.h"

#define SIGNATURE_FILE "plugin.sig"
#define SIGNED_HEADER "talentd-plugin-signature-v1\n"

/* Reads dir/rel into blob, refusing files over limit and anything that is not a regular
 * file (a FIFO or device must not hang or feed the loader). */
static int read_blob(const char *dir, const char *rel, size_t limit, td__blob_t *blob, char *why,
                     size_t why_size) {
  char *path = td__xprintf("%s/%s", dir, rel);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  free(path);
  if (fd < 0) {
    snprintf(why, why_size, "cannot open %s: %s", rel, strerror(errno));
    return errno == ENOENT ? TD_ENOTFOUND : TD_EIO;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    snprintf(why, why_size, "%s is not a regular file", rel);
    return TD_EIO;
  }
  if ((size_t)st.st_size > limit) {
    close(fd);
    snprintf(why, why_size, "%s is larger than %zu bytes", rel, limit);
    return TD_ELIMIT;
  }
  size_t size = (size_t)st.st_size;
  char *data = td__xmalloc(size + 1);
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, data + got, size - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (got != size) {
    free(data);
    snprintf(why, why_size, "cannot read %s", rel);
    return TD_EIO;
  }
  data[size] = '\0';
  blob->path = td__xstrdup(rel);
  blob->data = data;
  blob->size = size;
  return 0;
}

static void blob_free(td__blob_t *b) {
  free(b->path);
  free(b->data);
  memset(b, 0, sizeof *b);
}

int td__plugin_read_manifest(const char *dir, td__plugin_files_t *files, char *why, size_t why_size) {
  memset(files, 0, sizeof *files);
  return read_blob(dir, "plugin.json", TD_PLUGIN_MAX_FILE, &files->manifest, why, why_size);
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(((const td__blob_t *)a)->path, ((const td__blob_t *)b)->path);
}

static int read_migrations(const char *dir, td__plugin_files_t *files, char *why, size_t why_size) {
  char *mdir = td__xprintf("%s/migrations", dir);
  DIR *d = opendir(mdir);
  free(mdir);
  if (d == NULL) return 0; /* no migrations */
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".sql") != 0) continue;
    if (files->migration_count == TD_PLUGIN_MAX_MIGRATIONS) {
      snprintf(why, why_size, "more than %d migrations", TD_PLUGIN_MAX_MIGRATIONS);
      rc = TD_ELIMIT;
      break;
    }
    files->migrations =
        td__xrealloc(files->migrations, (files->migration_count + 1) * sizeof *files->migrations);
    td__blob_t *b = &files->migrations[files->migration_count];
    memset(b, 0, sizeof *b);
    char *rel = td__xprintf("migrations/%s", e->d_name);
    rc = read_blob(dir, rel, TD_PLUGIN_MAX_FILE, b, why, why_size);
    free(rel);
    if (rc == 0) files->migration_count++;
  }
  closedir(d);
  if (files->migration_count > 1)
    qsort(files->migrations, files->migration_count, sizeof *files->migrations, name_cmp);
  return rc;
}

int td__plugin_read_files(const char *dir, const json_t *manifest, td__plugin_files_t *files, char *why,
                          size_t why_size) {
  const char *lib = json_string_value(json_object_get(manifest, "library"));
  int rc = read_blob(dir, lib, TD_PLUGIN_MAX_LIBRARY, &files->library, why, why_size);
  if (rc) return rc;
  const char *api = json_string_value(json_object_get(manifest, "openapi"));
  if (api && (rc = read_blob(dir, api, TD_PLUGIN_MAX_FILE, &files->openapi, why, why_size)) != 0) return rc;
  return read_migrations(dir, files, why, why_size);
}

void td__plugin_files_free(td__plugin_files_t *files) {
  blob_free(&files->manifest);
  blob_free(&files->library);
  blob_free(&files->openapi);
  for (size_t i = 0; i < files->migration_count; i++) blob_free(&files->migrations[i]);
  free(files->migrations);
  memset(files, 0, sizeof *files);
}

static void add_line(td__buf_t *msg, const td__blob_t *b) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  crypto_hash_sha256(digest, (const unsigned char *)b->data, b->size);
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  td__buf_printf(msg, "%s  %s\n", hex, b->path);
}

char *td__plugin_signed_message(const td__plugin_files_t *files) {
  td__buf_t msg = {0};
  td__buf_append(&msg, SIGNED_HEADER, strlen(SIGNED_HEADER));
  add_line(&msg, &files->manifest);
  add_line(&msg, &files->library);
  if (files->openapi.data) add_line(&msg, &files->openapi);
  for (size_t i = 0; i < files->migration_count; i++) add_line(&msg, &files->migrations[i]);
  return td__buf_take(&msg);
}

static int hex_to_bin(const char *hex, unsigned char *out, size_t out_size) {
  size_t len = 0;
  if (hex == NULL || strlen(hex) != out_size * 2) return -1;
  if (sodium_hex2bin(out, out_size, hex, out_size * 2, NULL, &len, NULL) != 0 || len != out_size) return -1;
  return 0;
}

int td__plugin_verify(const char *dir, const td__plugin_files_t *files, const json_t *trusted_keys, char *why,
                      size_t why_size) {
  td__blob_t sig_file = {0};
  if (read_blob(dir, SIGNATURE_FILE, 1024, &sig_file, why, why_size) != 0) {
    snprintf(why, why_size, "the plugin is not signed (no %s)", SIGNATURE_FILE);
    return TD_EDENIED;
  }
  unsigned char sig[crypto_sign_BYTES];
  size_t n = sig_file.size;
  while (n > 0 && (sig_file.data[n - 1] == '\n' || sig_file.data[n - 1] == ' ')) sig_file.data[--n] = '\0';
  int bad = hex_to_bin(sig_file.data, sig, sizeof sig);
  blob_free(&sig_file);
  if (bad) {
    snprintf(why, why_size, "%s is not a hex Ed25519 signature", SIGNATURE_FILE);
    return TD_EDENIED;
  }
  if (json_array_size(trusted_keys) == 0) {
    snprintf(why, why_size, "the plugin is signed but no key is trusted (plugins.trusted_keys)");
    return TD_EDENIED;
  }
  char *msg = td__plugin_signed_message(files);
  int rc = TD_EDENIED;
  size_t i;
  json_t *k;
  json_array_foreach(trusted_keys, i, k) {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    if (hex_to_bin(json_string_value(k), pk, sizeof pk) != 0) continue;
    if (crypto_sign_verify_detached(sig, (const unsigned char *)msg, strlen(msg), pk) == 0) {
      rc = 0;
      break;
    }
  }
  free(msg);
  if (rc) snprintf(why, why_size, "the signature does not verify with any trusted key");
  return rc;
}

void td__plugin_keygen(char public_hex[65], char secret_hex[129]) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  sodium_bin2hex(public_hex, 65, pk, sizeof pk);
  sodium_bin2hex(secret_hex, 129, sk, sizeof sk);
  sodium_memzero(sk, sizeof sk);
}

int td__plugin_sign(const td__plugin_files_t *files, const char *secret_hex, char signature_hex[129]) {
  unsigned char sk[crypto_sign_SECRETKEYBYTES], sig[crypto_sign_BYTES];
  if (hex_to_bin(secret_hex, sk, sizeof sk) != 0) return TD_EINVAL;
  char *msg = td__plugin_signed_message(files);
  crypto_sign_detached(sig, NULL, (const unsigned char *)msg, strlen(msg), sk);
  free(msg);
  sodium_memzero(sk, sizeof sk);
  sodium_bin2hex(signature_hex, 129, sig, sizeof sig);
  return 0;
}
