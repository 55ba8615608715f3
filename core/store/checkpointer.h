/* The WAL checkpointer: a thread with its own connection that copies committed WAL frames
 * into the database file. Taking this off the writer thread (whose connection has
 * wal_autocheckpoint off) keeps checkpoint I/O out of every group commit's critical path. */
#ifndef TD_STORE_CHECKPOINTER_H
#define TD_STORE_CHECKPOINTER_H

typedef struct td__checkpointer td__checkpointer_t;

/* Starts checkpointing db_path every interval_ms (PASSIVE: never blocks the writer or
 * readers). Returns 0 or TD_EIO. */
int td__checkpointer_start(const char *db_path, unsigned interval_ms, td__checkpointer_t **out);
/* Runs a last checkpoint, stops the thread and frees cp. */
void td__checkpointer_stop(td__checkpointer_t *cp);

#endif
