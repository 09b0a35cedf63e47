/// Field validation. Each check names the field it rejects so the client can
/// point at it; lengths are UTF-8 bytes (what the wire and the database carry).
public enum Validate {
    /// 3..32 of [A-Za-z0-9_.-]. Returns the case-folded key used for uniqueness.
    public static func username(_ value: String, field: String = "username") throws(ChatFailure) -> String {
        let bytes = value.utf8
        guard bytes.count <= WireLimits.usernameMaxBytes else {
            throw .tooLong(field, max: WireLimits.usernameMaxBytes)
        }
        guard bytes.count >= WireLimits.usernameMinBytes else {
            throw .invalid(field, "username must be at least \(WireLimits.usernameMinBytes) characters")
        }
        guard bytes.allSatisfy(isUsernameByte) else {
            throw .invalid(field, "username may contain only letters, digits, '_', '.' and '-'")
        }
        return usernameKey(value)
    }

    /// The case-insensitive key of a username (ASCII only, so lowercasing is exact).
    public static func usernameKey(_ value: String) -> String {
        String(decoding: value.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }

    static func isUsernameByte(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95 || b == 46 || b == 45
    }

    public static func password(_ value: String, limits: DomainLimits, field: String = "password") throws(ChatFailure) {
        let n = value.utf8.count
        if n > limits.maxPasswordBytes { throw .tooLong(field, max: limits.maxPasswordBytes) }
        if n < limits.minPasswordBytes {
            throw .invalid(field, "password must be at least \(limits.minPasswordBytes) bytes")
        }
    }

    public static func email(_ value: String) throws(ChatFailure) {
        if value.isEmpty { return }
        if value.utf8.count > WireLimits.maxEmailBytes { throw .tooLong("email", max: WireLimits.maxEmailBytes) }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !hasControlOrSpace(value) else {
            throw .invalid("email", "email must look like name@host")
        }
    }

    /// Free text shown to people: bounded, no control characters except
    /// newline and tab when `multiline`.
    public static func text(
        _ value: String, field: String, max: Int, min: Int = 0, multiline: Bool = false
    ) throws(ChatFailure) {
        let n = value.utf8.count
        if n > max { throw .tooLong(field, max: max) }
        if n < min { throw .invalid(field, min == 1 ? "\(field) must not be empty" : "\(field) is too short") }
        for scalar in value.unicodeScalars where isControl(scalar) {
            if multiline && (scalar == "\n" || scalar == "\t" || scalar == "\r") { continue }
            throw .invalid(field, "\(field) contains a control character")
        }
    }

    /// Message text: 1..max bytes, not only white space.
    public static func messageText(_ value: String, limits: DomainLimits) throws(ChatFailure) {
        try text(value, field: "text", max: limits.maxMessageBytes, min: 1, multiline: true)
        if value.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) {
            throw .invalid("text", "text must not be blank")
        }
    }

    public static func roomName(_ value: String, limits: DomainLimits) throws(ChatFailure) -> String {
        try name(value, field: "name", max: limits.maxRoomNameBytes, min: 1)
    }

    /// Case-insensitive key for room names (NFC first, so composed and
    /// decomposed spellings are one name).
    public static func roomNameKey(_ value: String) -> String { nfc(value).trimmingWhitespace().lowercased() }

    /// A name shown to people (display name, room or group name, file name):
    /// Unicode NFC, trimmed of white space, then checked like `text` and for
    /// characters that make a name look like another (`hasDeceptiveCharacter`).
    /// Returns the form to store.
    public static func name(_ value: String, field: String, max: Int, min: Int = 0) throws(ChatFailure) -> String {
        let normalized = nfc(value).trimmingWhitespace()
        try text(normalized, field: field, max: max, min: min)
        if hasDeceptiveCharacter(normalized) {
            throw .invalid(field, "\(field) contains a bidirectional control or invisible character")
        }
        return normalized
    }

    /// Unicode Normalization Form C. The stdlib's own normaliser (what
    /// Foundation's precomposedStringWithCanonicalMapping uses); ChatCore
    /// imports nothing else.
    public static func nfc(_ value: String) -> String {
        value.utf8.allSatisfy { $0 < 0x80 } ? value : String(decoding: value._nfcCodeUnits, as: UTF8.self)
    }

