import ArgumentParser
import ChatClient
import ChatCore
import ChatProtocol
import Foundation

struct Invite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add a user to a room or group (as its owner or an admin).")
    @OptionGroup var options: ServerOptions
    @Argument(help: "Conversation: id, #room or a group's name") var conversation: String
    @Argument(help: "The user to add (username or @username).") var username: String

    func run() async throws {
        try await chatc.run {
            try await inConversation(options, conversation) { c, id in
                let name = username.hasPrefix("@") ? String(username.dropFirst()) : username
                let updated = try await c.invite(id, username: name)
                print("added \(name) to \(await Names(c).title(updated))")
            }
        }
    }
}

/// Invite links (spec/PROTOCOL.md §5.14): whoever holds a link's token joins
/// its room or group, a private one included.
struct InviteLink: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite-link",
        abstract: "Links that let whoever holds their token join a room or group.",
        subcommands: [Create.self, List.self, Revoke.self, Redeem.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an invite link (as the owner or an admin); its token is shown only now.",
            discussion: "Share the token (64 hex digits); whoever has it joins with: chatc invite-link redeem TOKEN")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Conversation: id, #room or a group's name") var conversation: String
        @Option(
            help: ArgumentHelp("How long it works: 90s, 30m, 12h, 7d (at most 366d; default: until revoked).", valueName: "duration"))
        var expires: String?
        @Option(help: "How many joins it allows (1-\(GrantPolicy.maxUses); default: unlimited).") var uses: UInt32?

        func run() async throws {
            try await chatc.run {
                let expiresInMs = try expires.map(Self.milliseconds) ?? 0
                if let uses, !(1...UInt32(GrantPolicy.maxUses)).contains(uses) {
                    throw CLIError("--uses must be 1-\(GrantPolicy.maxUses) (leave it out for unlimited); got \(uses)")
                }
                try await inConversation(options, conversation) { c, id in
                    let r = try await c.createInviteLink(id, expiresInMs: expiresInMs, maxUses: uses ?? 0)
                    print(hex(Array(r.token)))
                    let title = await Names(c).title(id)
                    print("invite link \(r.invite.id) to \(title): \(summary(r.invite)); the token is shown only this once")
                }
            }
        }

        /// `--expires` as milliseconds: a count and a unit (s, m, h, d), up to
        /// the server's longest lifetime.
        static func milliseconds(_ text: String) throws -> Int64 {
            let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
            guard let unit = text.last.flatMap({ units[$0] }), let count = Int64(text.dropLast()), count > 0 else {
                throw CLIError("--expires: cannot read \"\(text)\" as a duration (90s, 30m, 12h, 7d)")
            }
            let (ms, overflow) = count.multipliedReportingOverflow(by: unit)
            guard !overflow, ms <= GrantPolicy.maxExpiresInMs else {
                throw CLIError("--expires: \(text) is longer than an invite link can last (366d)")
            }
            return ms
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The invite links of a room or group that can still be used, newest first (never their tokens).")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Conversation: id, #room or a group's name") var conversation: String

        func run() async throws {
            try await chatc.run {
                try await inConversation(options, conversation) { c, id in
                    let links = try await c.listInviteLinks(id)
                    let names = Names(c)
                    for link in links {
                        let by = await names.name(link.createdBy, in: id)
                        print("\(link.id)\t\(summary(link))\tcreated \(time(link.createdAtMs)) by \(by)")
                    }
                    if links.isEmpty { print("no invite links") }
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an invite link: its token stops working at once.")
        @OptionGroup var options: ServerOptions
        @Argument(help: "Conversation: id, #room or a group's name") var conversation: String
        @Argument(help: "The link's id (from invite-link list).") var inviteID: UInt64

        func run() async throws {
            try await chatc.run {
                try await inConversation(options, conversation) { c, id in
                    try await c.revokeInviteLink(id, invite: inviteID)
                    print("revoked invite link \(inviteID)")
                }
            }
        }
    }

    struct Redeem: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Join the room or group of an invite link's token.")
        @OptionGroup var options: ServerOptions
        @Argument(help: "The token (64 hex digits, as invite-link create prints it).") var token: String

        func run() async throws {
            try await chatc.run {
                guard let bytes = GrantPolicy.token(hex: token) else {
                    throw CLIError("an invite link's token is 64 hex digits (as chatc invite-link create prints it)")
                }
                let (c, _) = try await resumed(options)
                let joined = try await c.redeemInviteLink(Data(bytes))
                print("joined \(await Names(c).title(joined)) (\(joined.id))")
            }
        }
    }
}

/// A link's uses and expiry: "1/5 uses, expires 2026-11-22 10:00".
private func summary(_ link: Chatd_V1_InviteLink) -> String {
    let uses = "\(link.uses)/\(link.maxUses == 0 ? "unlimited" : String(link.maxUses)) uses"
    return uses + ", " + (link.expiresAtMs == 0 ? "never expires" : "expires \(time(link.expiresAtMs))")
}
