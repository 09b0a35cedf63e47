import AsyncHTTPClient
import ChatServer
import NIOCore
import NIOHTTP1

/// The notifier's HTTP POSTs (spec/PROTOCOL.md §4.8), through
/// async-http-client on NIO's shared event loops: connections are pooled
/// per host, redirects are not followed (an endpoint is what the device
/// registered), and at most 16 KiB of an answer is read.
final class HTTPPushClient: PushHTTP {
    private let client: HTTPClient
    static let maxAnswerBytes = 16 * 1024

    /// `connectionsPerHost`: push.concurrency (async-http-client keeps 8
    /// per host by default, and a gateway is one host).
    init(connectionsPerHost: Int) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, connectionsPerHost)
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    func post(url: String, contentType: String, contentEncoding: String?, body: [UInt8], timeoutMs: Int64) async
        -> (status: Int?, body: [UInt8])
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        if let contentEncoding { request.headers.add(name: "Content-Encoding", value: contentEncoding) }
        request.headers.add(name: "User-Agent", value: "chatd/\(chatdVersion)")
        // Web Push / UnifiedPush: how long a distributor may keep it for an unreachable phone.
        request.headers.add(name: "TTL", value: "86400")
        request.headers.add(name: "Urgency", value: "high")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(timeoutMs))
            let answer = try? await response.body.collect(upTo: Self.maxAnswerBytes)
            return (Int(response.status.code), answer.map { Array(buffer: $0) } ?? [])
        } catch {
            return (nil, [])
        }
    }

    func shutdown() async {
        try? await client.shutdown()
    }
}
