import ChatCore
import ChatCrypto
import ChatWebPush
import ChatDaemon
import ChatPostgres
import ChatStore
import ChatTestSupport
import Foundation
import GRDB
import Logging
import Testing

/// `chatd migrate`: a SQLite deployment with every kind of row, made through
/// the services, copied into a fresh PostgreSQL database; then both stores
/// must answer the same through the `Store` protocol.
@Suite(.serialized)
struct MigrationTests {
    /// A one-box deployment: a data directory with its database and files.
    struct Deployment {
        let dataDir: String
        let fixture: Fixture
        let sqlite: SQLiteStore
        let files: FileService
        var users: [String: AuthResult] = [:]
        var room: ConversationID = 0
        var group: ConversationID = 0
        var direct: ConversationID = 0
        var fileID = ""

        init() throws {
            dataDir = NSTemporaryDirectory() + "chatd-migrate-" + UUID().uuidString.prefix(8)
            try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
            sqlite = try SQLiteStore.open(path: dataDir + "/chatd.sqlite3")
            fixture = Fixture(existing: sqlite)
            let blobs = try DiskBlobStore(root: dataDir + "/files", makeHasher: { Blake2bStream() })
            files = FileService(catalog: sqlite, blobs: blobs, random: { Sodium.randomBytes($0) }, clock: fixture.clock, limits: FileLimits())
            try Data(Sodium.randomBytes(32)).write(to: URL(fileURLWithPath: dataDir + "/token.key"))
        }

        func session(_ name: String) throws -> Session { try #require(users[name]).session }

        /// Users, devices, rooms, a group, a direct chat, messages with
        /// replies, mentions, edits, deletions, reactions and an attachment,
        /// read positions, roles, a ban, friends, a block, files and an
        /// unfinished upload, retention, audit and account events, a system
        /// message, a deleted newest conversation and a deleted newest user.
        mutating func populate() async throws {
            let f = fixture
            let accounts = f.accounts()
            for name in ["alice", "bob", "carol", "dave"] {
                users[name] = try await accounts.register(
                    username: name, password: "password1", email: "\(name)@example.org", displayName: name.capitalized,
                    device: DeviceInput(deviceID: "\(name)-phone", name: "phone", platform: "ios"), context: f.context)
                f.clock.advance(byMs: 1_000)
            }
            _ = try await accounts.login(
                username: "alice", password: "password1", device: DeviceInput(deviceID: "alice-laptop"), context: f.context)
            _ = try await accounts.updateProfile(try session("bob"), ProfileChange(statusText: "away"))
            let (alice, bob, carol, dave) = (try session("alice"), try session("bob"), try session("carol"), try session("dave"))

            let rooms = f.rooms()
            room = try await rooms.createRoom(alice, name: "lobby", description: "hello all", visibility: .public).id
            for s in [bob, carol, dave] { _ = try await rooms.join(s, room: room) }
            let first = try await rooms.send(alice, conversation: room, toUser: 0, .init(clientMsgID: "a1", text: "welcome to the lobby @bob"))
            f.clock.advance(byMs: 10)
            let reply = try await rooms.send(
                bob, conversation: room, toUser: 0, .init(clientMsgID: "b1", text: "thanks, lovely lobby", replyTo: first.event.seq))
            _ = try await rooms.edit(bob, conversation: room, seq: reply.event.seq, text: "thanks, a lovely lobby indeed", clientMsgID: "b2")
            let gone = try await rooms.send(carol, conversation: room, toUser: 0, .init(clientMsgID: "c1", text: "secret lobby typo"))
            _ = try await rooms.deleteMessage(carol, conversation: room, seq: gone.event.seq, clientMsgID: "c2")
            _ = try await rooms.react(bob, conversation: room, seq: first.event.seq, emoji: "👍", add: true)
            _ = try await rooms.react(carol, conversation: room, seq: first.event.seq, emoji: "🎉", add: true)
            _ = try await rooms.react(carol, conversation: room, seq: first.event.seq, emoji: "🎉", add: false)
            try await rooms.moderate(alice, conversation: room, userID: bob.userID, username: "", .setRole(.admin))
            try await rooms.moderate(alice, conversation: room, userID: dave.userID, username: "", .ban)
            _ = try await rooms.markRead(bob, conversation: room, seq: reply.event.seq)
            _ = try await rooms.setRetention(conversation: room, days: 30)

            // A file, attached to a message; another upload left unfinished.
            let content = Array("the lobby's minutes".utf8)
            let (upload, _) = try await files.begin(
                alice, size: Int64(content.count), name: "minutes.txt", mimeType: "text/plain", hash: Sodium.blake2b(content))
            _ = try await files.chunk(alice, upload: upload.id, offset: 0, data: content)
            let stored = try await files.finish(alice, upload: upload.id)
            fileID = stored.id
            _ = try await rooms.send(
                alice, conversation: room, toUser: 0,
                .init(
                    clientMsgID: "a2", text: "minutes attached", type: .file,
                    attachment: Attachment(fileID: stored.id, name: "minutes.txt", size: stored.size, mimeType: "text/plain")))
            let partial = Array("half of it".utf8)
            _ = try await files.begin(bob, size: Int64(partial.count), name: "half.txt", mimeType: "text/plain", hash: Sodium.blake2b(partial))

            group = try await rooms.createGroup(alice, name: "team", description: "", userIDs: [bob.userID, carol.userID], usernames: []).0.id
            _ = try await rooms.send(carol, conversation: group, toUser: 0, .init(clientMsgID: "c3", text: "team lunch at noon"))
            // Grants: an invite link to the group, a registration token.
            _ = try await f.invites().create(alice, conversation: group, expiresInMs: 0, maxUses: 5)
            _ = try await accounts.createRegistrationToken(maxUses: 2, expiresInMs: 0, actor: "test")
            // A push target with Web Push keys (PROTOCOL.md §4.8; the key is RFC 8291's example).
            _ = try await PushTargetService(store: f.store, clock: f.clock, rules: PushRules(), sealer: WebPushEncryption()).set(
                alice, kind: .unifiedPush, endpoint: "https://up.example.org/alice", pushkey: "", appID: "", platform: "",
                p256dh: [UInt8](Data(base64Encoded: "BCVxsr7N/eNgVRqvHtD0zTZsEc6+VV+JvLexhqUzORcxaOzi6+AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4=") ?? Data()),
                auth: [UInt8](repeating: 9, count: 16), address: "")
            direct = try await rooms.send(alice, conversation: 0, toUser: bob.userID, .init(clientMsgID: "a3", text: "psst bob, lunch?")).event
                .conversationID
            _ = try await rooms.send(bob, conversation: direct, toUser: 0, .init(clientMsgID: "b3", text: "lunch yes"))
            _ = try await rooms.markRead(alice, conversation: direct, seq: 2)
            _ = try await f.store.appendSystemMessage(conversation: room, text: "maintenance tonight", clientMsgID: "sys1", now: f.clock.nowMs())

            let friends = FriendService(store: f.store, clock: f.clock)
            _ = try await friends.request(alice, userID: bob.userID, username: "")
            try await friends.accept(bob, userID: alice.userID, username: "")
            _ = try await friends.request(carol, userID: alice.userID, username: "")
            try await friends.block(carol, userID: dave.userID, username: "")

            // The newest conversation and the newest user deleted: their ids
            // must not be given again after the move.
            let doomed = try await rooms.createRoom(carol, name: "doomed", description: "", visibility: .public)
            try await rooms.delete(carol, conversation: doomed.id)
            let ghost = try await accounts.register(
                username: "ghost", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context)
            try await sqlite.writer.write { db in
                try db.execute(sql: "DELETE FROM audit WHERE user_id = ?", arguments: [ghost.session.userID])
                try db.execute(sql: "DELETE FROM users WHERE id = ?", arguments: [ghost.session.userID])
            }
        }
    }

