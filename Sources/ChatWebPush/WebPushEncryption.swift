import ChatCore
import Crypto
import Foundation

/// Web Push message encryption (RFC 8291, with the `aes128gcm` content
/// coding of RFC 8188), through swift-crypto: what a UnifiedPush endpoint
/// gets when the device registered its keys (spec/PROTOCOL.md §4.8). Only
/// the device, holding the private key of `p256dh`, can read the body; the
/// distributor's push server sees its length only. (Random salts come from
/// the system's CSPRNG, getrandom, through SystemRandomNumberGenerator.)
public struct WebPushEncryption: WebPushSealer {
    /// The record size written in the header: one record, at most 4096 bytes.
    static let recordSize = 4096
    /// Plaintexts are padded to a multiple of this, so a length tells little.
    public static let paddingBlock = 128

    public init() {}

    public func isValidKey(_ p256dh: [UInt8]) -> Bool {
        (try? P256.KeyAgreement.PublicKey(x963Representation: p256dh)) != nil
    }

    public func seal(_ plaintext: [UInt8], p256dh: [UInt8], auth: [UInt8]) throws -> [UInt8] {
        // A fresh key pair and salt for every message (RFC 8291 §3.1).
        let padded = Self.paddedLength(plaintext.count)
        return try Self.seal(
            plaintext, p256dh: p256dh, auth: auth, salt: (0..<16).map { _ in UInt8.random(in: .min ... .max) },
            senderKey: P256.KeyAgreement.PrivateKey(),
            paddedLength: padded)
    }

    /// The plaintext's length once padded: a multiple of `paddingBlock`,
    /// at most what keeps the whole body within 4096 bytes (a UnifiedPush
    /// endpoint's limit: 86 bytes of header, a delimiter and a 16-byte tag).
    static func paddedLength(_ count: Int) -> Int {
        let blocks = (count + paddingBlock - 1) / paddingBlock
        return max(count, min(blocks * paddingBlock, maxBodyBytes - 86 - 17))
    }

    public static let maxBodyBytes = 4096

    /// RFC 8291 §3.4 with the salt, the sender's key and the padding given
    /// (the Appendix A vector fixes all three). `paddedLength`: the
    /// plaintext and its zero padding, before the delimiter.
    static func seal(
        _ plaintext: [UInt8], p256dh: [UInt8], auth: [UInt8], salt: [UInt8], senderKey: P256.KeyAgreement.PrivateKey,
        paddedLength: Int
    ) throws -> [UInt8] {
        guard auth.count == 16, salt.count == 16, paddedLength >= plaintext.count, 86 + paddedLength + 17 <= maxBodyBytes else {
            throw WebPushError.badInput
        }
        let receiver = try P256.KeyAgreement.PublicKey(x963Representation: p256dh)
        let senderPublic = [UInt8](senderKey.publicKey.x963Representation)
        let (cek, nonce) = try Self.contentKey(
            try senderKey.sharedSecretFromKeyAgreement(with: receiver), auth: auth, receiverPublic: p256dh,
            senderPublic: senderPublic, salt: salt)
        // One record: the plaintext, the last record's delimiter 2, zeros.
        var record = plaintext
        record.append(2)
        record += [UInt8](repeating: 0, count: paddedLength - plaintext.count)
        let box = try AES.GCM.seal(record, using: cek, nonce: nonce)
        let rs = UInt32(recordSize)
        var out = salt
        out += [UInt8(rs >> 24), UInt8(rs >> 16 & 0xFF), UInt8(rs >> 8 & 0xFF), UInt8(rs & 0xFF)]
        out.append(UInt8(senderPublic.count))
        out += senderPublic
        out += box.ciphertext
        out += box.tag
        return out
    }
}

extension WebPushEncryption {
    /// RFC 8291 §3.3–3.4: IKM = HKDF(salt: auth, ECDH secret, "WebPush: info"
    /// 0 ua_public as_public, 32); the content key (16 bytes) and nonce (12)
    /// from HKDF(salt, IKM, "Content-Encoding: aes128gcm" 0 / "… nonce" 0).
    static func contentKey(
        _ shared: SharedSecret, auth: [UInt8], receiverPublic: [UInt8], senderPublic: [UInt8], salt: [UInt8]
    ) throws -> (SymmetricKey, AES.GCM.Nonce) {
        let keyInfo = Array("WebPush: info".utf8) + [0] + receiverPublic + senderPublic
        let ikm = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: auth, sharedInfo: keyInfo, outputByteCount: 32)
        let cek = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: ikm, salt: salt, info: Array("Content-Encoding: aes128gcm".utf8) + [0], outputByteCount: 16)
        let nonce = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: ikm, salt: salt, info: Array("Content-Encoding: nonce".utf8) + [0], outputByteCount: 12)
        return (cek, try AES.GCM.Nonce(data: nonce.withUnsafeBytes { Array($0) }))
    }

    /// What the device does with a body: the plaintext, padding removed.
    /// For a Swift client that receives UnifiedPush messages, and tests.
    public static func open(_ body: [UInt8], privateKey: P256.KeyAgreement.PrivateKey, auth: [UInt8]) throws -> [UInt8] {
        guard body.count > 21, auth.count == 16 else { throw WebPushError.badInput }
        let salt = Array(body[0..<16])
        let idLength = Int(body[20])
        guard body.count >= 21 + idLength + 17 else { throw WebPushError.badInput }
        let senderPublic = Array(body[21..<(21 + idLength)])
        let sealed = Array(body[(21 + idLength)...])
        let (cek, nonce) = try contentKey(
            try privateKey.sharedSecretFromKeyAgreement(with: P256.KeyAgreement.PublicKey(x963Representation: senderPublic)),
            auth: auth, receiverPublic: [UInt8](privateKey.publicKey.x963Representation), senderPublic: senderPublic, salt: salt)
        let box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: sealed.dropLast(16), tag: sealed.suffix(16))
        var record = [UInt8](try AES.GCM.open(box, using: cek))
        // Strip the zero padding and the last record's delimiter (2).
        while record.last == 0 { record.removeLast() }
        guard record.last == 2 else { throw WebPushError.badInput }
        record.removeLast()
        return record
    }
}

public enum WebPushError: Error {
    case badInput
}
