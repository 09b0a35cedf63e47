import ArgumentParser
import ChatProtocol
import Foundation

struct RegistrationTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registration-token",
        abstract: "Tokens that let people register while accounts.registration_open is false.",
        subcommands: [Create.self, List.self, Revoke.self])

    /// --expires: a span from now (90s, 30m, 12h, 7d) or a TIME (2026-11-22T10:00:00Z, 2026-11-22), as milliseconds from `nowMs`.
    static func expiresIn(_ text: String, nowMs: Int64) -> Int64? {
        if let unit = text.last, let n = Int64(text.dropLast()), n > 0,
            let seconds = ["s": Int64(1), "m": 60, "h": 3600, "d": 86_400][String(unit)]
        {
            let (ms, overflow) = n.multipliedReportingOverflow(by: seconds * 1000)
            return overflow ? nil : ms
        }
        guard let at = parseTime(text, nowMs: nowMs), at > nowMs else { return nil }
        return at - nowMs
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a registration token; it is shown once.",
            discussion: "--expires: a span from now (90s, 30m, 12h, 7d; at most 366d) or a TIME (2026-11-22T10:00:00Z).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Accounts it may register (1-1000000).") var uses: UInt32 = 1
        @Option(help: "When it stops working (default: never).") var expires: String?

        func validate() throws {
            guard (1...1_000_000).contains(uses) else { throw ValidationError("--uses must be 1-1000000; got \(uses)") }
            if let expires, RegistrationTokenCommand.expiresIn(expires, nowMs: Int64(Date().timeIntervalSince1970 * 1000)) == nil {
                throw ValidationError("--expires: cannot read \"\(expires)\" as a span (7d) or a future TIME")
            }
        }

        func run() async throws {
            var q = Chatd_Control_V1_RegistrationTokenCreateRequest()
            q.maxUses = uses
            q.expiresInMs = expires.flatMap { RegistrationTokenCommand.expiresIn($0, nowMs: Int64(Date().timeIntervalSince1970 * 1000)) } ?? 0
            let r = try await global.call(.registrationTokenCreate, q, as: Chatd_Control_V1_RegistrationTokenCreateResponse.self)
            global.output(r) {
                let t = r.registrationToken
                return "\(r.token)\n"
                    + "registration token \(t.id): \(t.maxUses) use\(t.maxUses == 1 ? "" : "s"), "
                    + (t.expiresAtMs == 0 ? "never expires" : "expires \(time(t.expiresAtMs))")
                    + "; this is the only time it is shown\n"
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registration tokens (never the tokens themselves).")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Also those revoked, expired or used up.") var all = false

        func run() async throws {
            var q = Chatd_Control_V1_RegistrationTokenListRequest()
            q.all = all
            let r = try await global.call(.registrationTokenList, q, as: Chatd_Control_V1_RegistrationTokenListResponse.self)
            global.output(r) {
                table(
                    ["ID", "CREATED", "EXPIRES", "USES", "REVOKED"],
                    r.registrationTokens.map {
                        [
                            String($0.id), time($0.createdAtMs), $0.expiresAtMs == 0 ? "never" : time($0.expiresAtMs),
                            "\($0.uses)/\($0.maxUses)", time($0.revokedAtMs),
                        ]
                    })
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a registration token by its id.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The token's id (from list).") var id: UInt64

        func run() async throws {
            var q = Chatd_Control_V1_RegistrationTokenRevokeRequest()
            q.id = id
            let r = try await global.call(.registrationTokenRevoke, q, as: Chatd_Control_V1_RegistrationTokenRevokeResponse.self)
            global.output(r) { "registration token \(r.registrationToken.id) revoked (\(r.registrationToken.uses) used)\n" }
        }
    }
}
