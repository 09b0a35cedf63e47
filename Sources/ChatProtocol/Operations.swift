/// Protocol version spoken by this implementation (HelloResponse.protocol_version).
public let chatProtocolVersion: UInt32 = 1

/// Client request operations (frame `op` of kinds 1, 2 and 3).
/// The numbers are part of the wire format: never renumber, only add.
public enum Op: UInt16, Sendable, CaseIterable, CustomStringConvertible {
    case hello = 1
    case ping = 2
    case register = 10
    case login = 11
    case resume = 12
    case logout = 13
    case me = 14
    case updateProfile = 15
    case changePassword = 16
    case listDevices = 17
    case revokeDevice = 18
    case refreshToken = 19
    case setPushTarget = 20
    case removePushTarget = 21
    case createRoom = 30
    case listPublicRooms = 31
    case listConversations = 32
    case getConversation = 33
    case joinRoom = 34
    case invite = 35
    case leave = 36
    case listMembers = 37
    case createGroup = 38
    case openDirect = 39
    case sendMessage = 40
    case history = 41
    case editMessage = 42
    case deleteMessage = 43
    case addReaction = 44
    case removeReaction = 45
    case markRead = 46
    case sync = 47
    case markDelivered = 48
    case typing = 49
    case kick = 50
    case ban = 51
    case unban = 52
    case mute = 53
    case setMemberRole = 54
    case transferOwnership = 55
    case updateConversation = 56
    case deleteConversation = 57
    case listOnlineMembers = 58
    case setNotifications = 59
    case friendRequest = 60
    case acceptFriend = 61
    case declineFriend = 62
    case cancelFriendRequest = 63
    case removeFriend = 64
    case listFriends = 65
    case block = 66
    case unblock = 67
    case listBlocked = 68
    case searchUsers = 69
    case setPresence = 70
    case createInviteLink = 71
    case listInviteLinks = 72
    case revokeInviteLink = 73
    case redeemInviteLink = 74
    case uploadBegin = 80
    case uploadChunk = 81
    case uploadStatus = 82
    case uploadFinish = 83
    case uploadCancel = 84
    case download = 85
    case getFile = 86
    case searchMessages = 90

    public var description: String {
        switch self {
        case .hello: "hello"
        case .ping: "ping"
        case .register: "register"
        case .login: "login"
        case .resume: "resume"
        case .logout: "logout"
        case .me: "me"
        case .updateProfile: "update_profile"
        case .changePassword: "change_password"
        case .listDevices: "list_devices"
        case .revokeDevice: "revoke_device"
        case .refreshToken: "refresh_token"
        case .setPushTarget: "set_push_target"
        case .removePushTarget: "remove_push_target"
        case .createRoom: "create_room"
        case .listPublicRooms: "list_public_rooms"
        case .listConversations: "list_conversations"
        case .getConversation: "get_conversation"
        case .joinRoom: "join_room"
        case .invite: "invite"
        case .leave: "leave"
        case .listMembers: "list_members"
        case .createGroup: "create_group"
        case .openDirect: "open_direct"
        case .sendMessage: "send_message"
        case .history: "history"
        case .editMessage: "edit_message"
        case .deleteMessage: "delete_message"
        case .addReaction: "add_reaction"
        case .removeReaction: "remove_reaction"
        case .markRead: "mark_read"
        case .sync: "sync"
        case .markDelivered: "mark_delivered"
        case .typing: "typing"
        case .kick: "kick"
        case .ban: "ban"
        case .unban: "unban"
        case .mute: "mute"
        case .setMemberRole: "set_member_role"
        case .transferOwnership: "transfer_ownership"
        case .updateConversation: "update_conversation"
        case .deleteConversation: "delete_conversation"
        case .listOnlineMembers: "list_online_members"
        case .setNotifications: "set_notifications"
        case .friendRequest: "friend_request"
        case .acceptFriend: "accept_friend"
        case .declineFriend: "decline_friend"
        case .cancelFriendRequest: "cancel_friend_request"
        case .removeFriend: "remove_friend"
        case .listFriends: "list_friends"
        case .block: "block"
        case .unblock: "unblock"
        case .listBlocked: "list_blocked"
        case .searchUsers: "search_users"
        case .setPresence: "set_presence"
        case .createInviteLink: "create_invite_link"
        case .listInviteLinks: "list_invite_links"
        case .revokeInviteLink: "revoke_invite_link"
        case .redeemInviteLink: "redeem_invite_link"
        case .uploadBegin: "upload_begin"
        case .uploadChunk: "upload_chunk"
        case .uploadStatus: "upload_status"
        case .uploadFinish: "upload_finish"
        case .uploadCancel: "upload_cancel"
        case .download: "download"
        case .getFile: "get_file"
        case .searchMessages: "search_messages"
        }
    }
}

/// Push types (frame `op` of kind 4).
public enum PushType: UInt16, Sendable, CaseIterable {
    case event = 1
    case goodbye = 2
    case accountEvent = 3
    case read = 4
    case presence = 5
    case typing = 6
    case delivered = 7
}

/// Control-socket operations (chatctl <-> chatd).
public enum ControlOp: UInt16, Sendable, CaseIterable {
    case status = 1
    case userAdd = 2
    case userList = 3
    case userShow = 4
    case userDisable = 5
    case userEnable = 6
    case userPasswd = 7
    case userSetRole = 8
    case roomList = 9
    case roomShow = 10
    case deviceList = 11
    case deviceRevoke = 12
    case health = 13
    case reload = 14
    case sessionList = 15
    case sessionKick = 16
    case roomCreate = 17
    case roomDelete = 18
    case roomMembers = 19
    case roomAddMember = 20
    case roomRemoveMember = 21
    case roomSetRole = 22
    case roomBan = 23
    case roomUnban = 24
    case broadcast = 25
    case auditQuery = 26
    case backup = 27
    case stats = 28
    case configShow = 29
    case logLevel = 30
    case userDelete = 31
    case registrationTokenCreate = 32
    case registrationTokenList = 33
    case registrationTokenRevoke = 34
    case pushTargetList = 35
    case pushTargetRemove = 36
    // 40-59: files and retention.
    case fileGC = 40
    case fileStats = 41
    case retentionSet = 42
    case retentionPurge = 43
}
