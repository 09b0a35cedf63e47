import ChatProtocol
import Foundation

/// Typed helpers for the common operations.
extension ChatConnection {
    @discardableResult
    public func hello(clientName: String = "chatclient-swift", clientVersion: String = "0.1") async throws
        -> Chatd_V1_HelloResponse
    {
        var r = Chatd_V1_HelloRequest()
        r.protocolVersion = chatProtocolVersion
        r.clientName = clientName
        r.clientVersion = clientVersion
        return try await call(.hello, r)
    }

    public func register(
        username: String, password: String, displayName: String = "", email: String = "",
        device: Chatd_V1_DeviceInfo = Chatd_V1_DeviceInfo()
    ) async throws -> Chatd_V1_AuthResponse {
        var r = Chatd_V1_RegisterRequest()
        r.username = username
        r.password = password
        r.displayName = displayName
        r.email = email
        r.device = device
        return try await call(.register, r)
    }

    public func login(username: String, password: String, device: Chatd_V1_DeviceInfo = Chatd_V1_DeviceInfo())
        async throws -> Chatd_V1_AuthResponse
    {
        var r = Chatd_V1_LoginRequest()
        r.username = username
        r.password = password
        r.device = device
        return try await call(.login, r)
    }

    public func resume(token: Data, signature: Data = Data()) async throws -> Chatd_V1_AuthResponse {
        var r = Chatd_V1_ResumeRequest()
        r.token = token
        r.signature = signature
        return try await call(.resume, r)
    }

    public func logout() async throws {
        _ = try await call(.logout, Chatd_V1_LogoutRequest(), as: Chatd_V1_LogoutResponse.self)
    }

    public func me() async throws -> Chatd_V1_MeResponse {
        try await call(.me, Chatd_V1_MeRequest())
    }

    public func ping() async throws -> Chatd_V1_PingResponse {
        try await call(.ping, Chatd_V1_PingRequest())
    }

    public func createRoom(name: String, description: String = "", visibility: Chatd_V1_Visibility = .public)
        async throws -> Chatd_V1_Room
    {
        var r = Chatd_V1_CreateRoomRequest()
        r.name = name
        r.description_p = description
        r.visibility = visibility
        return try await call(.createRoom, r, as: Chatd_V1_CreateRoomResponse.self).room
    }

    public func joinRoom(_ id: UInt64) async throws -> Chatd_V1_Room {
        var r = Chatd_V1_JoinRoomRequest()
        r.roomID = id
        return try await call(.joinRoom, r, as: Chatd_V1_JoinRoomResponse.self).room
    }

    public func send(room: UInt64, text: String, clientMsgID: String = UUID().uuidString) async throws
        -> Chatd_V1_SendMessageResponse
    {
        var r = Chatd_V1_SendMessageRequest()
        r.roomID = room
        r.clientMsgID = clientMsgID
        r.text = text
        return try await call(.sendMessage, r)
    }

    public func history(room: UInt64, after: UInt64? = nil, before: UInt64? = nil, limit: UInt32 = 0) async throws
        -> Chatd_V1_HistoryResponse
    {
        var r = Chatd_V1_HistoryRequest()
        r.roomID = room
        if let after { r.afterSeq = after }
        if let before { r.beforeSeq = before }
        r.limit = limit
        return try await call(.history, r)
    }
}
