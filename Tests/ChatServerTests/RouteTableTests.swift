import ChatProtocol
import Testing

@testable import ChatServer

/// The route tables are the one place an op is wired: every op has exactly
/// one row, and what each row declares is what spec/PROTOCOL.md says.
struct RouteTableTests {
    @Test func everyClientOpHasExactlyOneRow() {
        for op in Op.allCases {
            #expect(ClientRoutes.all.filter { $0.op == op }.count == 1, "\(op)")
            #expect(ClientRoutes.row(op).op == op)
        }
        #expect(ClientRoutes.all.count == Op.allCases.count)
    }

    @Test func everyControlOpHasExactlyOneRow() {
        for op in ControlOp.allCases {
            #expect(ControlRoutes.all.filter { $0.op == op }.count == 1, "\(op)")
            #expect(ControlRoutes.row(op).op == op)
        }
        #expect(ControlRoutes.all.count == ControlOp.allCases.count)
    }

    /// Spec §2.3: Hello first; Ping after Hello; Register, Login and Resume
    /// only before authenticating; everything else after.
    @Test func clientRequirementsFollowTheSpec() {
        #expect(Op.hello.requirement == .none)
        #expect(Op.ping.requirement == .hello)
        for op in [Op.register, .login, .resume] { #expect(op.requirement == .unauthenticated) }
        for op in Op.allCases where ![.hello, .ping, .register, .login, .resume].contains(op) {
            #expect(op.requirement == .authenticated, "\(op)")
        }
    }

    /// Lists, pages and file bytes reserve a page of the outbound budget.
    @Test func pagedAnswersAreMarked() {
        let paged: Set<Op> = [
            .createGroup, .listDevices, .listPublicRooms, .listConversations, .getConversation, .listMembers, .history,
            .sync, .listOnlineMembers, .listFriends, .listBlocked, .searchUsers, .uploadStatus, .download, .searchMessages,
        ]
        for op in Op.allCases { #expect((op.answerSize == .page) == paged.contains(op), "\(op)") }
    }

    /// A row decodes the request type it names: the spec's message for the op.
    @Test func requestTypesAreTheSpecsMessages() {
        #expect(Op.sendMessage.route.requestType.protoMessageName == "chatd.v1.SendMessageRequest")
        #expect(Op.kick.route.requestType.protoMessageName == "chatd.v1.MemberActionRequest")
        #expect(Op.block.route.requestType.protoMessageName == "chatd.v1.UserRef")
        #expect(ControlRoutes.row(.roomBan).requestType.protoMessageName == "chatd.control.v1.RoomMemberRequest")
        #expect(ClientRoutes.all.allSatisfy { $0.requestType.protoMessageName.hasPrefix("chatd.v1.") })
        #expect(ControlRoutes.all.allSatisfy { $0.requestType.protoMessageName.hasPrefix("chatd.control.v1.") })
    }
}
