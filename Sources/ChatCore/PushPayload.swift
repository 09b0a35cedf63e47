import Foundation

/// What one notification says, read from the store when it is sent: the
/// counts are those of that moment (the latest win).
public struct PushContext: Sendable, Equatable {
    /// Counts stop here (a badge says "999+" long before).
    public static let maxCount = 1000

    public var note: PushQueue.Note
    /// The user's targets among the devices that may be told: not
    /// revoked and signed in.
    public var targets: [PushTarget]
    /// Still a member, and the settings in force.
    public var isMember: Bool
    public var settings: NotificationSettings
    /// Messages after the member's read position (not their own, not deleted), and those mentioning them.
    public var unread: Int
    public var mentions: Int
    /// With content only.
    public var senderUsername: String?

    public init(
        note: PushQueue.Note, targets: [PushTarget], isMember: Bool, settings: NotificationSettings, unread: Int, mentions: Int,
        senderUsername: String? = nil
    ) {
        self.note = note
        self.targets = targets
        self.isMember = isMember
        self.settings = settings
        self.unread = unread
        self.mentions = mentions
        self.senderUsername = senderUsername
    }

    /// A notification's text from the message as it is when it is sent
    /// (nil: the message is gone or deleted), not as it was committed: an
    /// edit or a deletion within the gathering window, the user's interval
    /// or a retry's backoff is what the phone shows.
    public static func currentText(_ message: (text: String?, deleted: Bool)?) -> String? {
        guard let message, !message.deleted else { return nil }
        return PushPayload.cut(message.text ?? "")
    }
}

/// The bodies of the HTTP requests (spec/PROTOCOL.md §4.8), as JSON with
/// sorted keys.
public enum PushPayload {
    /// A UnifiedPush endpoint's body: chatd's own small document.
    public static func unified(_ c: PushContext, includeContent: Bool) -> [UInt8] {
        var body = UnifiedBody(
            type: "chatd.message", conversation_id: c.note.conversation, seq: c.note.seq, unread: c.unread,
            mentions: c.mentions)
        if includeContent {
            body.sender = c.senderUsername
            body.text = c.note.text
        }
        return encode(body)
    }

    /// A push gateway's body (Matrix push gateway API, POST
    /// /_matrix/push/v1/notify) for the user's gateway targets: content-free
    /// ("event_id_only") unless content is included.
    public static func gateway(_ c: PushContext, devices: [PushTarget], includeContent: Bool) -> [UInt8] {
        var n = GatewayNotification(
            event_id: "\(c.note.conversation):\(c.note.seq)", room_id: "\(c.note.conversation)",
            prio: "high", counts: .init(unread: c.unread),
            devices: devices.map {
                GatewayDevice(
                    app_id: $0.appID, pushkey: $0.pushkey, pushkey_ts: $0.createdAt / 1000,
                    data: .init(format: includeContent ? nil : "event_id_only", platform: $0.platform,
                        mentions: c.mentions))
            })
        if includeContent {
            n.type = "m.room.message"
            n.sender = c.senderUsername
            n.content = .init(msgtype: "m.text", body: c.note.text ?? "")
        }
        return encode(GatewayBody(notification: n))
    }

    /// The pushkeys a gateway's 200 answer rejects (`{"rejected": [...]}`);
    /// empty for anything else.
    public static func rejected(_ body: [UInt8]) -> Set<String> {
        guard let answer = try? JSONDecoder().decode(GatewayAnswer.self, from: Data(body)) else { return [] }
        return Set(answer.rejected ?? [])
    }

    /// `text` cut at a character boundary so that it takes at most
    /// `maxTextBytes` bytes of the JSON body, escapes included (a control
    /// character is written `\u00XX`: six bytes for one).
    public static func cut(_ text: String) -> String {
        guard jsonBytes(text) > PushPolicy.maxTextBytes else { return text }
        var out = ""
        var bytes = 0
        for c in text {
            let n = jsonBytes(c)
            guard bytes + n <= PushPolicy.maxTextBytes - 3 else { break }
            out.append(c)
            bytes += n
        }
        return out + "…"
    }

    /// An upper bound of what `text` takes inside a JSON string.
    static func jsonBytes(_ text: some StringProtocol) -> Int {
        text.unicodeScalars.reduce(0) { $0 + jsonBytes($1) }
    }

    private static func jsonBytes(_ c: Character) -> Int { c.unicodeScalars.reduce(0) { $0 + jsonBytes($1) } }

    private static func jsonBytes(_ s: Unicode.Scalar) -> Int {
        switch s.value {
        case 0x22, 0x5C: 2  // \" \\
        case 0..<0x20, 0x7F, 0x2028, 0x2029: 6  // \u00XX at most
        default: s.utf8.count
        }
    }

    private static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { [UInt8]($0) } ?? []
    }

    // Field names are the wire's.
    private struct UnifiedBody: Encodable {
        var type: String
        var conversation_id: ConversationID
        var seq: Seq
        var unread: Int
        var mentions: Int
        var sender: String?
        var text: String?
    }

    private struct GatewayBody: Encodable {
        var notification: GatewayNotification
    }

    private struct GatewayNotification: Encodable {
        var event_id: String
        var room_id: String
        var prio: String
        var counts: Counts
        var devices: [GatewayDevice]
        var type: String?
        var sender: String?
        var content: Content?

        struct Counts: Encodable { var unread: Int }
        struct Content: Encodable {
            var msgtype: String
            var body: String
        }
    }

    private struct GatewayDevice: Encodable {
        var app_id: String
        var pushkey: String
        var pushkey_ts: Int64
        var data: DeviceData

        struct DeviceData: Encodable {
            var format: String?
            var platform: String
            var mentions: Int
        }
    }

    private struct GatewayAnswer: Decodable {
        var rejected: [String]?
    }
}
