#ifndef CHATD_CSQLITEWAL_H
#define CHATD_CSQLITEWAL_H

/// Registers "chatd-wal", a SQLite VFS over the default one that gathers
/// the frames of a write-ahead-log commit into few pwrites (WALBuffer.c),
/// and makes it the default VFS of the process. Idempotent and thread-safe.
/// Returns a SQLite result code (SQLITE_OK = 0).
int chatd_wal_vfs_register(void);

/// Frames written to WAL files through chatd-wal since the process started,
/// and the pwrite calls that wrote them: how well commits were gathered.
void chatd_wal_vfs_statistics(long long *writes, long long *flushes);

#endif
