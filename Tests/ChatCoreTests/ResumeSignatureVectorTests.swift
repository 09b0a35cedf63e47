import ChatCore
import ChatCrypto
import Foundation
import Testing

/// spec/vectors/vectors.json "resume_signature": the signed bytes and an
/// Ed25519 signature made by an independent implementation.
struct ResumeSignatureVectorTests {
    struct File: Decodable {
        struct Signature: Decodable {
            var seed, public_key, nonce, token, message, signature: String
        }
        var resume_signature: Signature
    }

    func bytes(_ hex: String) -> [UInt8] {
        stride(from: 0, to: hex.count, by: 2).map { i in
            let start = hex.index(hex.startIndex, offsetBy: i)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16) ?? 0
        }
    }

    @Test func vectorVerifiesAndIsReproduced() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../spec/vectors/vectors.json").standardized
        let v = try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).resume_signature
        let message = ResumeSignature.message(nonce: bytes(v.nonce), token: bytes(v.token))
        #expect(message == bytes(v.message))
        #expect(message.count == 15 + 32 + 32)
        #expect(Sodium.verifyEd25519(signature: bytes(v.signature), message: message, publicKey: bytes(v.public_key)))
        let pair = try #require(Sodium.ed25519KeyPair(seed: bytes(v.seed)))
        #expect(pair.publicKey == bytes(v.public_key))
        #expect(Sodium.signEd25519(message: message, secretKey: pair.secretKey) == bytes(v.signature))
        var tampered = message
        tampered[20] ^= 1
        #expect(!Sodium.verifyEd25519(signature: bytes(v.signature), message: tampered, publicKey: bytes(v.public_key)))
    }
}
