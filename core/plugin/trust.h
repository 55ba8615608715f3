/* What a plugin is made of, read once into memory, and the Ed25519 signature over it.
 *
 * The host reads every file it will use (plugin.json, the library, the OpenAPI fragment,
 * migrations/NNNN_name.sql) into memory exactly once, verifies the signature over those bytes, and
 * then uses only those bytes: the manifest is parsed from them, migrations run from them,
 * and the library is loaded from a sealed memfd holding them. So the bytes verified are
 * the bytes loaded, whatever happens to the files afterwards.
 *
 * The signed message lists each file as "<sha256 hex>  <relative path>\n" (sha256sum's
 * format) after the line "talentd-plugin-signature-v1\n": plugin.json, the library, the
 * OpenAPI fragment when the manifest names one, then the migrations in name order. The
 * signature (plugin.sig beside the manifest) is the 64-byte detached signature in hex. */
#ifndef TD_PLUGIN_TRUST_H
#define TD_PLUGIN_TRUST_H

#include <jansson.h>
#include <stddef.h>

#define TD_PLUGIN_MAX_LIBRARY (64u << 20)
#define TD_PLUGIN_MAX_FILE (1u << 20)
#define TD_PLUGIN_MAX_MIGRATIONS 200

typedef struct td__blob {
  char *path; /* relative to the plugin directory */
  char *data; /* NUL-terminated after size bytes */
  size_t size;
} td__blob_t;

typedef struct td__plugin_files {
  td__blob_t manifest, library, openapi; /* openapi.data NULL when there is none */
  td__blob_t *migrations;                /* in name order */
  size_t migration_count;
} td__plugin_files_t;

/* Reads plugin.json from dir into files->manifest. TD_ENOTFOUND when absent, TD_ELIMIT when
 * too big, TD_EIO. why gets a sentence on failure. */
int td__plugin_read_manifest(const char *dir, td__plugin_files_t *files, char *why, size_t why_size);
/* Reads the rest (library, openapi, migrations) as named by the parsed manifest. */
int td__plugin_read_files(const char *dir, const json_t *manifest, td__plugin_files_t *files, char *why,
                          size_t why_size);
void td__plugin_files_free(td__plugin_files_t *files);

/* The signed message for files (malloc'd). */
char *td__plugin_signed_message(const td__plugin_files_t *files);
/* Verifies dir/plugin.sig over files with any of trusted_keys (a JSON array of hex public
 * keys). Returns 0, or TD_EDENIED with why ("no signature", "signature does not verify with
 * any trusted key"...). */
int td__plugin_verify(const char *dir, const td__plugin_files_t *files, const json_t *trusted_keys, char *why,
                      size_t why_size);

/* For `talentd plugin keygen|sign`: a new key pair (hex strings of 64 and 128 characters,
 * +1 for NUL) and the hex signature of files with a hex secret key. */
void td__plugin_keygen(char public_hex[65], char secret_hex[129]);
int td__plugin_sign(const td__plugin_files_t *files, const char *secret_hex, char signature_hex[129]);

#endif
