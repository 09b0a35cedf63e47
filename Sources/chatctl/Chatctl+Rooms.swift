import ArgumentParser
import ChatProtocol

/// A room id (digits) or a room name.
func roomRef(_ text: String) -> Chatd_Control_V1_RoomRef {
    var ref = Chatd_Control_V1_RoomRef()
    if let id = UInt64(text) { ref.roomID = id } else { ref.name = text }
    return ref
}

func memberRows(_ members: [Chatd_V1_Member]) -> [[String]] {
    members.map { [String($0.user.id), $0.user.username, roleName($0.role), time($0.joinedAtMs)] }
}

extension RoomCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a public room (default), a private room (--private) or a group (--group).",
            discussion: "Without --owner the room has no owner and no members; give it one later with set-role.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Option var description: String = ""
        @Flag(help: "A private room.") var `private` = false
        @Flag(help: "A private group (names need not be unique).") var group = false
        @Option(help: "The owner (a member from the start).") var owner: String?

        func run() async throws {
            var q = Chatd_Control_V1_RoomCreateRequest()
            q.name = name
            q.description_p = description
            q.kind = group ? "group" : "room"
            q.visibility = `private` || group ? "private" : "public"
            if let owner { q.owner = userRef(owner) }
            let r = try await global.call(.roomCreate, q, as: Chatd_Control_V1_RoomResponse.self)
            global.output(r) { "created \(roomRows([r.room]).first?[2] ?? "room") \(r.room.name) (id \(r.room.id))\n" }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a room, group or direct chat (by id or room name) with all its messages.")
        @OptionGroup var global: GlobalOptions
        @Argument var room: String

        func run() async throws {
            var q = Chatd_Control_V1_RoomDeleteRequest()
            q.room = roomRef(room)
            let r = try await global.call(.roomDelete, q, as: Chatd_Control_V1_RoomDeleteResponse.self)
            global.output(r) { "deleted \(room) (\(r.formerMembers) members told)\n" }
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a room's members.")
        @OptionGroup var global: GlobalOptions
        @Argument var room: String
        @Option(help: "Members after this user id.") var after: UInt64 = 0
        @Option(help: "At most this many (max 1000).") var limit: UInt32 = 100

        func run() async throws {
            var q = Chatd_Control_V1_RoomMembersRequest()
            q.room = roomRef(room)
            q.afterUserID = after
            q.limit = limit
            let r = try await global.call(.roomMembers, q, as: Chatd_Control_V1_RoomMembersResponse.self)
            global.output(r) {
                table(["USER ID", "USERNAME", "ROLE", "JOINED"], memberRows(r.members))
                    + (r.hasMore_p ? "(more: --after \(r.members.last?.user.id ?? 0))\n" : "")
            }
        }
    }

    /// Ops 20–24 share a request and a response.
    static func member(
        _ op: ControlOp, global: GlobalOptions, room: String, user: String, role: String = "", done: String
    ) async throws {
        var q = Chatd_Control_V1_RoomMemberRequest()
        q.room = roomRef(room)
        q.user = userRef(user)
        q.role = role
        let r = try await global.call(op, q, as: Chatd_Control_V1_RoomResponse.self)
        global.output(r) { "\(done) (\(r.room.name): \(r.room.memberCount) members)\n" }
    }

    struct AddMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-member", abstract: "Add a user to a room or group (MEMBER_ADDED by the server).")
        @OptionGroup var global: GlobalOptions
        @Argument var room: String
        @Argument var user: String

        func run() async throws {
            try await member(.roomAddMember, global: global, room: room, user: user, done: "added \(user)")
        }
    }

    struct RemoveMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove-member", abstract: "Remove a member (MEMBER_KICKED by the server; an owner hands over).")
        @OptionGroup var global: GlobalOptions
        @Argument var room: String
        @Argument var user: String

        func run() async throws {
            try await member(.roomRemoveMember, global: global, room: room, user: user, done: "removed \(user)")
        }
    }

    struct SetRole: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-role",
            abstract: "Set a member's role: member, admin, or owner (the previous owner becomes admin).")
        @OptionGroup var global: GlobalOptions
        @Argument var room: String
        @Argument var user: String
        @Argument(help: "member, admin or owner") var role: String

        func run() async throws {
            try await member(.roomSetRole, global: global, room: room, user: user, role: role, done: "\(user) is now \(role)")
        }
    }

    struct Ban: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ban a user from a room or group (removing them if they are a member).")
        @OptionGroup var global: GlobalOptions
        @Argument var room: String
        @Argument var user: String

        func run() async throws {
            try await member(.roomBan, global: global, room: room, user: user, done: "banned \(user)")
        }
    }

    struct Unban: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift a ban (the user is not re-added).")
        @OptionGroup var global: GlobalOptions
        @Argument var room: String
        @Argument var user: String

        func run() async throws {
            try await member(.roomUnban, global: global, room: room, user: user, done: "unbanned \(user)")
        }
    }
}
