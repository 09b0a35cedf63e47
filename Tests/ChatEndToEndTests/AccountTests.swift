import ChatClient
import ChatCore
import ChatCrypto
import ChatProtocol
import Foundation
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(2)))
struct AccountTests {
    @Test func registerLoginResumeLogout() async throws {
        try await withServer { server in
            let (c1, auth) = try await server.user("alice", password: "correct horse", device: "laptop")
            #expect(auth.token.count == 32)
            #expect(auth.deviceID == "laptop")
            #expect(auth.user.username == "alice")
            let me = try await c1.me()
            #expect(me.user.id == auth.user.id)
            #expect(me.deviceID == "laptop")

            // Resume on a second connection: token only.
            let c2 = try await server.connect()
            let resumed = try await c2.resume(token: auth.token)
            #expect(resumed.user.id == auth.user.id)
            #expect(resumed.token.isEmpty)
            #expect(try await c2.me().user.username == "alice")

            // Hello and Resume in one write (§3.3): the Resume is checked
            // after the Hello took effect.
            let pipelined = try await server.connect(hello: false)
            let (hello, quick) = try await pipelined.helloAndResume(token: auth.token)
            #expect(hello.protocolVersion == chatProtocolVersion)
            #expect(quick.user.id == auth.user.id)
            #expect(try await pipelined.me().deviceID == "laptop")
            await expectError(.invalidToken) {
                try await server.connect(hello: false).helloAndResume(token: Data(repeating: 7, count: 32))
            }

            // Logout ends the device's token; the connection stays open, unauthenticated.
            try await c2.logout()
            await expectError(.unauthenticated) { try await c2.me() }
            let c3 = try await server.connect()
            await expectError(.invalidToken) { try await c3.resume(token: auth.token) }

            // Password login gives a new token; usernames are case-insensitive.
            let again = try await c3.login(username: "ALICE", password: "correct horse")
            #expect(again.token != auth.token)
            await expectError(.invalidCredentials) {
                try await server.connect().login(username: "alice", password: "wrong password")
            }
            await expectError(.invalidCredentials) {
                try await server.connect().login(username: "nobody", password: "whatever1")
            }
            await expectError(.conflict) { try await server.user("Alice") }
            for c in [c1, c2, c3] { await c.close() }
        }
    }

    @Test func requestsBeforeHelloAndAuthentication() async throws {
        try await withServer { server in
            let c = try await server.connect(hello: false)
            await expectError(.helloRequired) { try await c.ping() }
            await expectError(.helloRequired) { try await c.me() }
            try await c.hello()
            await expectError(.wrongState) { try await c.hello() }
            #expect(try await c.ping().serverTimeMs > 0)
            await expectError(.unauthenticated) { try await c.me() }
            await expectError(.unauthenticated) { try await c.send(room: 1, text: "hi") }
            _ = try await c.register(username: "bob", password: "password1")
            await expectError(.wrongState) { try await c.login(username: "bob", password: "password1") }

            var bad = Chatd_V1_HelloRequest()
            bad.protocolVersion = 0
            let c2 = try await server.connect(hello: false)
            await expectError(.unsupportedVersion) { try await c2.call(.hello, bad, as: Chatd_V1_HelloResponse.self) }
        }
    }

    @Test func pipelinedAfterLoginAreHeldUntilAuthenticated() async throws {
        try await withServer { server in
            _ = try await server.user("carol", password: "password1")
            // Login and Me sent back to back: Me is held until Login finishes.
            // The two child tasks may write in either order; Me written first
            // is (rightly) refused, so try again until Login went first.
            var held = false
            for _ in 0..<10 where !held {
                let c = try await server.connect()
                async let login = c.login(username: "carol", password: "password1")
                async let me = c.me()
                let l = try await login
                do {
                    let m = try await me
                    #expect(l.user.id == m.user.id)
                    held = true
                } catch let error as ChatClientError where error.code == .unauthenticated {
                    continue
                }
            }
            #expect(held, "Me never went out after Login")
        }
    }

