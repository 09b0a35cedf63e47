import ChatClient
import ChatProtocol
import Foundation
import Testing

/// spec/PROTOCOL.md's permission table, row by row: every operation by an
/// owner, an admin, a member and a non-member, each on a fresh conversation.
@Suite(.timeLimit(.minutes(3)))
struct PermissionTableTests {
    enum Actor: String, CaseIterable { case owner, admin, member, outsider }
    enum Expect: Equatable { case ok, error(ErrorCode) }

    /// A fresh conversation with an owner, an admin, a member, a second
    /// member ("target") and a second admin ("peer"), and one message by the target.
    struct Scene {
        var id: UInt64
        var targetMessage: UInt64
    }

    struct Cast {
        var clients: [Actor: ChatConnection]
        var names: [Actor: String]
    }

    static func makeCast(_ server: TestServer, prefix: String) async throws -> (Cast, target: ChatConnection, peer: ChatConnection) {
        var clients: [Actor: ChatConnection] = [:]
        var names: [Actor: String] = [:]
        for actor in Actor.allCases {
            let name = "\(prefix)\(actor.rawValue)"
            clients[actor] = try await server.user(name, password: "password1").0
            names[actor] = name
        }
        let target = try await server.user("\(prefix)target", password: "password1").0
        let peer = try await server.user("\(prefix)peer", password: "password1").0
        return (Cast(clients: clients, names: names), target, peer)
    }

    static func scene(_ cast: Cast, target: ChatConnection, prefix: String, publicRoom: Bool, n: Int) async throws -> Scene {
        guard let owner = cast.clients[.owner], let admin = cast.names[.admin], let member = cast.names[.member] else {
            throw ProcessTestError("cast incomplete")
        }
        let c: Chatd_V1_Conversation
        if publicRoom {
            c = try await owner.createRoom(name: "\(prefix)room-\(n)")
        } else {
            c = try await owner.createGroup(name: "group \(n)", usernames: []).conversation
        }
        for name in [admin, member, "\(prefix)target", "\(prefix)peer"] { _ = try await owner.invite(c.id, username: name) }
        try await owner.moderate(.setMemberRole, conversation: c.id, username: admin, role: .admin)
        try await owner.moderate(.setMemberRole, conversation: c.id, username: "\(prefix)peer", role: .admin)
        let message = try await target.send(room: c.id, text: "target's message").event.seq
        return Scene(id: c.id, targetMessage: message)
    }

    typealias Operation = @Sendable (ChatConnection, Scene, String) async throws -> Void

    static func rows(prefix p: String) -> [(String, Operation, [Actor: Expect])] {
        let denied: Expect = .error(.forbidden)
        return [
            ("send", { c, s, _ in _ = try await c.send(room: s.id, text: "hi") },
             [.owner: .ok, .admin: .ok, .member: .ok]),
            ("history", { c, s, _ in _ = try await c.history(room: s.id) },
             [.owner: .ok, .admin: .ok, .member: .ok]),
            ("list members", { c, s, _ in
                var q = Chatd_V1_ListMembersRequest()
                q.conversationID = s.id
                _ = try await c.call(.listMembers, q, as: Chatd_V1_ListMembersResponse.self)
            }, [.owner: .ok, .admin: .ok, .member: .ok]),
            ("invite", { c, s, _ in _ = try await c.invite(s.id, username: "\(p)outsider") },
             [.owner: .ok, .admin: .ok, .member: denied]),
            ("create an invite link", { c, s, _ in _ = try await c.createInviteLink(s.id) },
             [.owner: .ok, .admin: .ok, .member: denied]),
            ("list invite links", { c, s, _ in _ = try await c.listInviteLinks(s.id) },
             [.owner: .ok, .admin: .ok, .member: denied]),
            ("kick a member", { c, s, _ in try await c.moderate(.kick, conversation: s.id, username: "\(p)target") },
             [.owner: .ok, .admin: .ok, .member: denied]),
            ("kick an admin", { c, s, _ in try await c.moderate(.kick, conversation: s.id, username: "\(p)peer") },
             [.owner: .ok, .admin: denied, .member: denied]),
            ("ban a member", { c, s, _ in try await c.moderate(.ban, conversation: s.id, username: "\(p)target") },
             [.owner: .ok, .admin: .ok, .member: denied]),
            ("unban", { c, s, _ in try await c.moderate(.unban, conversation: s.id, username: "\(p)target") },
             [.owner: .error(.notFound), .admin: .error(.notFound), .member: denied]),
            ("mute a member", { c, s, _ in
                try await c.moderate(.mute, conversation: s.id, username: "\(p)target", durationMs: 60_000)
            }, [.owner: .ok, .admin: .ok, .member: denied]),
            ("promote to admin", { c, s, _ in
                try await c.moderate(.setMemberRole, conversation: s.id, username: "\(p)target", role: .admin)
            }, [.owner: .ok, .admin: denied, .member: denied]),
            ("transfer ownership", { c, s, _ in
                try await c.moderate(.transferOwnership, conversation: s.id, username: "\(p)target")
            }, [.owner: .ok, .admin: denied, .member: denied]),
            ("rename", { c, s, n in
                var q = Chatd_V1_UpdateConversationRequest()
                q.conversationID = s.id
                q.name = "renamed \(n)"
                q.description_p = "topic"
                _ = try await c.call(.updateConversation, q, as: Chatd_V1_ConversationResponse.self)
            }, [.owner: .ok, .admin: .ok, .member: denied]),
            ("delete the conversation", { c, s, _ in
                var q = Chatd_V1_ConversationRef()
                q.conversationID = s.id
                _ = try await c.call(.deleteConversation, q, as: Chatd_V1_Empty.self)
            }, [.owner: .ok, .admin: denied, .member: denied]),
            ("delete another's message", { c, s, _ in _ = try await c.deleteMessage(s.id, seq: s.targetMessage) },
             [.owner: .ok, .admin: .ok, .member: denied]),
            ("edit another's message", { c, s, _ in _ = try await c.edit(s.id, seq: s.targetMessage, text: "x") },
             [.owner: denied, .admin: denied, .member: denied]),
            ("leave", { c, s, _ in try await c.leave(s.id) },
             [.owner: .ok, .admin: .ok, .member: .ok]),
        ]
    }

