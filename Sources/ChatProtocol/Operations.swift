/// Protocol version spoken by this implementation (HelloResponse.protocol_version).
public let chatProtocolVersion: UInt32 = 1

/// Client request operations (frame `op` of kinds 1, 2 and 3).
/// The numbers are part of the wire format: never renumber, only add.
public enum Op: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    case hello = 1
    case ping = 2

    case register = 10
    case login = 11
    case resume = 12
    case logout = 13
    case me = 14
    case updateProfile = 15
    case changePassword = 16
    case listDevices = 17
    case revokeDevice = 18
    case refreshToken = 19

    case createRoom = 30
    case listPublicRooms = 31
    case listMyRooms = 32
    case getRoom = 33
    case joinRoom = 34
    case inviteToRoom = 35
    case leaveRoom = 36
    case listMembers = 37

    case sendMessage = 40
    case history = 41

    public var description: String {
        switch self {
        case .hello: "hello"
        case .ping: "ping"
        case .register: "register"
        case .login: "login"
        case .resume: "resume"
        case .logout: "logout"
        case .me: "me"
        case .updateProfile: "update_profile"
        case .changePassword: "change_password"
        case .listDevices: "list_devices"
        case .revokeDevice: "revoke_device"
        case .refreshToken: "refresh_token"
        case .createRoom: "create_room"
        case .listPublicRooms: "list_public_rooms"
        case .listMyRooms: "list_my_rooms"
        case .getRoom: "get_room"
        case .joinRoom: "join_room"
        case .inviteToRoom: "invite_to_room"
        case .leaveRoom: "leave_room"
        case .listMembers: "list_members"
        case .sendMessage: "send_message"
        case .history: "history"
        }
    }

    /// What a connection must have done before sending this op.
    public enum Requirement: Sendable {
        /// Allowed as the very first request.
        case none
        /// After Hello, authenticated or not.
        case hello
        /// After Hello, only while not authenticated.
        case unauthenticated
        /// After a successful Register, Login or Resume.
        case authenticated
    }

    public var requirement: Requirement {
        switch self {
        case .hello: .none
        case .ping: .hello
        case .register, .login, .resume: .unauthenticated
        case .logout, .me, .updateProfile, .changePassword, .listDevices, .revokeDevice, .refreshToken,
            .createRoom, .listPublicRooms, .listMyRooms, .getRoom, .joinRoom, .inviteToRoom, .leaveRoom,
            .listMembers, .sendMessage, .history:
            .authenticated
        }
    }
}

/// Push types (frame `op` of kind 4).
public enum PushType: UInt16, Sendable, CaseIterable {
    case event = 1
    case goodbye = 2
}

/// Control-socket operations (chatctl <-> chatd).
public enum ControlOp: UInt16, Sendable, CaseIterable {
    case status = 1
    case userAdd = 2
    case userList = 3
    case userShow = 4
    case userDisable = 5
    case userEnable = 6
    case userPasswd = 7
    case userSetRole = 8
    case roomList = 9
    case roomShow = 10
    case deviceList = 11
    case deviceRevoke = 12
}
