/// Account changes that others hear about (spec/PROTOCOL.md §4.3, §6.1),
/// each as one transaction with the account events it owes.
extension StoreTransaction {
    /// Changes the profile; when something changed, the user (their other
    /// devices) and their friends get PROFILE_CHANGED.
    public func updateProfile(user: UserID, _ change: ProfileChange, now: Millis) throws -> User {
        guard let updated = try setProfile(user: user, change, at: now) else { throw ChatFailure(.notFound, "no such user") }
        if change != ProfileChange() {
            for id in try [user] + friends(of: user) {
                try append(AccountEvent(userID: id, kind: .profileChanged, otherUserID: user, createdAt: now))
            }
        }
        return updated
    }

    /// Revokes the device, and tells its user with DEVICE_REVOKED; a device
    /// revoked already stays as it is.
    public func revokeDevice(_ device: DeviceRowID, now: Millis) throws {
        guard let found = try self.device(device) else { throw ChatFailure(.notFound, "no such device") }
        guard found.revokedAt == nil else { return }
        try setRevoked(device, at: now)
        // A revoked device is told nothing more (DEVICE_REVOKED says enough).
        try deletePushTarget(device: device)
        try append(AccountEvent(userID: found.userID, kind: .deviceRevoked, deviceID: found.deviceID, createdAt: now))
    }

    /// SetPushTarget (§4.8): stores the device's target; when it changed,
    /// the user's devices hear PUSH_TARGET_CHANGED. Returns whether it changed.
    public func setPushTarget(_ target: PushTarget, now: Millis) throws -> Bool {
        let old = try pushTarget(device: target.device)
        var same = target
        same.createdAt = old?.createdAt ?? target.createdAt
        guard old != same else { return false }
        try savePushTarget(target)
        try append(
            AccountEvent(
                userID: target.userID, kind: .pushTargetChanged, deviceID: target.deviceID,
                reason: (target.kind == .gateway ? PushTargetChange.setGateway : .setUnified).rawValue, createdAt: now))
        return true
    }

    /// Removes the device's target (`change`: `.removed` or `.gone`), if
    /// it has one, and tells the user's devices; returns the target removed.
    public func removePushTarget(device: DeviceRowID, _ change: PushTargetChange, now: Millis) throws -> PushTarget? {
        guard let old = try pushTarget(device: device) else { return nil }
        try deletePushTarget(device: device)
        try append(AccountEvent(userID: old.userID, kind: .pushTargetChanged, deviceID: old.deviceID, reason: change.rawValue, createdAt: now))
        return old
    }
}
