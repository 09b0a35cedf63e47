import ChatCore
import Crypto
import Foundation
import Testing

@testable import ChatWebPush

/// Web Push message encryption (RFC 8291) for UnifiedPush endpoints.
struct WebPushTests {
    static func b64url(_ s: String) -> [UInt8] {
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        t += String(repeating: "=", count: (4 - t.count % 4) % 4)
        return [UInt8](Data(base64Encoded: t) ?? Data())
    }

    // RFC 8291 Appendix A (published test data).
    static let plaintext = Array("When I grow up, I want to be a watermelon".utf8)
    static let senderPrivate = b64url("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")
    static let receiverPrivate = b64url("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94")
    static let receiverPublic = b64url("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4")
    static let auth = b64url("BTBZMqHH6r4Tts7J_aSIgg")
    static let salt = b64url("DGv6ra1nlYgDCS1FRnbzlw")
    static let body = b64url(
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
    )

    @Test func sealMatchesTheRFC8291Vector() throws {
        let sender = try P256.KeyAgreement.PrivateKey(rawRepresentation: Self.senderPrivate)
        let out = try WebPushEncryption.seal(
            Self.plaintext, p256dh: Self.receiverPublic, auth: Self.auth, salt: Self.salt, senderKey: sender,
            paddedLength: Self.plaintext.count)
        #expect(out == Self.body)
        let receiver = try P256.KeyAgreement.PrivateKey(rawRepresentation: Self.receiverPrivate)
        #expect(try WebPushEncryption.open(Self.body, privateKey: receiver, auth: Self.auth) == Self.plaintext)
    }

    /// Each body has its own key and salt, is padded to 128-byte blocks
    /// within 4096 bytes, and only the device's key opens it.
    @Test func bodiesArePaddedFreshAndReadableOnlyByTheDevice() throws {
        let device = P256.KeyAgreement.PrivateKey()
        let p256dh = [UInt8](device.publicKey.x963Representation)
        let auth = (0..<16).map { _ in UInt8.random(in: .min ... .max) }
        let json = Array(#"{"conversation_id":12,"mentions":1,"seq":345,"type":"chatd.message","unread":3}"#.utf8)
        let a = try WebPushEncryption().seal(json, p256dh: p256dh, auth: auth)
        let b = try WebPushEncryption().seal(json, p256dh: p256dh, auth: auth)
        #expect(a != b && a.count == b.count)
        #expect(a.count == 86 + 128 + 1 + 16)
        #expect(try WebPushEncryption.open(a, privateKey: device, auth: auth) == json)
        #expect(throws: (any Error).self) { try WebPushEncryption.open(a, privateKey: P256.KeyAgreement.PrivateKey(), auth: auth) }
        var tampered = a
        tampered[tampered.count - 20] ^= 1
        #expect(throws: (any Error).self) { try WebPushEncryption.open(tampered, privateKey: device, auth: auth) }
        // The longest body a UnifiedPush endpoint takes.
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 3993)
        #expect(try WebPushEncryption().seal(long, p256dh: p256dh, auth: auth).count == WebPushEncryption.maxBodyBytes)
        #expect(throws: (any Error).self) { try WebPushEncryption().seal(long + [1], p256dh: p256dh, auth: auth) }
        // The longest notification with content (escapes included) still fits.
        for worst in ["\u{1}", "\"", "\u{2028}", "é", "x"] {
            let note = PushQueue.Note(
                user: .max, conversation: .max, seq: .max, sender: .max, mentioned: true,
                text: PushPayload.cut(String(repeating: worst, count: 5000)))
            let context = PushContext(
                note: note, targets: [], isMember: true, settings: NotificationSettings(), unread: PushContext.maxCount,
                mentions: PushContext.maxCount, senderUsername: String(repeating: "u", count: 32))
            let body = PushPayload.unified(context, includeContent: true)
            #expect(try WebPushEncryption.open(WebPushEncryption().seal(body, p256dh: p256dh, auth: auth), privateKey: device, auth: auth) == body)
        }
    }

    @Test func setPushTargetChecksTheKeys() throws {
        var rules = PushRules()
        rules.gatewayURL = "https://gw.example.org/_matrix/push/v1/notify"
        let p256dh = [UInt8](P256.KeyAgreement.PrivateKey().publicKey.x963Representation)
        let sealer = WebPushEncryption()
        func refusal(_ kind: PushKind, _ key: [UInt8], _ auth: [UInt8], sealer: (any WebPushSealer)? = sealer) -> String? {
            do {
                _ = try PushPolicy.target(
                    kind: kind, endpoint: kind == .unifiedPush ? "https://up.example.org/x" : "",
                    pushkey: kind == .gateway ? "k" : "", appID: kind == .gateway ? "a" : "", platform: kind == .gateway ? "fcm" : "",
                    p256dh: key, auth: auth, rules: rules, sealer: sealer, device: 1, user: 2, deviceID: "d", now: 3)
                return nil
            } catch {
                return error.field
            }
        }
        let target = try PushPolicy.target(
            kind: .unifiedPush, endpoint: "https://up.example.org/x", pushkey: "", appID: "", platform: "", p256dh: p256dh,
            auth: Array(repeating: 7, count: 16), rules: rules, sealer: sealer, device: 1, user: 2, deviceID: "d", now: 3)
        #expect(target.encrypted && target.p256dh == p256dh && target.redacted == "unified_push https://up.example.org/… encrypted")
        #expect(refusal(.unifiedPush, [], []) == nil)
        #expect(refusal(.unifiedPush, p256dh, []) == "auth")
        #expect(refusal(.unifiedPush, p256dh, Array(repeating: 7, count: 15)) == "auth")
        #expect(refusal(.unifiedPush, [], Array(repeating: 7, count: 16)) == "p256dh")
        #expect(refusal(.unifiedPush, Array(p256dh.dropLast()), Array(repeating: 7, count: 16)) == "p256dh")
        // 65 bytes starting with 4, but not a point on the curve.
        #expect(refusal(.unifiedPush, [4] + Array(repeating: 1, count: 64), Array(repeating: 7, count: 16)) == "p256dh")
        #expect(refusal(.unifiedPush, p256dh, Array(repeating: 7, count: 16), sealer: nil) == "p256dh")
        #expect(refusal(.gateway, p256dh, Array(repeating: 7, count: 16)) == "p256dh")
    }
}
