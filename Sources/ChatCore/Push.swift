import Foundation

/// Push notifications for offline devices (spec/PROTOCOL.md §4.8): what a
/// device registers, what the server sends, and how an answer is read.

/// How a device is reached while it is not connected.
public enum PushKind: String, Sendable, CaseIterable {
    /// A UnifiedPush endpoint: the server POSTs the notification to the URL.
    case unifiedPush = "unified_push"
    /// Through the operator's push gateway (Matrix push gateway API), to APNs or FCM.
    case gateway
}

/// One device's push target, as stored (one per device).
public struct PushTarget: Sendable, Equatable {
    public var device: DeviceRowID
    public var userID: UserID
    /// The client-visible device id.
    public var deviceID: String
    public var kind: PushKind
    /// `unifiedPush`: the endpoint URL; empty for `gateway`.
    public var endpoint: String
    /// `gateway`: the platform token, the app's id and "apns" or "fcm"; empty for `unifiedPush`.
    public var pushkey: String
    public var appID: String
    public var platform: String
    /// `unifiedPush` with Web Push encryption (RFC 8291): the device's
    /// P-256 public key (65 bytes, uncompressed) and its 16-byte auth
    /// secret; both empty: bodies are sent in clear.
    public var p256dh: [UInt8]
    public var auth: [UInt8]
    public var createdAt: Millis

    public var encrypted: Bool { !p256dh.isEmpty }

    public init(
        device: DeviceRowID, userID: UserID, deviceID: String, kind: PushKind, endpoint: String = "", pushkey: String = "",
        appID: String = "", platform: String = "", p256dh: [UInt8] = [], auth: [UInt8] = [], createdAt: Millis
    ) {
        self.device = device
        self.userID = userID
        self.deviceID = deviceID
        self.kind = kind
        self.endpoint = endpoint
        self.pushkey = pushkey
        self.appID = appID
        self.platform = platform
        self.p256dh = p256dh
        self.auth = auth
        self.createdAt = createdAt
    }

    /// Where it goes, without what makes it a capability: the endpoint's
    /// scheme and host (its path and query carry the endpoint's secret), or
    /// the gateway app and the first characters of the pushkey. For logs,
    /// audit rows and chatctl.
    public var redacted: String {
        switch kind {
        case .unifiedPush:
            guard let url = URLComponents(string: endpoint), let scheme = url.scheme, let host = url.host else { return "unified_push" }
            return "unified_push \(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")/…" + (encrypted ? " encrypted" : "")
        case .gateway:
            return "gateway \(platform) \(appID) \(pushkey.prefix(8))…"
        }
    }
}

/// Web Push message encryption (RFC 8291), for UnifiedPush endpoints
/// whose device registered its keys (ChatWebPush implements it).
public protocol WebPushSealer: Sendable {
    /// Whether `p256dh` is a P-256 public key (uncompressed, on the curve).
    func isValidKey(_ p256dh: [UInt8]) -> Bool
    /// The `aes128gcm` body for `plaintext`, readable only by the device.
    func seal(_ plaintext: [UInt8], p256dh: [UInt8], auth: [UInt8]) throws -> [UInt8]
}

/// Identifies this server to push services (VAPID, RFC 8292; ChatWebPush
/// implements it) on every POST to a UnifiedPush endpoint.
public protocol PushServiceSigner: Sendable {
    /// The server's P-256 public key, uncompressed (65 bytes): what a
    /// device gives its distributor when it subscribes (HelloResponse).
    var publicKey: [UInt8] { get }
    /// The Authorization header for a POST to `endpoint` at `now`; nil
    /// when the endpoint has no origin.
    func authorization(endpoint: String, now: Millis) -> String?
}

/// Why a device's target went away (the reason of a PUSH_TARGET_CHANGED account event).
public enum PushTargetChange: String, Sendable {
    /// Set by the device: the reason is the kind's name.
    case setUnified = "unified_push"
    case setGateway = "gateway"
    /// Removed by the device or an operator.
    case removed
    /// The endpoint answered 404 or 410, or the gateway rejected the pushkey.
    case gone
}

/// What the operator allows (the `[push]` keys).
public struct PushRules: Sendable, Equatable {
    public var enabled = true
    /// The gateway's notify URL; "" when gateway targets are not served.
    public var gatewayURL = ""
    /// Whether notifications carry the sender's username and the text.
    public var includeContent = false
    /// Whether UnifiedPush endpoints may be plain http:// URLs.
    public var allowHTTP = false
    /// Whether endpoints may name a loopback, private or link-local address.
    public var allowPrivateAddresses = false

    public init() {}
}

public enum PushPolicy {
    public static let maxEndpointBytes = 1024
    public static let maxPushkeyBytes = 512
    public static let maxAppIDBytes = 64
    public static let platforms = ["apns", "fcm"]
    /// Web Push keys: an uncompressed P-256 point and the auth secret.
    public static let p256dhBytes = 65
    public static let authBytes = 16
    /// Longest text a notification carries (with content): UnifiedPush
    /// distributors take 4096 bytes of body.
    public static let maxTextBytes = 1024

