import Synchronization

/// SetPushTarget and RemovePushTarget (spec/PROTOCOL.md §4.8), the
/// operator's view of push targets (chatctl push), and the removal of a
/// target its endpoint or gateway refused.
public final class PushTargetService: Sendable {
    let store: any Store
    let clock: any WallClock
    private let rules: Mutex<PushRules>
    /// Web Push encryption; nil: keys are refused (and bodies go in clear).
    public let sealer: (any WebPushSealer)?
    /// VAPID; nil: UnifiedPush requests carry no Authorization header.
    public let signer: (any PushServiceSigner)?

    public init(
        store: any Store, clock: any WallClock, rules: PushRules, sealer: (any WebPushSealer)? = nil,
        signer: (any PushServiceSigner)? = nil
    ) {
        self.store = store
        self.clock = clock
        self.rules = Mutex(rules)
        self.sealer = sealer
        self.signer = signer
    }

    public var currentRules: PushRules { rules.withLock { $0 } }

    public func setRules(_ new: PushRules) { rules.withLock { $0 = new } }

    /// Sets the session's device's target; returns whether notifications
    /// carry content on this server.
    public func set(
        _ session: Session, kind: PushKind?, endpoint: String, pushkey: String, appID: String, platform: String,
        p256dh: [UInt8] = [], auth: [UInt8] = [], address: String
    ) async throws -> Bool {
        let rules = currentRules
        let now = clock.nowMs()
        let target = try PushPolicy.target(
            kind: kind, endpoint: endpoint, pushkey: pushkey, appID: appID, platform: platform, p256dh: p256dh, auth: auth,
            rules: rules, sealer: sealer, device: session.deviceRowID, user: session.userID, deviceID: session.deviceID, now: now)
        let changed = try await store.transaction { tx in try tx.setPushTarget(target, now: now) }
        if changed {
            try await audit(.pushTargetSet, actor: "user:\(session.userID)", target: target, address: address, at: now)
        }
        return rules.includeContent
    }

    public func remove(_ session: Session, address: String) async throws {
        let (row, now) = (session.deviceRowID, clock.nowMs())
        if let old = try await store.transaction({ tx in try tx.removePushTarget(device: row, .removed, now: now) }) {
            try await audit(.pushTargetRemoved, actor: "user:\(session.userID)", target: old, address: address, at: now)
        }
    }

    /// The endpoint or gateway said the target no longer exists. Nothing
    /// happens when the device set another target meanwhile.
    public func gone(_ target: PushTarget, why: String) async throws {
        let now = clock.nowMs()
        let removed = try await store.transaction { tx -> PushTarget? in
            guard let current = try tx.pushTarget(device: target.device), current == target else { return nil }
            return try tx.removePushTarget(device: target.device, .gone, now: now)
        }
        if let removed {
            try await audit(.pushTargetGone, actor: "server", target: removed, address: "", detail: why, at: now)
        }
    }

    public func adminList(user: UserID?) async throws -> [PushTarget] { try await store.pushTargets(user: user) }

    /// chatctl push remove: false when the device has none.
    public func adminRemove(user: UserID, deviceID: String, actor: String) async throws -> Bool {
        guard let device = try await store.device(user: user, deviceID: deviceID) else {
            throw ChatFailure(.notFound, "no such device")
        }
        let now = clock.nowMs()
        guard let old = try await store.transaction({ tx in try tx.removePushTarget(device: device.rowID, .removed, now: now) })
        else { return false }
        try await audit(.adminPushTargetRemove, actor: actor, target: old, address: "", at: now)
        return true
    }

    private func audit(
        _ action: AuditEntry.Action, actor: String, target: PushTarget, address: String, detail: String = "", at: Millis
    ) async throws {
        let what = "device=\(target.deviceID) \(target.redacted)" + (detail.isEmpty ? "" : " \(detail)")
        try await store.audit(AuditEntry(at: at, action: action, actor: actor, userID: target.userID, address: address, detail: what))
    }
}
