import AsyncHTTPClient
import ChatServer
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The notifier's HTTP POSTs (spec/PROTOCOL.md §4.8), through
/// async-http-client on the push thread's event loop: connections are pooled
/// per host, redirects are not followed (an endpoint is what the device
/// registered), and at most 16 KiB of an answer is read.
final class HTTPPushClient: PushHTTP {
    private let client: HTTPClient
    static let maxAnswerBytes = 16 * 1024

    /// `connectionsPerHost`: push.concurrency (async-http-client keeps 8
    /// per host by default, and a gateway is one host).
    init(connectionsPerHost: Int, group: any EventLoopGroup) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, connectionsPerHost)
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroup: group, configuration: configuration)
    }

    func post(
        url: String, contentType: String, contentEncoding: String?, authorization: String?, body: [UInt8], timeoutMs: Int64
    ) async -> (status: Int?, body: [UInt8]) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        if let contentEncoding { request.headers.add(name: "Content-Encoding", value: contentEncoding) }
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.headers.add(name: "User-Agent", value: "chatd/\(chatdVersion)")
        // Web Push / UnifiedPush: how long a distributor may keep it for an unreachable phone.
        request.headers.add(name: "TTL", value: "86400")
        request.headers.add(name: "Urgency", value: "high")
        request.body = .bytes(ByteBuffer(bytes: body))
        // One deadline for the whole exchange: async-http-client's ends
        // when the answer's head arrives, and an endpoint that then sends
        // its body slowly, or never, held its slot of push.concurrency for ever.
        let deadline = NIODeadline.now() + .milliseconds(timeoutMs)
        do {
            let response = try await client.execute(request, deadline: deadline)
            let answer = try? await Self.until(deadline) { try await response.body.collect(upTo: Self.maxAnswerBytes) }
            return (Int(response.status.code), answer.map { Array(buffer: $0) } ?? [])
        } catch {
            return (nil, [])
        }
    }

    struct DeadlinePassed: Error {}

    /// `body`'s result, or `DeadlinePassed` (and `body` cancelled) at `deadline`.
    static func until<T: Sendable>(_ deadline: NIODeadline, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                let left = deadline - .now()
                if left > .zero { try await Task.sleep(nanoseconds: UInt64(left.nanoseconds)) }
                throw DeadlinePassed()
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw DeadlinePassed() }
            return first
        }
    }

    /// Lookups of endpoint hosts, kept a minute (UnifiedPush endpoints
    /// share a few distributors' hosts); at most `maxCachedHosts`.
    private let resolved = Mutex<[String: (until: ContinuousClock.Instant, addresses: [String])]>([:])
    static let maxCachedHosts = 1024

    func resolve(_ host: String) async -> [String]? {
        if let hit = resolved.withLock({ $0[host] }), hit.until > .now { return hit.addresses }
        // getaddrinfo blocks: off the cooperative pool.
        let addresses = await withCheckedContinuation { c in
            DispatchQueue.global().async { c.resume(returning: Self.lookUp(host)) }
        }
        if let addresses {
            resolved.withLock { cache in
                if cache.count >= Self.maxCachedHosts { cache.removeAll() }
                cache[host] = (.now + .seconds(60), addresses)
            }
        }
        return addresses
    }

    static func lookUp(_ host: String) -> [String]? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(first) }
        var out: [String] = []
        for entry in sequence(first: first, next: { $0.pointee.ai_next }) {
            guard let address = entry.pointee.ai_addr else { continue }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let family = entry.pointee.ai_family
            let ok: Bool
            switch family {
            case AF_INET:
                ok = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var a = sin.pointee.sin_addr
                    return inet_ntop(AF_INET, &a, &text, socklen_t(text.count)) != nil
                }
            case AF_INET6:
                ok = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var a = sin6.pointee.sin6_addr
                    return inet_ntop(AF_INET6, &a, &text, socklen_t(text.count)) != nil
                }
            default: ok = false
            }
            if ok { out.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
        }
        return out
    }

    func shutdown() async {
        try? await client.shutdown()
    }
}
