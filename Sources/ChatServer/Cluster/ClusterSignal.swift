import ChatCore

/// What one node tells the others that share its database and is never
/// stored: typing, read pushes, presence, ended sessions. Committed changes
/// travel separately (the store announces them with their commit). A signal
/// is a short text (PostgreSQL's NOTIFY payload) so that a person reading
/// `LISTEN chatd_signals` in psql can follow it.
public enum ClusterSignal: Sendable, Equatable {
    /// A typing indicator for the members connected to other nodes.
    case typing(conversation: ConversationID, user: UserID, typing: Bool, expiresInMs: UInt32)
    /// A member's read position moved (already stored).
    case read(conversation: ConversationID, user: UserID, seq: Seq)
    /// A member's delivered position moved (already stored; the sending
    /// node coalesced it, §6.3).
    case delivered(conversation: ConversationID, user: UserID, seq: Seq)
    /// The sending node's view of a user: online, away, or no longer
    /// connected there (`lastSeen` set).
    case presence(user: UserID, state: PresenceState, lastSeen: Millis)
    /// Close these devices' connections (revocation, logout elsewhere, password change).
    case endDevices([DeviceRowID], reason: SessionEndReason)
    /// Close this user's connections (disabled, deleted).
    case endUser(UserID, reason: SessionEndReason)
    /// chatctl sessions kick, for the connections on other nodes: a user's
    /// or a device's everywhere, a connection on the node named (connection
    /// ids are each node's own).
    case kick(SessionSelector, node: String?)
    /// A node began listening (started, or reconnected after missing
    /// signals): the others tell it who is connected to them.
    case hello

    /// Bounded so that one signal fits a NOTIFY payload (8000 bytes).
    public static let maxDevices = 500

    public var encoded: String {
        switch self {
        case .typing(let c, let u, let typing, let expires): "t \(c) \(u) \(typing ? 1 : 0) \(expires)"
        case .read(let c, let u, let seq): "r \(c) \(u) \(seq)"
        case .delivered(let c, let u, let seq): "d \(c) \(u) \(seq)"
        case .presence(let u, let state, let lastSeen): "p \(u) \(Self.code(state)) \(lastSeen)"
        case .endDevices(let devices, let reason):
            "e \(Self.code(reason)) " + devices.prefix(Self.maxDevices).map(String.init).joined(separator: " ")
        case .endUser(let u, let reason): "u \(Self.code(reason)) \(u)"
        case .kick(.user(let u), _): "k u \(u)"
        case .kick(.device(let d), _): "k d \(d)"
        case .kick(.connection(let id), let node): "k c \(id) \(node ?? "")"
        case .hello: "h"
        }
    }

    /// Parses `encoded`; nil for anything else (a newer node's signal, noise on the channel).
    public init?(_ text: Substring) {
        let parts = text.split(separator: " ")
        guard let kind = parts.first else { return nil }
        let numbers = parts.dropFirst().map { Int64($0) }
        func number(_ i: Int) -> Int64? { i < numbers.count ? numbers[i] : nil }
        switch kind {
        case "t":
            guard numbers.count == 4, let c = number(0), let u = number(1), let t = number(2), let e = number(3),
                let expires = UInt32(exactly: e)
            else { return nil }
            self = .typing(conversation: c, user: u, typing: t == 1, expiresInMs: expires)
        case "r":
            guard numbers.count == 3, let c = number(0), let u = number(1), let seq = number(2) else { return nil }
            self = .read(conversation: c, user: u, seq: seq)
        case "d":
            guard numbers.count == 3, let c = number(0), let u = number(1), let seq = number(2) else { return nil }
            self = .delivered(conversation: c, user: u, seq: seq)
        case "p":
            guard numbers.count == 3, let u = number(0), let s = number(1), let state = Self.state(s), let seen = number(2)
            else { return nil }
            self = .presence(user: u, state: state, lastSeen: seen)
        case "e":
            guard numbers.count >= 2, let r = number(0), let reason = Self.reason(r) else { return nil }
            let devices = numbers.dropFirst().compactMap { $0 }
            guard devices.count == numbers.count - 1 else { return nil }
            self = .endDevices(devices, reason: reason)
        case "u":
            guard numbers.count == 2, let r = number(0), let reason = Self.reason(r), let u = number(1) else { return nil }
            self = .endUser(u, reason: reason)
        case "k":
            guard parts.count >= 3, let id = Int64(parts[2]) else { return nil }
            switch (parts[1], parts.count) {
            case ("u", 3): self = .kick(.user(id), node: nil)
            case ("d", 3): self = .kick(.device(id), node: nil)
            case ("c", 4): self = .kick(.connection(UInt64(bitPattern: id)), node: String(parts[3]))
            default: return nil
            }
        case "h":
            guard parts.count == 1 else { return nil }
            self = .hello
        default: return nil
        }
    }

    private static func code(_ state: PresenceState) -> Int {
        switch state {
        case .offline: 0
        case .online: 1
        case .away: 2
        }
    }

    private static func state(_ code: Int64) -> PresenceState? {
        switch code {
        case 0: .offline
        case 1: .online
        case 2: .away
        default: nil
        }
    }

    private static func code(_ reason: SessionEndReason) -> Int {
        switch reason {
        case .deviceRevoked: 1
        case .accountDisabled: 2
        case .passwordChanged: 3
        case .tokenEnded: 4
        }
    }

    private static func reason(_ code: Int64) -> SessionEndReason? {
        switch code {
        case 1: .deviceRevoked
        case 2: .accountDisabled
        case 3: .passwordChanged
        case 4: .tokenEnded
        default: nil
        }
    }
}

/// Carries signals to the other nodes. On one node there are none, and
/// `NoCluster` drops them.
public protocol ClusterLink: Sendable {
    func send(_ signal: ClusterSignal)
}

public struct NoCluster: ClusterLink {
    public init() {}
    public func send(_ signal: ClusterSignal) {}
}
