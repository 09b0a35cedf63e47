import ChatCore
import ChatProtocol
import Foundation
import Logging
import SwiftProtobuf

/// Runs one client request: decodes the payload for its op, calls the
/// service, encodes the response or the error. No NIO types beyond frames.
public struct ClientRouter: Sendable {
    public let accounts: AccountService
    public let rooms: RoomService
    public let clock: any WallClock
    let logger: Logger

    public init(accounts: AccountService, rooms: RoomService, clock: any WallClock, logger: Logger) {
        self.accounts = accounts
        self.rooms = rooms
        self.clock = clock
        self.logger = logger
    }

    /// What the connection must do besides writing the frame.
    public enum Outcome: Sendable {
        case reply(Frame)
        case authenticated(Frame, Session)
        case authenticationFailed(Frame)
        case refreshed(Frame, Session)
        case loggedOut(Frame)

        var frame: Frame {
            switch self {
            case .reply(let f), .authenticated(let f, _), .authenticationFailed(let f), .refreshed(let f, _), .loggedOut(let f): f
            }
        }
    }

    public func route(op: Op, frame: Frame, session: Session?, context: ConnectionContext) async -> Outcome {
        switch op {
        case .register, .login, .resume:
            let result = await respond(frame) { () async throws -> AuthResult in
                switch op {
                case .register:
                    let r = try Chatd_V1_RegisterRequest(payload: frame.payload)
                    return try await accounts.register(
                        username: r.username, password: r.password, email: r.email, displayName: r.displayName,
                        device: deviceInput(r.device), context: context)
                case .login:
                    let r = try Chatd_V1_LoginRequest(payload: frame.payload)
                    return try await accounts.login(
                        username: r.username, password: r.password, device: deviceInput(r.device), context: context)
                default:
                    let r = try Chatd_V1_ResumeRequest(payload: frame.payload)
                    return try await accounts.resume(token: Array(r.token), signature: Array(r.signature), context: context)
                }
            }
            switch result {
            case .success(let auth): return .authenticated(response(frame, authResponse(auth)), auth.session)
            case .failure(let error): return .authenticationFailed(error.frame)
            }
        case .refreshToken:
            guard let session else { return .reply(unauthenticated(frame)) }
            let refresh = await respond(frame) { () async throws -> AuthResult in
                _ = try Chatd_V1_RefreshTokenRequest(payload: frame.payload)
                return try await accounts.refreshToken(session, context: context)
            }
            switch refresh {
            case .success(let auth): return .refreshed(response(frame, authResponse(auth)), auth.session)
            case .failure(let error): return .reply(error.frame)
            }
        case .logout:
            guard let session else { return .reply(unauthenticated(frame)) }
            let logout = await respond(frame) { () async throws -> Void in
                _ = try Chatd_V1_LogoutRequest(payload: frame.payload)
                try await accounts.logout(session, context: context)
            }
            switch logout {
            case .success: return .loggedOut(response(frame, Chatd_V1_LogoutResponse()))
            case .failure(let error): return .reply(error.frame)
            }
        case .hello:
            // Answered by the connection handler, which owns the nonce.
            return .reply(Frame.error(op: frame.op, id: frame.id, code: .internal, message: "hello misrouted"))
        case .ping:
            let clock = self.clock
            let pong = await respond(frame) { () throws -> Chatd_V1_PingResponse in
                _ = try Chatd_V1_PingRequest(payload: frame.payload)
                var pong = Chatd_V1_PingResponse()
                pong.serverTimeMs = clock.nowMs()
                return pong
            }
            switch pong {
            case .success(let message): return .reply(response(frame, message))
            case .failure(let error): return .reply(error.frame)
            }
        default:
            guard let session else { return .reply(unauthenticated(frame)) }
            return .reply(await authenticated(op, frame, session, context))
        }
    }

