import ChatCore
import ChatPostgres
import ChatStore
import ChatTestSupport
import Testing

/// The store backends the store tests run against. The PostgreSQL run
/// starts its own throwaway cluster (tools/pg, once per test process) and
/// gives every test a fresh database; when PostgreSQL cannot be started the
/// tests fail, they are never skipped.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgresql

    var testDescription: String { rawValue }

    func makeStore() async throws -> any ObservableStore {
        switch self {
        case .sqlite: try SQLiteStore.inMemory()
        case .postgresql: try await PostgresTestCluster.shared.freshStore()
        }
    }
}

/// A store whose committed changes can be watched (both backends).
protocol ObservableStore: Store {
    func setEventObserver(_ body: @escaping @Sendable ([CommittedChanges]) -> Void)
}

extension SQLiteStore: ObservableStore {}
extension PostgresStore: ObservableStore {}

/// A store that also keeps file metadata (both backends).
protocol FileTestStore: ObservableStore, FileCatalog {}

extension SQLiteStore: FileTestStore {}
extension PostgresStore: FileTestStore {}

