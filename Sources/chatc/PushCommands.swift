import ArgumentParser
import ChatClient
import Foundation

/// This device's push target (spec/PROTOCOL.md §4.8): where the server
/// announces new messages while none of the user's devices is connected.
struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Push notifications for this device while none of yours is connected.",
        subcommands: [SetTarget.self, Remove.self])

    struct SetTarget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set this device's push target: a UnifiedPush endpoint, or APNs/FCM through the server's push gateway.",
            discussion: """
                chatc push set --unified URL
                chatc push set --gateway PUSHKEY --app-id ID --platform apns|fcm
                """)
        @OptionGroup var options: ServerOptions
        @Option(help: ArgumentHelp("The UnifiedPush endpoint (the https URL the distributor gave).", valueName: "url"))
        var unified: String?
        @Option(
            help: ArgumentHelp(
                "The platform's push token (APNs device token, FCM registration token), through the push gateway.",
                valueName: "pushkey"))
        var gateway: String?
        @Option(help: ArgumentHelp("The app's id at the push gateway (with --gateway).", valueName: "id")) var appID: String?
        @Option(help: ArgumentHelp("apns or fcm (with --gateway).", valueName: "apns|fcm")) var platform: String?

        func run() async throws {
            try await chatc.run {
                let target = try self.target()
                let (c, _) = try await resumed(options)
                let includeContent: Bool
                switch target {
                case .unified(let url):
                    includeContent = try await c.setPushTarget(unifiedPush: url)
                    print("this device's push notifications go to \(url)")
                case .gateway(let pushkey, let appID, let platform):
                    includeContent = try await c.setPushTarget(gatewayPushkey: pushkey, appID: appID, platform: platform)
                    print("this device's push notifications go through the server's gateway to \(platform) (app \(appID))")
                }
                print(
                    includeContent
                        ? "this server includes the sender and text in them (include_content: true)"
                        : "this server leaves out the sender and text: the app syncs to read (include_content: false)")
            }
        }

        private enum Target {
            case unified(String)
            case gateway(pushkey: String, appID: String, platform: String)
        }

        /// The target the options name, or why they do not name one.
        private func target() throws -> Target {
            switch (unified, gateway) {
            case (let url?, nil):
                guard appID == nil, platform == nil else { throw CLIError("--app-id and --platform go with --gateway, not --unified") }
                return .unified(url)
            case (nil, let pushkey?):
                guard let appID, let platform else { throw CLIError("--gateway needs --app-id and --platform") }
                guard ["apns", "fcm"].contains(platform) else { throw CLIError("unknown platform \(platform); one of apns, fcm") }
                return .gateway(pushkey: pushkey, appID: appID, platform: platform)
            case (nil, nil), (.some, .some):
                throw CLIError("give one of --unified URL or --gateway PUSHKEY")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "This device gets no more push notifications.")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            try await chatc.run {
                let (c, _) = try await resumed(options)
                try await c.removePushTarget()
                print("this device gets no push notifications")
            }
        }
    }
}