    @Test func revokeDeviceClosesItsConnections() async throws {
        try await withServer { server in
            let (phone, _) = try await server.user("dave", password: "password1", device: "phone")
            let laptop = try await server.connect()
            let laptopAuth = try await laptop.login(
                username: "dave", password: "password1", device: device("laptop"))
            let pushes = PushCollector(laptop)

            var revoke = Chatd_V1_RevokeDeviceRequest()
            revoke.deviceID = "laptop"
            _ = try await phone.call(.revokeDevice, revoke, as: Chatd_V1_RevokeDeviceResponse.self)
            #expect(await pushes.wait { goodbyeReason($0) == .deviceRevoked })
            #expect(await waitClosed(laptop, seconds: 20))
            await expectError(.deviceRevoked) { try await server.connect().resume(token: laptopAuth.token) }

            let devices = try await phone.call(.listDevices, Chatd_V1_ListDevicesRequest(), as: Chatd_V1_ListDevicesResponse.self)
            let byID = Dictionary(uniqueKeysWithValues: devices.devices.map { ($0.deviceID, $0) })
            #expect(byID["laptop"]?.revoked == true)
            #expect(byID["phone"]?.current == true)
            #expect(byID["phone"]?.revoked == false)

            revoke.deviceID = "no-such-device"
            await expectError(.notFound) { try await phone.call(.revokeDevice, revoke, as: Chatd_V1_RevokeDeviceResponse.self) }

            // Logging in again with the revoked device id re-activates it.
            let back = try await server.connect().login(username: "dave", password: "password1", device: device("laptop"))
            #expect(back.deviceID == "laptop")
        }
    }

    @Test func disabledUserIsClosedAndCannotLogIn() async throws {
        try await withServer { server in
            let (c, auth) = try await server.user("erin", password: "password1")
            let pushes = PushCollector(c)
            try await server.daemon.accounts.adminSetDisabled(user: Int64(auth.user.id), disabled: true, actor: "test")
            #expect(await pushes.wait { goodbyeReason($0) == .accountDisabled })
            #expect(await waitClosed(c))
            await expectError(.accountDisabled) { try await server.connect().login(username: "erin", password: "password1") }
            await expectError(.accountDisabled) { try await server.connect().resume(token: auth.token) }
            // A wrong password does not reveal that the account is disabled.
            await expectError(.invalidCredentials) { try await server.connect().login(username: "erin", password: "nope-nope") }
            try await server.daemon.accounts.adminSetDisabled(user: Int64(auth.user.id), disabled: false, actor: "test")
            _ = try await server.connect().login(username: "erin", password: "password1")
        }
    }

    @Test func changePasswordEndsOtherDevices() async throws {
        try await withServer { server in
            let (a, _) = try await server.user("frank", password: "password1", device: "a")
            let b = try await server.connect()
            let bAuth = try await b.login(username: "frank", password: "password1", device: device("b"))
            let bPushes = PushCollector(b)

            var change = Chatd_V1_ChangePasswordRequest()
            change.oldPassword = "wrong-old"
            change.newPassword = "password2"
            await expectError(.invalidCredentials) { try await a.call(.changePassword, change, as: Chatd_V1_ChangePasswordResponse.self) }
            change.oldPassword = "password1"
            change.newPassword = "short"
            await expectError(.invalidField) { try await a.call(.changePassword, change, as: Chatd_V1_ChangePasswordResponse.self) }
            change.newPassword = "password2"
            _ = try await a.call(.changePassword, change, as: Chatd_V1_ChangePasswordResponse.self)

            #expect(await bPushes.wait { goodbyeReason($0) == .passwordChanged })
            await expectError(.invalidToken) { try await server.connect().resume(token: bAuth.token) }
            #expect(try await a.me().user.username == "frank")
            await expectError(.invalidCredentials) { try await server.connect().login(username: "frank", password: "password1") }
            _ = try await server.connect().login(username: "frank", password: "password2")
        }
    }

