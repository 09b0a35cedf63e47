import ChatCore

/// Ends sessions on this node and tells the other nodes to end theirs
/// (a device revoked on one node loses its connections on every node).
public struct ClusterSessions: SessionDirectory {
    let registry: SessionRegistry
    let link: any ClusterLink

    public init(registry: SessionRegistry, link: any ClusterLink) {
        self.registry = registry
        self.link = link
    }

    /// Returns how many connections of this node it closed.
    @discardableResult
    public func endSessions(devices: [DeviceRowID], reason: SessionEndReason, except: UInt64?) -> Int {
        var rest = devices[...]
        while !rest.isEmpty {
            link.send(.endDevices(Array(rest.prefix(ClusterSignal.maxDevices)), reason: reason))
            rest = rest.dropFirst(ClusterSignal.maxDevices)
        }
        return registry.endSessions(devices: devices, reason: reason, except: except)
    }

    @discardableResult
    public func endSessions(user: UserID, reason: SessionEndReason) -> Int {
        link.send(.endUser(user, reason: reason))
        return registry.endSessions(user: user, reason: reason)
    }
}