    private func authenticated(_ op: Op, _ frame: Frame, _ session: Session, _ context: ConnectionContext) async -> Frame {
        let result: Result<any SwiftProtobuf.Message, ErrorFrame> = await respond(frame) { () async throws -> any SwiftProtobuf.Message in
            switch op {
            case .me:
                _ = try Chatd_V1_MeRequest(payload: frame.payload)
                let account = try await accounts.me(session)
                var r = Chatd_V1_MeResponse()
                r.user = ProtoMap.user(account.user)
                r.email = account.email
                r.deviceID = session.deviceID
                return r
            case .updateProfile:
                let q = try Chatd_V1_UpdateProfileRequest(payload: frame.payload)
                let change = ProfileChange(
                    displayName: q.hasDisplayName ? q.displayName : nil, avatarURL: q.hasAvatarURL ? q.avatarURL : nil,
                    statusText: q.hasStatusText ? q.statusText : nil)
                var r = Chatd_V1_UpdateProfileResponse()
                r.user = ProtoMap.user(try await accounts.updateProfile(session, change))
                return r
            case .changePassword:
                let q = try Chatd_V1_ChangePasswordRequest(payload: frame.payload)
                try await accounts.changePassword(
                    session, old: q.oldPassword, new: q.newPassword, keepOtherDevices: q.keepOtherDevices, context: context)
                return Chatd_V1_ChangePasswordResponse()
            case .listDevices:
                _ = try Chatd_V1_ListDevicesRequest(payload: frame.payload)
                let now = clock.nowMs()
                var r = Chatd_V1_ListDevicesResponse()
                r.devices = try await accounts.devices(session).map {
                    ProtoMap.device($0, current: session.deviceRowID, now: now)
                }
                return r
            case .revokeDevice:
                let q = try Chatd_V1_RevokeDeviceRequest(payload: frame.payload)
                try await accounts.revokeDevice(session, deviceID: q.deviceID, context: context)
                return Chatd_V1_RevokeDeviceResponse()
            case .createRoom:
                let q = try Chatd_V1_CreateRoomRequest(payload: frame.payload)
                var r = Chatd_V1_CreateRoomResponse()
                r.room = ProtoMap.room(
                    try await rooms.create(
                        session, name: q.name, description: q.description_p, visibility: try ProtoMap.visibility(q.visibility)))
                return r
            case .listPublicRooms:
                let q = try Chatd_V1_ListPublicRoomsRequest(payload: frame.payload)
                return roomList(try await rooms.listPublic(session, after: ProtoMap.id(q.afterID), limit: Int(q.limit)))
            case .listMyRooms:
                let q = try Chatd_V1_ListMyRoomsRequest(payload: frame.payload)
                return roomList(try await rooms.listMine(session, after: ProtoMap.id(q.afterID), limit: Int(q.limit)))
            case .getRoom:
                let q = try Chatd_V1_GetRoomRequest(payload: frame.payload)
                var r = Chatd_V1_GetRoomResponse()
                r.room = ProtoMap.room(try await rooms.get(session, room: ProtoMap.id(q.roomID)))
                return r
            case .joinRoom:
                let q = try Chatd_V1_JoinRoomRequest(payload: frame.payload)
                var r = Chatd_V1_JoinRoomResponse()
                r.room = ProtoMap.room(try await rooms.join(session, room: ProtoMap.id(q.roomID)))
                return r
            case .inviteToRoom:
                let q = try Chatd_V1_InviteToRoomRequest(payload: frame.payload)
                var r = Chatd_V1_InviteToRoomResponse()
                r.room = ProtoMap.room(
                    try await rooms.invite(session, room: ProtoMap.id(q.roomID), userID: ProtoMap.id(q.userID), username: q.username))
                return r
            case .leaveRoom:
                let q = try Chatd_V1_LeaveRoomRequest(payload: frame.payload)
                try await rooms.leave(session, room: ProtoMap.id(q.roomID))
                return Chatd_V1_LeaveRoomResponse()
            case .listMembers:
                let q = try Chatd_V1_ListMembersRequest(payload: frame.payload)
                let page = try await rooms.members(
                    session, room: ProtoMap.id(q.roomID), after: ProtoMap.id(q.afterUserID), limit: Int(q.limit))
                var r = Chatd_V1_ListMembersResponse()
                r.members = page.items.map(ProtoMap.member)
                r.hasMore_p = page.hasMore
                return r
            case .sendMessage:
                let q = try Chatd_V1_SendMessageRequest(payload: frame.payload)
                let result = try await rooms.send(
                    session, room: ProtoMap.id(q.roomID), clientMsgID: q.clientMsgID, text: q.text)
                var r = Chatd_V1_SendMessageResponse()
                r.event = ProtoMap.event(result.event)
                r.duplicate = result.duplicate
                return r
            case .history:
                let q = try Chatd_V1_HistoryRequest(payload: frame.payload)
                if q.hasAfterSeq && q.hasBeforeSeq {
                    throw ChatFailure.invalid("before_seq", "give after_seq or before_seq, not both")
                }
                let anchor: HistoryAnchor =
                    q.hasAfterSeq ? .after(ProtoMap.id(q.afterSeq)) : q.hasBeforeSeq ? .before(ProtoMap.id(q.beforeSeq)) : .newest
                let page = try await rooms.history(session, room: ProtoMap.id(q.roomID), anchor: anchor, limit: Int(q.limit))
                var r = Chatd_V1_HistoryResponse()
                r.events = page.events.map(ProtoMap.event)
                r.hasMore_p = page.hasMore
                r.headSeq = UInt64(page.headSeq)
                return r
            case .hello, .ping, .register, .login, .resume, .logout, .refreshToken:
                throw ChatFailure(.wrongState, "op not routed here")
            }
        }
        switch result {
        case .success(let message):
            return Frame(kind: .response, op: frame.op, id: frame.id, payload: message.payloadBuffer())
        case .failure(let error):
            return error.frame
        }
    }