    /// SetPushTarget's fields, checked: the target to store.
    public static func target(
        kind: PushKind?, endpoint: String, pushkey: String, appID: String, platform: String, p256dh: [UInt8] = [],
        auth: [UInt8] = [], rules: PushRules, sealer: (any WebPushSealer)? = nil, device: DeviceRowID, user: UserID, deviceID: String,
        now: Millis
    ) throws(ChatFailure) -> PushTarget {
        guard rules.enabled else { throw ChatFailure.invalid("kind", "this server sends no push notifications") }
        guard let kind else { throw ChatFailure.invalid("kind", "kind must be PUSH_UNIFIED or PUSH_GATEWAY") }
        var target = PushTarget(device: device, userID: user, deviceID: deviceID, kind: kind, createdAt: now)
        switch kind {
        case .unifiedPush:
            guard pushkey.isEmpty, appID.isEmpty, platform.isEmpty else {
                throw ChatFailure.invalid("pushkey", "pushkey, app_id and platform are for PUSH_GATEWAY")
            }
            try checkEndpoint(endpoint, rules: rules)
            target.endpoint = endpoint
            if !p256dh.isEmpty || !auth.isEmpty {
                guard let sealer else { throw ChatFailure.invalid("p256dh", "this server does not encrypt notifications") }
                guard p256dh.count == p256dhBytes, p256dh.first == 4, sealer.isValidKey(p256dh) else {
                    throw ChatFailure.invalid("p256dh", "p256dh must be an uncompressed P-256 public key (65 bytes)")
                }
                guard auth.count == authBytes else { throw ChatFailure.invalid("auth", "auth must be 16 bytes") }
                (target.p256dh, target.auth) = (p256dh, auth)
            }
        case .gateway:
            guard p256dh.isEmpty, auth.isEmpty else { throw ChatFailure.invalid("p256dh", "p256dh and auth are for PUSH_UNIFIED") }
            guard !rules.gatewayURL.isEmpty else {
                throw ChatFailure.invalid("kind", "this server has no push gateway; use PUSH_UNIFIED")
            }
            guard endpoint.isEmpty else { throw ChatFailure.invalid("endpoint", "endpoint is for PUSH_UNIFIED") }
            guard !pushkey.isEmpty else { throw ChatFailure.invalid("pushkey", "pushkey is empty") }
            guard pushkey.utf8.count <= maxPushkeyBytes else { throw ChatFailure.tooLong("pushkey", max: maxPushkeyBytes) }
            guard pushkey.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw ChatFailure.invalid("pushkey", "pushkey must be printable ASCII without spaces")
            }
            guard !appID.isEmpty, appID.utf8.count <= maxAppIDBytes,
                appID.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
            else { throw ChatFailure.invalid("app_id", "app_id must be 1 to 64 of A-Z a-z 0-9 . _ -") }
            guard platforms.contains(platform) else { throw ChatFailure.invalid("platform", "platform must be apns or fcm") }
            (target.pushkey, target.appID, target.platform) = (pushkey, appID, platform)
        }
        return target
    }

    /// An endpoint the server will POST to: an absolute https URL (http
    /// when allowed) without credentials, whose host is not a loopback,
    /// private or link-local address literal or "localhost" (unless
    /// allowed). Names are not resolved here.
    public static func checkEndpoint(_ endpoint: String, rules: PushRules) throws(ChatFailure) {
        guard !endpoint.isEmpty else { throw ChatFailure.invalid("endpoint", "endpoint is empty") }
        guard endpoint.utf8.count <= maxEndpointBytes else { throw ChatFailure.tooLong("endpoint", max: maxEndpointBytes) }
        guard endpoint.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
            let url = URLComponents(string: endpoint), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else { throw ChatFailure.invalid("endpoint", "endpoint must be an absolute URL") }
        guard scheme == "https" || (scheme == "http" && rules.allowHTTP) else {
            throw ChatFailure.invalid("endpoint", rules.allowHTTP ? "endpoint must be http or https" : "endpoint must be https")
        }
        guard url.user == nil, url.password == nil else { throw ChatFailure.invalid("endpoint", "endpoint must not carry credentials") }
        guard rules.allowPrivateAddresses || !isPrivateHost(host) else {
            throw ChatFailure.invalid("endpoint", "endpoint names a loopback, private or link-local address")
        }
    }

    /// A VAPID contact (push.vapid_subject, RFC 8292 §2.1): a `mailto:`
    /// address or an `https:` URL, printable ASCII without spaces or
    /// quotes, at most 256 bytes.
    public static func isVAPIDSubject(_ subject: String) -> Bool {
        guard subject.utf8.count <= 256,
            subject.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" })
        else { return false }
        let lower = subject.lowercased()
        if lower.hasPrefix("mailto:") { return subject.utf8.count > 7 && subject.contains("@") }
        guard lower.hasPrefix("https://"), let url = URLComponents(string: subject), let host = url.host else { return false }
        return !host.isEmpty
    }

    /// "localhost" (and names under it) and address literals of loopback,
    /// private, link-local, shared (100.64/10), unspecified and unique-local
    /// ranges, and IPv6 addresses that carry such an IPv4 address
    /// (IPv4-mapped and -compatible, NAT64's 64:ff9b::/96, 6to4's 2002::/16).
    public static func isPrivateHost(_ rawHost: String) -> Bool {
        var host = rawHost.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }  // a fully qualified name: "localhost." is localhost
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        if let v4 = ipv4(host) { return isPrivate(v4) }
        guard host.contains(":") else { return false }
        var bytes = [UInt8](repeating: 0, count: 16)
        let parsed = host.split(separator: "%").first.map(String.init)?.withCString { inet_pton(AF_INET6, $0, &bytes) } ?? 0
        guard parsed == 1 else { return true }  // an unparsable literal is refused
        if bytes[0..<15].allSatisfy({ $0 == 0 }) { return true }  // :: and ::1
        if bytes[0] & 0xFE == 0xFC { return true }  // fc00::/7
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return true }  // fe80::/10
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return isPrivate(Array(bytes[12..<16]))  // ::ffff:a.b.c.d
        }
        if bytes[0..<12].allSatisfy({ $0 == 0 }) { return isPrivate(Array(bytes[12..<16])) }  // ::a.b.c.d
        if bytes[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] { return isPrivate(Array(bytes[12..<16])) }
        if bytes[0] == 0x20 && bytes[1] == 0x02 { return isPrivate(Array(bytes[2..<6])) }
        return false
    }

    /// Whether `host` is an address literal (nothing to resolve).
    public static func isAddressLiteral(_ host: String) -> Bool {
        ipv4(host) != nil || host.contains(":")
    }

    /// Whether a notification may be POSTed to `endpoint` now, when private
    /// addresses are not allowed: neither its host nor any address the
    /// host's name resolves to (`resolve`; nil: the lookup failed) may be
    /// loopback, private or link-local. Checked at every send, so a name
    /// that later points inside, or a rule tightened by a reload, stops it.
    /// nil: go ahead; else the outcome to record without sending.
    /// The scheme is checked again too: an `http` endpoint registered while
    /// `push.allow_http` was on gets nothing once it is off.
    public static func refusal(
        endpoint: String, rules: PushRules, resolve: (String) async -> [String]?
    ) async -> PushOutcome? {
        guard let url = URLComponents(string: endpoint), url.scheme?.lowercased() == "https" || rules.allowHTTP else { return .failed }
        guard !rules.allowPrivateAddresses else { return nil }
        guard let host = url.host, !isPrivateHost(host) else { return .failed }
        guard !isAddressLiteral(host) else { return nil }
        guard let addresses = await resolve(host), !addresses.isEmpty else { return .retry }
        return addresses.contains(where: isPrivateHost) ? .failed : nil
    }

    /// The IPv4 address `host` stands for, read as the C library reads it
    /// when it connects (`inet_aton`, as getaddrinfo does): besides dotted
    /// quads that is octal ("0177.0.0.1"), hexadecimal ("0x7f.1") and
    /// shortened ("127.1", "2130706433") forms, all 127.0.0.1. Reading
    /// them as decimal quads let such endpoints reach inside.
    private static func ipv4(_ host: String) -> [UInt8]? {
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: ":") }) else { return nil }
        var address = in_addr()
        guard host.withCString({ inet_aton($0, &address) }) == 1 else { return nil }
        return withUnsafeBytes(of: address.s_addr) { Array($0) }  // network order: a.b.c.d
    }

    private static func isPrivate(_ a: [UInt8]) -> Bool {
        switch (a[0], a[1]) {
        case (0, _), (10, _), (127, _): true
        case (100, 64...127): true
        case (169, 254): true
        case (172, 16...31): true
        case (192, 168): true
        default: a[0] >= 224  // multicast and reserved
        }
    }

    private static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    /// Whether a member with these settings is told of a message, at `now`.
    public static func notifies(_ settings: NotificationSettings, mentioned: Bool, now: Millis) -> Bool {
        if let until = settings.mutedUntil, until > now { return false }
        switch settings.level {
        case .all: return true
        case .mentions: return mentioned
        case .nothing: return false
        }
    }

    /// How an HTTP answer (nil: timeout or connection failure) is taken.
    /// `rejected`: the gateway listed the pushkey as rejected. From the
    /// gateway (`gateway`), only that removes a target: its 404 or 410 is
    /// about the operator's gateway URL (a wrong path, a proxy during a
    /// deploy), not the devices, and removing every gateway device told then
    /// wiped the registrations.
    public static func outcome(status: Int?, rejected: Bool = false, gateway: Bool = false) -> PushOutcome {
        guard let status else { return .retry }
        switch status {
        case 200..<300: return rejected ? .gone : .delivered
        case 404, 410: return gateway ? .failed : .gone
        case 408, 429, 500..<600: return .retry
        default: return .failed
        }
    }
}

/// What became of one notification to one device.
public enum PushOutcome: Sendable, Equatable {
    case delivered
    /// Worth trying again later (5xx, 408, 429, timeout, no connection).
    case retry
    /// The target no longer exists (404, 410, rejected): remove it.
    case gone
    /// Refused for good (another 4xx): drop this notification, keep the target.
    case failed
}