    /// Bidirectional controls (which reorder what follows: `a\u{202E}gnp.exe`
    /// shows as "aexe.png") and invisible characters (zero-width space, word
    /// joiner, BOM...). The zero-width joiner and non-joiner are allowed
    /// between two visible characters, where emoji sequences and several
    /// scripts need them.
    public static func hasDeceptiveCharacter(_ value: String) -> Bool {
        let scalars = Array(value.unicodeScalars)
        for (i, s) in scalars.enumerated() {
            switch s.value {
            case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069,  // bidirectional controls
                0x200B, 0x2060...0x2064, 0xFEFF, 0x180E, 0x00AD, 0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0:  // invisible
                return true
            case 0x200C, 0x200D:
                guard i > 0, i + 1 < scalars.count, isVisible(scalars[i - 1]), isVisible(scalars[i + 1]) else { return true }
            default:
                continue
            }
        }
        return false
    }

    private static func isVisible(_ s: Unicode.Scalar) -> Bool {
        !s.properties.isWhitespace && !isControl(s) && s.properties.generalCategory != .format
    }

    /// 1..64 of [A-Za-z0-9_-].
    public static func deviceID(_ value: String) throws(ChatFailure) {
        let bytes = value.utf8
        if bytes.count > WireLimits.maxDeviceIDBytes { throw .tooLong("device.device_id", max: WireLimits.maxDeviceIDBytes) }
        guard !bytes.isEmpty, bytes.allSatisfy({ isUsernameByte($0) && $0 != 46 }) else {
            throw .invalid("device.device_id", "device_id may contain only letters, digits, '_' and '-'")
        }
    }

    public static func clientMsgID(_ value: String) throws(ChatFailure) {
        try text(value, field: "client_msg_id", max: WireLimits.maxClientMsgIDBytes, min: 1)
    }

    public static func avatarURL(_ value: String, limits: DomainLimits) throws(ChatFailure) {
        if value.isEmpty { return }
        try text(value, field: "avatar_url", max: limits.maxAvatarURLBytes)
        guard value.hasPrefix("https://") || value.hasPrefix("http://"), !hasControlOrSpace(value) else {
            throw .invalid("avatar_url", "avatar_url must be an http(s) URL without spaces")
        }
    }

    public static func publicKey(_ value: [UInt8]) throws(ChatFailure) {
        if !value.isEmpty && value.count != WireLimits.publicKeyBytes {
            throw .invalid("device.public_key", "public_key must be \(WireLimits.publicKeyBytes) bytes (Ed25519)")
        }
    }

    /// Page limit: 0 means the default; anything above the cap is capped.
    public static func pageLimit(_ requested: Int, default def: Int, max cap: Int) -> Int {
        requested <= 0 ? def : min(requested, cap)
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || (s.value >= 0x7F && s.value < 0xA0)
    }

    static func hasControlOrSpace(_ value: String) -> Bool {
        value.unicodeScalars.contains { isControl($0) || $0 == " " }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}

extension Validate {
    /// Largest image width or height a message may claim.
    public static let maxImageSide = 100_000

    public static func attachment(_ a: Attachment) throws(ChatFailure) {
        try text(a.fileID, field: "attachment.file_id", max: 64, min: 1)
        try text(a.name, field: "attachment.name", max: 255)
        try text(a.mimeType, field: "attachment.mime_type", max: 127)
        guard a.size >= 0, (0...maxImageSide).contains(a.width), (0...maxImageSide).contains(a.height) else {
            throw .invalid("attachment", "width and height must be 0...\(maxImageSide) and the size not negative")
        }
    }

    /// 1..32 bytes, no white space or control characters.
    public static func emoji(_ value: String) throws(ChatFailure) {
        let n = value.utf8.count
        if n > ConversationService.maxEmojiBytes { throw .tooLong("emoji", max: ConversationService.maxEmojiBytes) }
        guard n > 0, !value.unicodeScalars.contains(where: { isControl($0) || $0.properties.isWhitespace }) else {
            throw .invalid("emoji", "emoji must be 1..\(ConversationService.maxEmojiBytes) bytes without white space")
        }
    }
}
