/// Which files may be stored: the declared MIME type must be allowed by
/// configuration, and the content's leading bytes (magic numbers) must agree
/// with it. A declared type is never trusted alone: a renamed executable
/// declared as image/png is refused, and so is anything that looks like an
/// executable unless an operator allowed executables by their own type.
public struct ContentPolicy: Sendable, Equatable {
    /// Lowercased MIME types (no parameters).
    public var allowed: Set<String>

    public init(allowed: [String]) {
        self.allowed = Set(allowed.map(Self.normalize))
    }

    /// Bytes of the file's head the check reads.
    public static let sniffBytes = 4096

    /// What the leading bytes say the content is, when they say anything.
    public static func sniff(_ head: [UInt8]) -> String? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + magic.count && Array(head[offset..<offset + magic.count]) == magic
        }
        let ascii = { (s: String) in Array(s.utf8) }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if starts(ascii("GIF87a")) || starts(ascii("GIF89a")) { return "image/gif" }
        if starts(ascii("RIFF")) && starts(ascii("WEBP"), at: 8) { return "image/webp" }
        if starts(ascii("RIFF")) && starts(ascii("WAVE"), at: 8) { return "audio/wav" }
        if starts(ascii("%PDF-")) { return "application/pdf" }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) { return "application/zip" }
        if starts([0x1F, 0x8B]) { return "application/gzip" }
        if starts(ascii("7z"), at: 0) && starts([0xBC, 0xAF, 0x27, 0x1C], at: 2) { return "application/x-7z-compressed" }
        if starts(ascii("OggS")) { return "audio/ogg" }
        if starts(ascii("ID3")) || starts([0xFF, 0xFB]) || starts([0xFF, 0xF3]) || starts([0xFF, 0xF2]) {
            return "audio/mpeg"
        }
        if starts(ascii("fLaC")) { return "audio/flac" }
        if starts(ascii("ftyp"), at: 4) {
            if starts(ascii("qt  "), at: 8) { return "video/quicktime" }
            if starts(ascii("heic"), at: 8) || starts(ascii("heix"), at: 8) || starts(ascii("mif1"), at: 8) {
                return "image/heic"
            }
            return "video/mp4"
        }
        if starts([0x1A, 0x45, 0xDF, 0xA3]) { return "video/webm" }
        if starts([0x7F, 0x45, 0x4C, 0x46]) { return "application/x-executable" }  // ELF
        if starts(ascii("MZ")) { return "application/x-msdownload" }  // PE
        if starts([0xCF, 0xFA, 0xED, 0xFE]) || starts([0xFE, 0xED, 0xFA, 0xCF]) || starts([0xCA, 0xFE, 0xBA, 0xBE]) {
            return "application/x-mach-binary"
        }
        if starts(ascii("#!")) { return "text/x-shellscript" }
        return nil
    }

    /// Declared types that are containers of a sniffed type (office
    /// documents and e-books are zip files).
    static func family(of declared: String) -> String {
        if declared.hasPrefix("application/vnd.openxmlformats-officedocument.")
            || declared.hasPrefix("application/vnd.oasis.opendocument.") || declared == "application/epub+zip"
            || declared == "application/java-archive"
        {
            return "application/zip"
        }
        switch declared {
        case "image/heif": return "image/heic"
        case "audio/mp4", "video/x-m4v", "audio/x-m4a": return "video/mp4"
        default: return declared
        }
    }

    /// Other names of the same type.
    static func canonical(_ type: String) -> String {
        switch type {
        case "image/jpg", "image/pjpeg": "image/jpeg"
        case "audio/mp3": "audio/mpeg"
        case "audio/x-wav", "audio/wave": "audio/wav"
        case "application/x-gzip": "application/gzip"
        case "audio/x-flac": "audio/flac"
        default: type
        }
    }

    /// Types whose content has no signature to check.
    static let unsigned: Set<String> = [
        "text/plain", "text/markdown", "text/csv", "application/json", "application/octet-stream",
    ]

    /// The MIME type as stored: lowercased, parameters dropped, aliases
    /// (image/jpg) replaced by the registered name.
    public static func normalize(_ mime: String) -> String {
        let base = mime.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        return canonical(base.trimmingSpaces().lowercased())
    }

    /// Checks the declared type before any byte arrives.
    public func checkDeclared(_ declared: String) throws(ChatFailure) {
        let type = Self.normalize(declared)
        guard !type.isEmpty, type.utf8.count <= 127, type.contains("/") else {
            throw .invalid("mime_type", "mime_type must look like type/subtype")
        }
        guard allowed.contains(type) else {
            throw ChatFailure(.unsupportedType, "files of type \(type) are not accepted here", field: "mime_type")
        }
    }

    /// Checks the content's head against the declared type.
    public func check(declared: String, head: [UInt8]) throws(ChatFailure) {
        let type = Self.normalize(declared)
        try checkDeclared(type)
        if let detected = Self.sniff(head) {
            if Self.family(of: type) == detected { return }
            // A generic declaration is fine when the real type is allowed too.
            if type == "application/octet-stream" && allowed.contains(detected) { return }
            throw ChatFailure(.unsupportedType, "the content is \(detected), not \(type)", field: "mime_type")
        }
        guard Self.unsigned.contains(type) else {
            throw ChatFailure(.unsupportedType, "the content does not look like \(type)", field: "mime_type")
        }
        if type.hasPrefix("text/") || type == "application/json" {
            guard Self.looksLikeText(head) else {
                throw ChatFailure(.unsupportedType, "the content is not UTF-8 text", field: "mime_type")
            }
        }
    }

    /// UTF-8 without NUL bytes (a sequence cut at the end of the head is fine).
    static func looksLikeText(_ head: [UInt8]) -> Bool {
        if head.contains(0) { return false }
        var end = head.count
        // Drop an incomplete trailing sequence (at most 3 bytes).
        var back = 0
        while back < 3, end - back - 1 >= 0, head[end - back - 1] & 0xC0 == 0x80 { back += 1 }
        if end - back - 1 >= 0 {
            let lead = head[end - back - 1]
            let need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0
            if need > back { end = end - back - 1 }
        }
        var iterator = head[0..<end].makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    public static let defaultAllowed = [
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/heic", "application/pdf", "text/plain",
        "text/markdown", "text/csv", "application/json", "application/zip", "application/gzip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text", "audio/mpeg", "audio/ogg", "audio/wav", "audio/flac",
        "audio/mp4", "video/mp4", "video/webm", "video/quicktime",
    ]
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