    // MARK: Helpers

    private func roomList(_ page: PageResult<Room>) -> Chatd_V1_ListRoomsResponse {
        var r = Chatd_V1_ListRoomsResponse()
        r.rooms = page.items.map(ProtoMap.room)
        r.hasMore_p = page.hasMore
        return r
    }

    private func deviceInput(_ d: Chatd_V1_DeviceInfo) -> DeviceInput {
        DeviceInput(deviceID: d.deviceID, name: d.name, platform: d.platform, publicKey: Array(d.publicKey))
    }

    private func authResponse(_ auth: AuthResult) -> Chatd_V1_AuthResponse {
        var r = Chatd_V1_AuthResponse()
        r.user = ProtoMap.user(auth.session.user)
        r.deviceID = auth.session.deviceID
        r.token = auth.token.map { Data($0) } ?? Data()
        r.tokenExpiresAtMs = auth.session.tokenExpiresAt
        return r
    }

    private func response(_ request: Frame, _ message: some SwiftProtobuf.Message) -> Frame {
        Frame.response(op: request.op, id: request.id, message)
    }

    private func unauthenticated(_ frame: Frame) -> Frame {
        Frame.error(op: frame.op, id: frame.id, code: .unauthenticated, message: "log in first")
    }

    func respond<T: Sendable>(_ request: Frame, _ body: () async throws -> T) async -> Result<T, ErrorFrame> {
        await ErrorResponder(logger: logger).respond(request, body)
    }
}

/// An error response, as the failure side of a `Result`.
struct ErrorFrame: Error {
    let frame: Frame
}

/// Turns thrown errors into error responses: domain failures keep their code
/// and message; decoding failures are bad_payload; anything else is logged
/// with its detail and answered `internal` without it.
struct ErrorResponder: Sendable {
    let logger: Logger

    /// Runs `body`, turning every failure into the error frame for `request`.
    func respond<T: Sendable>(_ request: Frame, _ body: () async throws -> T) async -> Result<T, ErrorFrame> {
        do {
            return .success(try await body())
        } catch let failure as ChatFailure {
            return .failure(
                ErrorFrame(
                    frame: Frame.error(
                        op: request.op, id: request.id, code: ErrorMap.code(failure.kind), message: failure.message,
                        retryAfterMs: UInt32(clamping: failure.retryAfterMs), field: failure.field)))
        } catch let error as BinaryDecodingError {
            return .failure(
                ErrorFrame(
                    frame: Frame.error(
                        op: request.op, id: request.id, code: .badPayload, message: "payload does not parse: \(error)")))
        } catch {
            logger.error("request failed", metadata: ["chatd.op": "\(request.op)", "chatd.error": "\(error)"])
            return .failure(
                ErrorFrame(frame: Frame.error(op: request.op, id: request.id, code: .internal, message: "internal error")))
        }
    }
}
