// A SQLite VFS that writes a write-ahead-log commit in few pwrites.
//
// SQLite writes a WAL frame as two pwrites, its 24-byte header and then
// the page: a commit of 60 pages is 120 system calls, each taking the
// file's lock and a page-cache lookup. Here a WAL file's writes that follow
// one another in the file are gathered in memory (up to 124 KiB) and
// written together when SQLite writes the page of a commit frame (a frame
// header whose "database size after commit" field is not zero), before that
// write returns. So every frame of a commit is in the file before its commit
// frame's write returns, hence before the sync of the commit (synchronous =
// full) and before the wal-index shows the frames to readers (in every
// synchronous mode). A failed write of gathered bytes is reported by the
// call that wrote them, which fails the commit.
//
// Anything else that touches the file first writes what is gathered: a
// read, a sync, a truncation, its size, a file control, and a write that
// does not continue the gathered bytes (SQLite rewriting a frame in place,
// or starting the log over). Frames of a transaction that spill before it
// commits wait with the commit's; readers never look past the last commit
// frame, and the writer reads them back only after a flush.
//
// What is still gathered when the connection gives up the WAL's write lock
// (or closes the file) belongs to a transaction that did not commit: it is
// dropped, never written. Written later, it could land on frames another
// connection has committed at the same offsets since. A connection writes
// the log only while it holds the write lock, so at that unlock only the
// unlocking connection's WAL file can hold anything; the lock is the main
// database file's, so WAL files are found by name (the database's + "-wal").
//
// Only files opened as WAL files gather; everything else is SQLite's
// default VFS unchanged. A connection is used by one thread at a time, so a
// file's buffer needs no lock of its own.

#include "CSQLiteWAL.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

// The default VFS writes at most 128 KiB - 1 bytes per call (it masks the
// length to 17 bits): a gathered write stays under that, 31 frames of 4 KiB
// pages.
enum { kCapacity = 0x1F000, kFrameHeader = 24 };

typedef struct WALFile {
    sqlite3_file base;      // pMethods: ours
    sqlite3_file *real;     // the default VFS's file, allocated after this struct
    const char *name;       // SQLite's, valid until xClose; NULL for temporary files
    int isWAL, isMainDB;
    struct WALFile *next;   // the open WAL files (walFiles)
    unsigned char *buffer;  // gathered bytes, or NULL
    sqlite3_int64 start;    // their offset in the file
    int length;
    int commitPageNext;     // the last write was the header of a commit frame
} WALFile;

static sqlite3_vfs vfs;
static sqlite3_vfs *defaultVFS;
static sqlite3_io_methods methods;
static _Atomic long long writeCount, flushCount;

static pthread_mutex_t walFilesLock = PTHREAD_MUTEX_INITIALIZER;
static WALFile *walFiles;

/// Drops what the WAL files of database `name` have gathered (see above).
static void dropUncommitted(const char *name) {
    size_t length = strlen(name);
    pthread_mutex_lock(&walFilesLock);
    for (WALFile *w = walFiles; w != NULL; w = w->next) {
        if (w->length > 0 && strncmp(w->name, name, length) == 0 && strcmp(w->name + length, "-wal") == 0) {
            w->length = 0;
            w->commitPageNext = 0;
        }
    }
    pthread_mutex_unlock(&walFilesLock);
}

static int flush(WALFile *f) {
    f->commitPageNext = 0;
    if (f->length == 0) return SQLITE_OK;
    int rc = f->real->pMethods->xWrite(f->real, f->buffer, f->length, f->start);
    f->length = 0;
    atomic_fetch_add_explicit(&flushCount, 1, memory_order_relaxed);
    return rc;
}

