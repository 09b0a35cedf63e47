import ChatClient
import ChatProtocol
import Foundation
import Testing

/// Invite links (spec/PROTOCOL.md §5.14) and registration tokens (§4.3)
/// against a real chatd.
@Suite(.timeLimit(.minutes(3)))
struct InviteLinkTests {
    @Test func aLinkLetsAnotherUserIntoAPrivateGroupWithTheJoinPush() async throws {
        try await withServer { server in
            let (owner, _) = try await server.user("owner")
            let (guest, guestAuth) = try await server.user("guest")
            let (member, _) = try await server.user("member")
            let ownerPushes = PushCollector(owner)
            let group = try await owner.createGroup(name: "hideout", usernames: ["member"]).conversation
            let link = try await owner.createInviteLink(group.id, expiresInMs: 3_600_000, maxUses: 1)
            #expect(link.token.count == 32 && link.invite.maxUses == 1 && link.invite.expiresAtMs > 0)
            #expect(try await owner.listInviteLinks(group.id).map(\.id) == [link.invite.id])
            await expectError(.forbidden) { try await member.createInviteLink(group.id) }
            await expectError(.notFound) { try await guest.listInviteLinks(group.id) }

            let joined = try await guest.redeemInviteLink(link.token)
            #expect(joined.id == group.id && joined.myRole == .member && joined.memberCount == 3)
            let pushed = await ownerPushes.wait { pushes in
                pushes.contains {
                    if case .event(let e) = $0 { e.kind == .memberJoined && e.subjectUserID == guestAuth.user.id } else { false }
                }
            }
            #expect(pushed, "the owner gets MEMBER_JOINED")
            // Used up now: gone from the list, refused to the next user.
            #expect(try await owner.listInviteLinks(group.id).isEmpty)
            let (late, _) = try await server.user("late")
            await expectError(.inviteUsedUp) { try await late.redeemInviteLink(link.token) }
            await expectError(.invalidToken) { try await late.redeemInviteLink(Data(repeating: 1, count: 32)) }
            await expectError(.invalidToken) { try await late.redeemInviteLink(Data()) }

            let second = try await owner.createInviteLink(group.id)
            try await owner.revokeInviteLink(group.id, invite: second.invite.id)
            await expectError(.inviteRevoked) { try await late.redeemInviteLink(second.token) }
            await expectError(.invalidField) { try await owner.createInviteLink(group.id, expiresInMs: -5) }
        }
    }

    @Test func chatctlRegistrationTokenLetsOneRegisterWhileRegistrationIsClosed() async throws {
        let d = try await LiveChatd.start(extraConfig: "\n[accounts]\nregistration_open = false\n")
        defer { Task { await d.stop() } }
        func register(_ name: String, token: String) async throws -> Chatd_V1_AuthResponse {
            let c = try await ChatConnection.connect(host: "127.0.0.1", port: d.port)
            try await c.hello()
            return try await c.register(username: name, password: "password1", registrationToken: token)
        }
        await expectError(.registrationClosed) { try await register("walkin", token: "") }

        var r = try await d.run(["registration-token", "create", "--uses", "1", "--expires", "7d"])
        #expect(r.status == 0, "\(r.stderr)")
        let token = String(r.stdout.split(separator: "\n").first ?? "")
        #expect(token.count == 64 && token.allSatisfy(\.isHexDigit), "\(r.stdout)")
        let auth = try await register("invited", token: token)
        #expect(auth.user.username == "invited")
        await expectError(.inviteUsedUp) { try await register("second", token: token) }

        let list = try await d.json(["registration-token", "list", "--all"])
        let tokens = list["registration_tokens"] as? [[String: Any]] ?? []
        #expect(tokens.count == 1 && tokens.first?["uses"] as? Int == 1)
        let listed = try await d.run(["registration-token", "list", "--all"])
        #expect(listed.status == 0 && !listed.stdout.contains(token), "\(listed.stdout)")

        let created = try await d.json(["registration-token", "create"])
        let another = created["token"] as? String ?? ""
        let rawID = (created["registration_token"] as? [String: Any])?["id"]
        let id = rawID as? Int ?? Int(rawID as? String ?? "") ?? 0
        #expect(another.count == 64 && id > 0, "\(created)")
        r = try await d.run(["registration-token", "revoke", String(id)])
        #expect(r.status == 0, "\(r.stderr)")
        await expectError(.inviteRevoked) { try await register("third", token: another) }
        r = try await d.run(["registration-token", "create", "--uses", "0"])
        #expect(r.status == 2, "\(r.stderr)")

        let audit = try await d.json(["audit", "--action", "registration_token_used"])
        #expect((audit["entries"] as? [[String: Any]] ?? []).count == 1)
    }
}
