import ChatCore
@testable import ChatServer
import Synchronization
import Testing

struct ClusterSignalTests {
    static let all: [ClusterSignal] = [
        .typing(conversation: 7, user: 3, typing: true, expiresInMs: 5000),
        .typing(conversation: 7, user: 3, typing: false, expiresInMs: 0),
        .read(conversation: 9, user: 4, seq: 120),
        .delivered(conversation: 9, user: 4, seq: 121),
        .presence(user: 5, state: .online, lastSeen: 0),
        .presence(user: 5, state: .away, lastSeen: 0),
        .presence(user: 5, state: .offline, lastSeen: 1_700_000_000_000),
        .endDevices([1, 2, 3], reason: .deviceRevoked),
        .endDevices([8], reason: .tokenEnded),
        .endUser(6, reason: .accountDisabled),
        .endUser(6, reason: .passwordChanged),
        .kick(.user(2), node: nil),
        .kick(.device(12), node: nil),
        .kick(.connection(44), node: "k3x9"),
        .hello,
    ]

    @Test(arguments: all) func roundTrips(_ signal: ClusterSignal) {
        #expect(ClusterSignal(Substring(signal.encoded)) == signal)
        // One line, no payload separators.
        #expect(!signal.encoded.contains("\n") && !signal.encoded.contains(";") && !signal.encoded.contains("!"))
    }

    @Test(arguments: ["", "x 1 2", "t 1 2 1", "t 1 2 1 -5", "r 1 2", "p 5 9 0", "e 9 1", "e 1", "e 1 x", "u 1", "k z 3", "k c 3", "h 1", "t a b c d"])
    func refusesWhatItDidNotWrite(_ text: String) {
        #expect(ClusterSignal(Substring(text)) == nil)
    }

    /// A revocation closes this node's connections and tells the others,
    /// in signals that each fit a NOTIFY payload.
    @Test func sessionsEndOnEveryNode() {
        let link = RecordingLink()
        let sessions = ClusterSessions(registry: SessionRegistry(), link: link)
        sessions.endSessions(devices: Array(1...1200), reason: .deviceRevoked)
        sessions.endSessions(user: 9, reason: .accountDisabled)
        let sent = link.sent
        #expect(sent.count == 4)
        #expect(sent.last == .endUser(9, reason: .accountDisabled))
        var devices: [DeviceRowID] = []
        for case .endDevices(let some, .deviceRevoked) in sent.dropLast() {
            #expect(some.count <= ClusterSignal.maxDevices)
            #expect(some.map(String.init).joined(separator: " ").utf8.count < 7900)
            devices += some
        }
        #expect(devices == Array(1...1200))
    }
}

final class RecordingLink: ClusterLink {
    private let signals = Mutex<[ClusterSignal]>([])
    var sent: [ClusterSignal] { signals.withLock { $0 } }
    func send(_ signal: ClusterSignal) { signals.withLock { $0.append(signal) } }
}