    func run(publicRoom: Bool) async throws {
        try await withServer { server in
            let prefix = publicRoom ? "r" : "g"
            let (cast, target, _) = try await Self.makeCast(server, prefix: prefix)
            var n = 0
            for (name, operation, table) in Self.rows(prefix: prefix) {
                for actor in Actor.allCases {
                    n += 1
                    let scene = try await Self.scene(cast, target: target, prefix: prefix, publicRoom: publicRoom, n: n)
                    // Non-members: a private group does not exist for them; a public room says not_member.
                    let expected = table[actor] ?? .error(publicRoom ? .notMember : .notFound)
                    guard let client = cast.clients[actor] else { continue }
                    var got: Expect = .ok
                    do {
                        try await operation(client, scene, "\(n)")
                    } catch let error as ChatClientError {
                        got = .error(error.code ?? .internal)
                    }
                    #expect(got == expected, "\(publicRoom ? "room" : "group"): \(name) by \(actor.rawValue)")
                }
            }
        }
    }

    @Test func privateGroup() async throws { try await run(publicRoom: false) }
    @Test func publicRoom() async throws { try await run(publicRoom: true) }

    @Test func mutedBannedAndServerAdmin() async throws {
        try await withServer { server in
            let (owner, _) = try await server.user("owner", password: "password1")
            let (m, _) = try await server.user("muted", password: "password1")
            let room = try await owner.createRoom(name: "rules")
            _ = try await m.joinRoom(room.id)
            try await owner.moderate(.mute, conversation: room.id, username: "muted", durationMs: 60_000)
            await expectError(.forbidden) { try await m.send(room: room.id, text: "can't") }
            _ = try await m.history(room: room.id)  // reading is fine
            try await owner.moderate(.mute, conversation: room.id, username: "muted", durationMs: 0)
            _ = try await m.send(room: room.id, text: "can again")
            await expectError(.invalidField) { try await owner.moderate(.mute, conversation: room.id, username: "muted", durationMs: -5) }
            await expectError(.invalidField) { try await owner.moderate(.kick, conversation: room.id, username: "owner") }

            try await owner.moderate(.ban, conversation: room.id, username: "muted")
            await expectError(.forbidden) { try await m.joinRoom(room.id) }
            await expectError(.forbidden) { try await owner.invite(room.id, username: "muted") }
            await expectError(.conflict) { try await owner.moderate(.ban, conversation: room.id, username: "muted") }
            try await owner.moderate(.unban, conversation: room.id, username: "muted")
            _ = try await m.joinRoom(room.id)

            // A server admin may delete any conversation, member or not.
            let (admin, adminAuth) = try await server.user("sysop", password: "password1")
            try await server.daemon.accounts.adminSetRole(user: Int64(adminAuth.user.id), role: .admin, actor: "test")
            let admin2 = try await server.connect()
            _ = try await admin2.login(username: "sysop", password: "password1")
            var q = Chatd_V1_ConversationRef()
            q.conversationID = room.id
            _ = try await admin2.call(.deleteConversation, q, as: Chatd_V1_Empty.self)
            await expectError(.notFound) { try await owner.history(room: room.id) }
            // ...including a private group they are not in.
            let group = try await owner.createGroup(name: "private").conversation
            q.conversationID = group.id
            _ = try await admin2.call(.deleteConversation, q, as: Chatd_V1_Empty.self)
            await expectError(.notFound) { try await owner.history(room: group.id) }
            _ = admin
        }
    }
}
