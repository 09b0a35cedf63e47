import CSQLiteWAL
import GRDB
import GRDBSQLite

/// The chatd-wal VFS (Sources/CSQLiteWAL/WALBuffer.c): SQLite's default VFS,
/// except that a WAL file's consecutive writes are gathered and written when
/// a commit frame's page is, so a commit costs a pwrite per 124 KiB of log
/// instead of two per page. `SQLiteStore.open` installs it as the process's
/// default VFS before opening the database.
enum WALBuffer {
    /// Registers chatd-wal as the default VFS (once per process).
    static func install() throws {
        let code = chatd_wal_vfs_register()
        guard code == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "cannot register the chatd-wal VFS")
        }
    }

    /// WAL writes SQLite made through chatd-wal since the process started,
    /// and the pwrites that wrote them.
    static var statistics: (writes: Int, flushes: Int) {
        var writes: Int64 = 0, flushes: Int64 = 0
        chatd_wal_vfs_statistics(&writes, &flushes)
        return (Int(writes), Int(flushes))
    }
}