static int walWrite(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset) {
    WALFile *f = (WALFile *)file;
    if (!f->isWAL) return f->real->pMethods->xWrite(f->real, data, amount, offset);
    atomic_fetch_add_explicit(&writeCount, 1, memory_order_relaxed);
    // The page that follows a commit frame's header ends the commit.
    int endsCommit = f->commitPageNext;
    f->commitPageNext = 0;
    int rc;
    if (f->length > 0 && (offset != f->start + f->length || f->length + amount > kCapacity)) {
        if ((rc = flush(f)) != SQLITE_OK) return rc;
    }
    if (f->buffer == NULL && amount <= kCapacity) f->buffer = sqlite3_malloc(kCapacity);
    if (f->buffer == NULL || amount > kCapacity) {
        atomic_fetch_add_explicit(&flushCount, 1, memory_order_relaxed);
        return f->real->pMethods->xWrite(f->real, data, amount, offset);
    }
    if (f->length == 0) f->start = offset;
    memcpy(f->buffer + f->length, data, (size_t)amount);
    f->length += amount;
    if (endsCommit) return flush(f);
    if (amount == kFrameHeader) {
        // Bytes 4-7, big-endian: the database's size in pages after a
        // commit, zero in every other frame.
        const unsigned char *h = data;
        f->commitPageNext = (h[4] | h[5] | h[6] | h[7]) != 0;
    }
    return SQLITE_OK;
}

static int walClose(sqlite3_file *file) {
    WALFile *f = (WALFile *)file;
    if (f->isWAL && f->name != NULL) {
        pthread_mutex_lock(&walFilesLock);
        for (WALFile **w = &walFiles; *w != NULL; w = &(*w)->next) {
            if (*w == f) {
                *w = f->next;
                break;
            }
        }
        pthread_mutex_unlock(&walFilesLock);
    }
    // Anything gathered is uncommitted (a commit's frames are written by
    // then): dropped.
    int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
    sqlite3_free(f->buffer);
    f->buffer = NULL;
    f->length = 0;
    return rc;
}

static int walRead(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset) {
    WALFile *f = (WALFile *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, data, amount, offset);
}

