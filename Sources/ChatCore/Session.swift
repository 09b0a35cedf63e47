/// An authenticated connection's identity: who, on which device, until when.
public struct Session: Sendable, Equatable {
    public var user: User
    public var deviceRowID: DeviceRowID
    public var deviceID: String
    public var tokenExpiresAt: Millis
    /// The stored hash of the token the session was opened or last
    /// refreshed with: RefreshToken replaces exactly that token.
    public var tokenHash: [UInt8]

    public init(user: User, deviceRowID: DeviceRowID, deviceID: String, tokenExpiresAt: Millis, tokenHash: [UInt8] = []) {
        self.user = user
        self.deviceRowID = deviceRowID
        self.deviceID = deviceID
        self.tokenExpiresAt = tokenExpiresAt
        self.tokenHash = tokenHash
    }

    public var userID: UserID { user.id }
}

/// Facts about the connection a request came in on.
public struct ConnectionContext: Sendable, Equatable {
    /// Peer address without port, for audit and per-address throttling.
    public var address: String
    /// The nonce this connection's HelloResponse carried.
    public var nonce: [UInt8]
    /// The connection's id in the session registry (0 outside a connection).
    public var connectionID: UInt64

    public init(address: String, nonce: [UInt8], connectionID: UInt64 = 0) {
        self.address = address
        self.nonce = nonce
        self.connectionID = connectionID
    }
}

/// What Register, Login, Resume and RefreshToken return.
public struct AuthResult: Sendable, Equatable {
    public var session: Session
    /// A new token for the client; nil on Resume.
    public var token: [UInt8]?

    public init(session: Session, token: [UInt8]?) {
        self.session = session
        self.token = token
    }
}

public struct DeviceInput: Sendable, Equatable {
    public var deviceID: String
    public var name: String
    public var platform: String
    public var publicKey: [UInt8]

    public init(deviceID: String = "", name: String = "", platform: String = "", publicKey: [UInt8] = []) {
        self.deviceID = deviceID
        self.name = name
        self.platform = platform
        self.publicKey = publicKey
    }
}

/// The bytes a device signs to resume: context, this connection's nonce, the token.
public enum ResumeSignature {
    public static let context: [UInt8] = Array("chatd-resume-v1".utf8)

    public static func message(nonce: [UInt8], token: [UInt8]) -> [UInt8] {
        context + nonce + token
    }
}