    @Test func profileUpdate() async throws {
        try await withServer { server in
            let (c, _) = try await server.user("gina")
            var q = Chatd_V1_UpdateProfileRequest()
            q.displayName = "Gina G."
            q.statusText = "busy"
            let r = try await c.call(.updateProfile, q, as: Chatd_V1_UpdateProfileResponse.self)
            #expect(r.user.displayName == "Gina G.")
            #expect(r.user.statusText == "busy")
            var bad = Chatd_V1_UpdateProfileRequest()
            bad.avatarURL = "javascript:alert(1)"
            await expectError(.invalidField) { try await c.call(.updateProfile, bad, as: Chatd_V1_UpdateProfileResponse.self) }
            bad = Chatd_V1_UpdateProfileRequest()
            bad.displayName = String(repeating: "x", count: 65)
            await expectError(.tooLarge) { try await c.call(.updateProfile, bad, as: Chatd_V1_UpdateProfileResponse.self) }
            // Only the fields present change.
            var partial = Chatd_V1_UpdateProfileRequest()
            partial.avatarURL = "https://example.org/g.png"
            let r2 = try await c.call(.updateProfile, partial, as: Chatd_V1_UpdateProfileResponse.self)
            #expect(r2.user.displayName == "Gina G.")
            #expect(r2.user.avatarURL == "https://example.org/g.png")
        }
    }

    @Test func refreshTokenRotates() async throws {
        try await withServer { server in
            let (c, auth) = try await server.user("hana")
            // Another connection of the same device, on the token about to be replaced.
            let other = try await server.connect()
            _ = try await other.resume(token: auth.token)
            let otherPushes = PushCollector(other)
            let fresh = try await c.call(.refreshToken, Chatd_V1_RefreshTokenRequest(), as: Chatd_V1_AuthResponse.self)
            #expect(fresh.token.count == 32 && fresh.token != auth.token)
            #expect(await otherPushes.wait { goodbyeReason($0) == .tokenEnded })
            #expect(try await c.me().user.username == "hana")  // the refreshing connection goes on
            await expectError(.invalidToken) { try await server.connect().resume(token: auth.token) }
            let third = try await server.connect()
            _ = try await third.resume(token: fresh.token)
            let thirdPushes = PushCollector(third)
            // Logout ends the token for every connection of the device but its own.
            try await c.logout()
            #expect(await thirdPushes.wait { goodbyeReason($0) == .tokenEnded })
            await expectError(.unauthenticated) { try await c.me() }
        }
    }

    /// A Login that binds a device again ends the old token (§4.5) and so
    /// the connections that Resumed with it; the new login's own goes on.
    @Test func aNewLoginOfADeviceEndsItsOldSessions() async throws {
        try await withServer { server in
            let (c, auth) = try await server.user("ivy", password: "password1", device: "phone")
            let first = PushCollector(c)
            let other = try await server.connect()
            _ = try await other.resume(token: auth.token)
            let second = PushCollector(other)
            let again = try await server.connect()
            _ = try await again.login(username: "ivy", password: "password1", device: device("phone"))
            #expect(await first.wait { goodbyeReason($0) == .tokenEnded })
            #expect(await second.wait { goodbyeReason($0) == .tokenEnded })
            #expect(try await again.me().user.username == "ivy")
            await expectError(.invalidToken) { try await server.connect().resume(token: auth.token) }
        }
    }

    @Test func deviceKeyRequiresSignatureOverThisConnectionsNonce() async throws {
        try await withServer { server in
            let keys = Sodium.ed25519KeyPair()
            var d = device("secure")
            d.publicKey = Data(keys.publicKey)
            let c = try await server.connect()
            let auth = try await c.register(username: "ivan", password: "password1", device: d)

            // Token alone opens nothing.
            await expectError(.badSignature) { try await server.connect().resume(token: auth.token) }

            // A signature over another connection's nonce is refused.
            let other = try await ChatConnection.connect(host: "127.0.0.1", port: server.port)
            let otherHello = try await other.hello()
            let stale = Sodium.signEd25519(
                message: ResumeSignature.message(nonce: Array(otherHello.nonce), token: Array(auth.token)),
                secretKey: keys.secretKey)
            let c2 = try await ChatConnection.connect(host: "127.0.0.1", port: server.port)
            let hello = try await c2.hello()
            #expect(hello.nonce.count == 32)
            await expectError(.badSignature) { try await c2.resume(token: auth.token, signature: Data(stale)) }

            // The right signature works.
            let good = Sodium.signEd25519(
                message: ResumeSignature.message(nonce: Array(hello.nonce), token: Array(auth.token)),
                secretKey: keys.secretKey)
            let resumed = try await c2.resume(token: auth.token, signature: Data(good))
            #expect(resumed.deviceID == "secure")

            var bad = device("badkey")
            bad.publicKey = Data([1, 2, 3])
            await expectError(.invalidField) {
                try await server.connect().login(username: "ivan", password: "password1", device: bad)
            }
        }
    }