static int walTruncate(sqlite3_file *file, sqlite3_int64 size) {
    WALFile *f = (WALFile *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int walSync(sqlite3_file *file, int flags) {
    WALFile *f = (WALFile *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int walFileSize(sqlite3_file *file, sqlite3_int64 *size) {
    WALFile *f = (WALFile *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int walFileControl(sqlite3_file *file, int op, void *arg) {
    WALFile *f = (WALFile *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

// The rest passes through to the default VFS's file.
#define REAL(file) (((WALFile *)(file))->real)
static int walLock(sqlite3_file *file, int lock) { return REAL(file)->pMethods->xLock(REAL(file), lock); }
static int walUnlock(sqlite3_file *file, int lock) { return REAL(file)->pMethods->xUnlock(REAL(file), lock); }
static int walCheckReservedLock(sqlite3_file *file, int *out) {
    return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out);
}
static int walSectorSize(sqlite3_file *file) { return REAL(file)->pMethods->xSectorSize(REAL(file)); }
static int walDeviceCharacteristics(sqlite3_file *file) {
    return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file));
}
// The default VFS's files are version 3 (shared memory, memory mapping);
// another one's may not be.
#define VERSION(file) (REAL(file)->pMethods->iVersion)
static int walShmMap(sqlite3_file *file, int page, int size, int extend, void volatile **out) {
    if (VERSION(file) < 2) return SQLITE_IOERR_SHMMAP;
    return REAL(file)->pMethods->xShmMap(REAL(file), page, size, extend, out);
}
static int walShmLock(sqlite3_file *file, int offset, int n, int flags) {
    if (VERSION(file) < 2) return SQLITE_IOERR_SHMLOCK;
    // The WAL's write lock is lock 0 (wal.c's WAL_WRITE_LOCK).
    WALFile *f = (WALFile *)file;
    if (f->isMainDB && f->name != NULL && offset == 0 && n == 1
        && flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE)) {
        dropUncommitted(f->name);
    }
    return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags);
}
static void walShmBarrier(sqlite3_file *file) {
    if (VERSION(file) >= 2) REAL(file)->pMethods->xShmBarrier(REAL(file));
}
static int walShmUnmap(sqlite3_file *file, int delete) {
    return VERSION(file) < 2 ? SQLITE_OK : REAL(file)->pMethods->xShmUnmap(REAL(file), delete);
}
static int walFetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out) {
    if (VERSION(file) < 3) {
        *out = NULL;
        return SQLITE_OK;
    }
    return REAL(file)->pMethods->xFetch(REAL(file), offset, amount, out);
}
static int walUnfetch(sqlite3_file *file, sqlite3_int64 offset, void *page) {
    if (VERSION(file) < 3) return SQLITE_OK;
    return REAL(file)->pMethods->xUnfetch(REAL(file), offset, page);
}

static int vfsOpen(sqlite3_vfs *self, const char *name, sqlite3_file *file, int flags, int *outFlags) {
    (void)self;
    WALFile *f = (WALFile *)file;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)(f + 1);
    int rc = defaultVFS->xOpen(defaultVFS, name, f->real, flags, outFlags);
    // A file whose pMethods is set is closed by SQLite even when its open
    // failed (the VFS contract); ours closes the real one.
    if (f->real->pMethods != NULL) {
        f->base.pMethods = &methods;
        f->name = name;
        f->isWAL = (flags & SQLITE_OPEN_WAL) != 0;
        f->isMainDB = (flags & SQLITE_OPEN_MAIN_DB) != 0;
        if (f->isWAL && name != NULL) {
            pthread_mutex_lock(&walFilesLock);
            f->next = walFiles;
            walFiles = f;
            pthread_mutex_unlock(&walFilesLock);
        }
    }
    return rc;
}

// The default VFS's methods that may read their VFS's own data get it.
static int vfsDelete(sqlite3_vfs *self, const char *name, int syncDirectory) {
    (void)self;
    return defaultVFS->xDelete(defaultVFS, name, syncDirectory);
}
static int vfsAccess(sqlite3_vfs *self, const char *name, int flags, int *out) {
    (void)self;
    return defaultVFS->xAccess(defaultVFS, name, flags, out);
}
static int vfsFullPathname(sqlite3_vfs *self, const char *name, int size, char *out) {
    (void)self;
    return defaultVFS->xFullPathname(defaultVFS, name, size, out);
}
static int vfsGetLastError(sqlite3_vfs *self, int size, char *out) {
    (void)self;
    return defaultVFS->xGetLastError ? defaultVFS->xGetLastError(defaultVFS, size, out) : 0;
}

static void setUp(void) {
    defaultVFS = sqlite3_vfs_find(NULL);
    if (defaultVFS == NULL) return;
    vfs = *defaultVFS;
    vfs.pNext = NULL;
    vfs.zName = "chatd-wal";
    // Our struct, then the real file, 8-byte aligned.
    vfs.szOsFile = (int)((sizeof(WALFile) + 7) / 8 * 8) + defaultVFS->szOsFile;
    vfs.xOpen = vfsOpen;
    vfs.xDelete = vfsDelete;
    vfs.xAccess = vfsAccess;
    vfs.xFullPathname = vfsFullPathname;
    vfs.xGetLastError = vfsGetLastError;
    methods = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = walClose,
        .xRead = walRead,
        .xWrite = walWrite,
        .xTruncate = walTruncate,
        .xSync = walSync,
        .xFileSize = walFileSize,
        .xLock = walLock,
        .xUnlock = walUnlock,
        .xCheckReservedLock = walCheckReservedLock,
        .xFileControl = walFileControl,
        .xSectorSize = walSectorSize,
        .xDeviceCharacteristics = walDeviceCharacteristics,
        .xShmMap = walShmMap,
        .xShmLock = walShmLock,
        .xShmBarrier = walShmBarrier,
        .xShmUnmap = walShmUnmap,
        .xFetch = walFetch,
        .xUnfetch = walUnfetch,
    };
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered = SQLITE_ERROR;

static void registerOnce(void) {
    setUp();
    if (defaultVFS == NULL) return;
    registered = sqlite3_vfs_register(&vfs, 1);
}

int chatd_wal_vfs_register(void) {
    pthread_once(&once, registerOnce);
    return registered;
}

void chatd_wal_vfs_statistics(long long *writes, long long *flushes) {
    *writes = atomic_load(&writeCount);
    *flushes = atomic_load(&flushCount);
}
