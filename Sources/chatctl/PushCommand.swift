import ArgumentParser
import ChatProtocol
import Foundation

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Devices' push targets (notifications to offline devices).",
        subcommands: [List.self, Remove.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List push targets, without the secret part of endpoints and pushkeys, and this node's queue.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Only this user's (a username or #id).") var user: String?

        func run() async throws {
            var q = Chatd_Control_V1_PushTargetListRequest()
            if let user { q.user = userRef(user) }
            let r = try await global.call(.pushTargetList, q, as: Chatd_Control_V1_PushTargetListResponse.self)
            global.output(r) {
                table(
                    ["USER", "DEVICE", "KIND", "TARGET", "SINCE"],
                    r.targets.map {
                        [$0.username, $0.deviceID, $0.kind == .pushGateway ? "gateway" : "unified_push", $0.target, time($0.createdAtMs)]
                    })
                    + (r.hasMore_p ? "(more not shown)\n" : "")
                    + "queue on this node: \(r.queued) waiting or under way, \(r.dropped) dropped since start\n"
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a device's push target.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The user (a username or #id).") var user: String
        @Argument(help: "The device's id (chatctl device list).") var device: String

        func run() async throws {
            var q = Chatd_Control_V1_PushTargetRemoveRequest()
            q.user = userRef(user)
            q.deviceID = device
            let r = try await global.call(.pushTargetRemove, q, as: Chatd_Control_V1_PushTargetRemoveResponse.self)
            global.output(r) { r.removed ? "removed the push target of \(user)'s device \(device)\n" : "\(user)'s device \(device) has no push target\n" }
        }
    }
}