    /// The nodes' config file for `settings`, written beside the data directory.
    static func writeConfig(_ settings: PostgresStore.Settings, near dataDir: String, backend: String = "postgresql") throws -> String {
        let passwordFile = dataDir + "-pgpass"
        try Data((settings.password ?? "") .utf8).write(to: URL(fileURLWithPath: passwordFile))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passwordFile)
        let path = dataDir + "-chatd.conf"
        let text = """
            [storage]
            backend = "\(backend)"
            data_dir = "\(dataDir)-node"
            postgresql_url = "postgresql://\(settings.user)@\(settings.host):\(settings.port)/\(settings.database)"
            postgresql_password_file = "\(passwordFile)"

            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func cleanUp(_ dataDir: String) {
        for suffix in ["", "-pgpass", "-chatd.conf", "-node"] { try? FileManager.default.removeItem(atPath: dataDir + suffix) }
    }

    static let logger = Logger(label: "test.migrate")

    /// The migration's failure, or nil when it succeeded.
    static func failure(dataDir: String, config: String) async -> Migration.Failure? {
        do {
            _ = try await Migration.run(dataDir: dataDir, configPath: config, logger: logger)
            return nil
        } catch {
            return error
        }
    }

    @Test func everyRowMovesAndBothStoresAnswerTheSame() async throws {
        var deployment = try Deployment()
        defer { Self.cleanUp(deployment.dataDir) }
        try await deployment.populate()
        let sqlite = deployment.sqlite
        try sqlite.close()

        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let config = try Self.writeConfig(settings, near: deployment.dataDir)
        let summary = try await Migration.run(dataDir: deployment.dataDir, configPath: config, logger: Self.logger)
        let rows = Dictionary(summary.tables.map { ($0.name, $0.rows) }, uniquingKeysWith: { a, _ in a })
        #expect(summary.tables.map(\.name) == Migration.copiedTables)
        #expect(rows["users"] == 4 && rows["devices"] == 5 && rows["files"] == 1 && rows["uploads"] == 1)
        // Every table of the deployment has rows, so that each copy is exercised.
        for (table, count) in rows { #expect(count > 0, "\(table) had no rows to copy") }
        #expect(summary.conversationsChecked == 3)
        #expect(summary.text.contains("token.key") && summary.text.contains("files.dir"))

        let before = try SQLiteStore.open(path: deployment.dataDir + "/chatd.sqlite3")
        let after = try await PostgresStore.open(settings, logger: Self.logger)
        let l = try await before.counts()
        let r = try await after.counts()
        #expect(l.users == r.users && l.rooms == r.rooms && l.messages == r.messages)

        try await Self.compareEverything(before, after, deployment)

        // Search finds the same messages, newest first.
        let alice = try deployment.session("alice")
        for query in ["lobby", "lunch", "minutes", "typo", "\"lovely lobby\""] {
            let request = SearchRequest(
                viewer: alice.userID, query: try SearchQuery(query), conversation: nil, order: .newest, cursor: .start, limit: 20)
            let l = try await before.searchMessages(request).hits.map { [$0.conversationID, $0.seq] }
            let r = try await after.searchMessages(request).hits.map { [$0.conversationID, $0.seq] }
            #expect(l == r, "search \(query)")
            #expect(query == "typo" ? l.isEmpty : !l.isEmpty, "search \(query)")
        }

        // Tokens stay valid with the same key; the file is still referenced.
        let nodes = Fixture(existing: after)
        let token = try #require(deployment.users["carol"]?.token)
        let carol = try deployment.session("carol")
        #expect(try await nodes.accounts().resume(token: token, signature: [], context: nodes.context).session.userID == carol.userID)
        let blobs = try DiskBlobStore(root: deployment.dataDir + "/files", makeHasher: { Blake2bStream() })
        let files = FileService(catalog: after, blobs: blobs, random: { Sodium.randomBytes($0) }, clock: nodes.clock, limits: FileLimits())
        #expect(try await files.download(alice, file: deployment.fileID, offset: 0, length: 100).1 == Array("the lobby's minutes".utf8))

        // New rows continue the sequences: the next seq, fresh ids past the deleted newest ones.
        let head = try await before.history(conversation: deployment.room, anchor: .newest, limit: 1, viewer: alice.userID).headSeq
        let sent = try await nodes.rooms().send(alice, conversation: deployment.room, toUser: 0, .init(clientMsgID: "after-1", text: "on postgres"))
        #expect(sent.event.seq == head + 1)
        let lastUser = try await sqliteSequence(before, "users")
        let newcomer = try await nodes.accounts().register(
            username: "erin", password: "password1", email: "", displayName: "", device: DeviceInput(), context: nodes.context)
        #expect(newcomer.session.userID == lastUser + 1)
        let lastConversation = try await sqliteSequence(before, "conversations")
        let newRoom = try await nodes.rooms().createRoom(alice, name: "fresh", description: "", visibility: .public)
        #expect(newRoom.id == lastConversation + 1)
        try before.close()

        // A second run finds the target occupied and changes nothing.
        let second = await Self.failure(dataDir: deployment.dataDir, config: config)
        #expect(second?.exitCode == Migration.Failure.targetNotEmpty)
        #expect(second?.description.contains("not empty") == true)
        #expect(try await after.counts().users == 5)
        await after.close()
    }

    /// Sync and history of every user and every conversation they are in,
    /// and the rest each user can read.
    static func compareEverything(_ before: SQLiteStore, _ after: PostgresStore, _ deployment: Deployment) async throws {
        let targets = try await before.pushTargets(user: nil)
        #expect(targets.count == 1 && targets.first?.encrypted == true)
        #expect(try await after.pushTargets(user: nil) == targets)
        for name in ["alice", "bob", "carol", "dave"] {
            let user = try deployment.session(name).userID
            let left = try await before.sync(user: user, after: 0, limit: 1000, includeConversations: true, maxConversations: 100, receiptsListMax: 32)
            let right = try await after.sync(user: user, after: 0, limit: 1000, includeConversations: true, maxConversations: 100, receiptsListMax: 32)
            #expect(left.accountEvents == right.accountEvents, "account events of \(name)")
            #expect(left.accountHeadSeq == right.accountHeadSeq && left.hasMore == right.hasMore)
            #expect(left.conversations == right.conversations, "conversation states of \(name)")
            #expect(!left.accountEvents.isEmpty)
            for state in left.conversations {
                let c = state.conversation.id
                for anchor in [HistoryAnchor.after(0), .newest, .before(3)] {
                    let l = try await before.history(conversation: c, anchor: anchor, limit: 100, viewer: user)
                    let r = try await after.history(conversation: c, anchor: anchor, limit: 100, viewer: user)
                    #expect(l.events == r.events, "history of \(c) for \(name)")
                    #expect(l.headSeq == r.headSeq && l.hasMore == r.hasMore && l.purgedThroughSeq == r.purgedThroughSeq)
                }
                #expect(try await before.conversation(id: c, viewer: user) == after.conversation(id: c, viewer: user))
                let page = Page(after: 0, limit: 100)
                #expect(try await before.members(conversation: c, page: page).items == after.members(conversation: c, page: page).items)
            }
            for list in FriendList.allCases {
                #expect(try await before.friendPage(user: user, list, after: .start, limit: 500) == after.friendPage(user: user, list, after: .start, limit: 500))
            }
            #expect(try await before.blockedUsers(user: user, after: 0, limit: 500) == after.blockedUsers(user: user, after: 0, limit: 500))
            #expect(try await before.account(id: user) == after.account(id: user))
        }
        #expect(try await before.devices(user: nil, includeRevoked: true, limit: 100) == after.devices(user: nil, includeRevoked: true, limit: 100))
        #expect(try await before.auditRecords(AuditFilter()).items == after.auditRecords(AuditFilter()).items)

    }

    func sqliteSequence(_ store: SQLiteStore, _ table: String) async throws -> Int64 {
        try await store.writer.read { db in try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [table]) ?? 0 }
    }

    /// A running chatd (its lock held) makes the migration refuse, exit 73,
    /// before PostgreSQL is touched; so do a config that is not PostgreSQL's
    /// (78) and a directory without a database (66).
    @Test func refusesARunningDeploymentAndBadArguments() async throws {
        var deployment = try Deployment()
        defer { Self.cleanUp(deployment.dataDir) }
        try await deployment.populate()
        try deployment.sqlite.close()
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let config = try Self.writeConfig(settings, near: deployment.dataDir)

        let lock = try DataDirectoryLock.acquire(dataDir: deployment.dataDir)
        let locked = await Self.failure(dataDir: deployment.dataDir, config: config)
        #expect(locked?.exitCode == Migration.Failure.dataDirectoryInUse)
        #expect(locked?.description.contains("in use by another chatd") == true)
        lock.release()
        let untouched = try await PostgresStore.open(settings, logger: Self.logger)
        #expect(try await untouched.counts().users == 0)
        await untouched.close()

        let sqliteConfig = try Self.writeConfig(settings, near: deployment.dataDir, backend: "sqlite")
        #expect(await Self.failure(dataDir: deployment.dataDir, config: sqliteConfig)?.exitCode == Migration.Failure.badConfig)
        let empty = deployment.dataDir + "-node"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let config2 = try Self.writeConfig(settings, near: deployment.dataDir)
        #expect(await Self.failure(dataDir: empty, config: config2)?.exitCode == Migration.Failure.noSource)
        #expect(!FileManager.default.fileExists(atPath: empty + "/chatd.sqlite3"))

        // Unlocked, the same command copies.
        let summary = try await Migration.run(dataDir: deployment.dataDir, configPath: config2, logger: Self.logger)
        #expect(summary.totalRows > 0)
    }

    /// A row PostgreSQL cannot hold (SQLite kept text in an integer column)
    /// stops the copy half-way: exit 1, naming the column, and the target
    /// is as empty as before.
    @Test func aFailedCopyLeavesTheTargetEmpty() async throws {
        var deployment = try Deployment()
        defer { Self.cleanUp(deployment.dataDir) }
        try await deployment.populate()
        let room = deployment.room
        try await deployment.sqlite.writer.write { db in
            try db.execute(sql: "UPDATE events SET file_width = 'wide' WHERE conversation_id = ? AND seq = 1", arguments: [room])
        }
        try deployment.sqlite.close()
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let config = try Self.writeConfig(settings, near: deployment.dataDir)
        let failed = await Self.failure(dataDir: deployment.dataDir, config: config)
        #expect(failed?.exitCode == Migration.Failure.copyFailed)
        #expect(failed?.description.contains("events.file_width") == true, "\(String(describing: failed))")
        let target = try await PostgresStore.open(settings, logger: Self.logger)
        let counts = try await target.counts()
        #expect(counts.users == 0 && counts.rooms == 0 && counts.messages == 0)
        await target.close()
    }
}
