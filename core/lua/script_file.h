/* A Lua script read from a file by the command line (talentd script load, dry-run). */
#ifndef TD_LUA_SCRIPT_FILE_H
#define TD_LUA_SCRIPT_FILE_H

#include <stddef.h>

/* Reads the whole text file at path, at most max bytes, NUL-terminated (length in *len).
 * NULL when it cannot be read, is larger, or holds a NUL byte: why says which. */
char *td__script_file_read(const char *path, size_t max, size_t *len, char *why, size_t why_size);

/* The script name of a path: its base name without ".lua" ("rules/auto-tag.lua" -> "auto-tag"). */
void td__script_file_name(const char *path, char *out, size_t size);

#endif
