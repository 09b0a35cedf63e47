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
        try append(AccountEvent(userID: found.userID, kind: .deviceRevoked, deviceID: found.deviceID, createdAt: now))
    }
}