    @Test func loginThrottlingPerAddressAndAccount() async throws {
        try await withServer({
            $0.setting("security.logins_per_address", .int(4))
                .setting("security.login_address_window_seconds", .int(600))
        }) { server in
            let c = try await server.connect()
            _ = try await c.register(username: "judy", password: "password1")  // attempt 1
            for _ in 0..<3 {
                await expectError(.invalidCredentials) {
                    try await server.connect().login(username: "judy", password: "bad-password")
                }
            }
            do {
                _ = try await server.connect().login(username: "judy", password: "password1")
                Issue.record("expected rate_limited")
            } catch let error as ChatClientError {
                #expect(error.code == .rateLimited)
                if case .server(_, _, let retry, _) = error { #expect(retry > 0) }
            }
        }
        try await withServer({
            $0.setting("security.login_failures_per_account", .int(2))
                .setting("security.login_failure_window_seconds", .int(600))
        }) { server in
            _ = try await server.user("kate", password: "password1")
            for _ in 0..<2 {
                await expectError(.invalidCredentials) {
                    try await server.connect().login(username: "kate", password: "bad-password")
                }
            }
            // Even the right password waits now; other accounts are not affected.
            await expectError(.rateLimited) { try await server.connect().login(username: "kate", password: "password1") }
            _ = try await server.user("liam", password: "password1")
            _ = try await server.connect().login(username: "liam", password: "password1")
        }
    }

    @Test func fullHashQueueAnswersRateLimited() async throws {
        try await withServer({
            $0.setting("security.hash_threads", .int(1))
                .setting("security.hash_queue", .int(0))
                .setting("security.argon2_ops_limit", .int(3))
                .setting("security.argon2_mem_kib", .int(32 * 1024))
        }) { server in
            _ = try await server.user("mia", password: "password1")
            // Connect first, then log in all at once, so the logins overlap.
            var clients: [ChatConnection] = []
            for _ in 0..<10 { clients.append(try await server.connect()) }
            let results = await withTaskGroup(of: ErrorCode?.self) { group in
                for client in clients {
                    group.addTask {
                        do {
                            _ = try await client.login(username: "mia", password: "password1")
                            return nil
                        } catch let e as ChatClientError {
                            return e.code
                        } catch {
                            return .internal
                        }
                    }
                }
                var out: [ErrorCode?] = []
                for await r in group { out.append(r) }
                return out
            }
            #expect(results.contains { $0 == nil }, "some logins succeed")
            #expect(results.contains { $0 == .rateLimited }, "excess logins are rejected at once: \(results)")
            #expect(!results.contains { $0 != nil && $0 != .rateLimited })
        }
    }

    @Test func authTimeoutClosesIdleUnauthenticatedConnection() async throws {
        try await withServer({ $0.setting("server.auth_timeout_seconds", .int(2)) }) { server in
            let c = try await server.connect(hello: false)
            let pushes = PushCollector(c)
            #expect(await pushes.wait { goodbyeReason($0) == .authTimeout })
            #expect(await waitClosed(c))
        }
    }
}

func device(_ id: String) -> Chatd_V1_DeviceInfo {
    var d = Chatd_V1_DeviceInfo()
    d.deviceID = id
    d.name = "device \(id)"
    d.platform = "test"
    return d
}
