import GRDB

/// Append-only migrations. Never edit a migration that has shipped: add a
/// new one. (v1 has not shipped yet.)
enum Schema {
    /// Written by the health probe (a harmless write the writer must commit).
    static let userVersion = 1

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                      id INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids are never reused
                      username TEXT NOT NULL,
                      username_key TEXT NOT NULL UNIQUE,
                      email TEXT NOT NULL DEFAULT '',
                      display_name TEXT NOT NULL,
                      display_name_key TEXT NOT NULL DEFAULT '',
                      avatar_url TEXT NOT NULL DEFAULT '',
                      status_text TEXT NOT NULL DEFAULT '',
                      password_hash TEXT NOT NULL,
                      role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
                      disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
                      created_at INTEGER NOT NULL,
                      updated_at INTEGER NOT NULL,
                      last_seen_at INTEGER NOT NULL DEFAULT 0,
                      account_seq INTEGER NOT NULL DEFAULT 0 CHECK (account_seq >= 0)
                    );
                    CREATE INDEX users_by_display_name ON users(display_name_key);

                    CREATE TABLE devices (
                      id INTEGER PRIMARY KEY,
                      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                      device_id TEXT NOT NULL,
                      name TEXT NOT NULL DEFAULT '',
                      platform TEXT NOT NULL DEFAULT '',
                      public_key BLOB CHECK (public_key IS NULL OR length(public_key) = 32),
                      token_hash BLOB UNIQUE,
                      token_expires_at INTEGER,
                      created_at INTEGER NOT NULL,
                      last_seen_at INTEGER NOT NULL,
                      last_address TEXT NOT NULL DEFAULT '',
                      revoked_at INTEGER,
                      UNIQUE (user_id, device_id)
                    );

                    CREATE TABLE conversations (
                      id INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids are never reused
                      kind TEXT NOT NULL CHECK (kind IN ('room', 'group', 'direct')),
                      name TEXT NOT NULL DEFAULT '',
                      name_key TEXT UNIQUE,          -- rooms only: unique name ignoring case
                      direct_key TEXT UNIQUE,        -- direct chats only: "<low id>:<high id>"
                      description TEXT NOT NULL DEFAULT '',
                      visibility TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
                      created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
                      created_at INTEGER NOT NULL,
                      last_seq INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
                      last_activity_at INTEGER NOT NULL,
                      member_count INTEGER NOT NULL DEFAULT 0 CHECK (member_count >= 0),
                      CHECK ((kind = 'room') = (name_key IS NOT NULL)),
                      CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
                    );

                    CREATE TABLE members (
                      conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                      role TEXT NOT NULL CHECK (role IN ('member', 'admin', 'owner')),
                      joined_at INTEGER NOT NULL,
                      read_seq INTEGER NOT NULL DEFAULT 0 CHECK (read_seq >= 0),
                      muted_until INTEGER,
                      PRIMARY KEY (conversation_id, user_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX members_by_user ON members(user_id, conversation_id);

                    CREATE TABLE bans (
                      conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                      banned_by INTEGER,
                      banned_at INTEGER NOT NULL,
                      PRIMARY KEY (conversation_id, user_id)
                    ) WITHOUT ROWID;

                    CREATE TABLE events (
                      conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                      seq INTEGER NOT NULL CHECK (seq > 0),
                      kind TEXT NOT NULL,
                      sender_id INTEGER NOT NULL,
                      client_msg_id TEXT,
                      message_type TEXT CHECK (message_type IN ('text', 'image', 'file', 'system')),
                      text TEXT,
                      reply_to_seq INTEGER,
                      mentions TEXT,                 -- comma-separated user ids
                      file_id TEXT,
                      file_name TEXT,
                      file_size INTEGER,
                      file_mime TEXT,
                      file_width INTEGER,
                      file_height INTEGER,
                      target_seq INTEGER,
                      emoji TEXT,
                      subject_user_id INTEGER,
                      role TEXT,
                      name TEXT,
                      description TEXT,
                      muted_until INTEGER,
                      edited_at INTEGER,
                      deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
                      created_at INTEGER NOT NULL,
                      PRIMARY KEY (conversation_id, seq)
                    ) WITHOUT ROWID;
                    CREATE UNIQUE INDEX events_client_msg ON events(sender_id, client_msg_id)
                      WHERE client_msg_id IS NOT NULL;

                    CREATE TABLE mentions (
                      conversation_id INTEGER NOT NULL,
                      seq INTEGER NOT NULL,
                      user_id INTEGER NOT NULL,
                      PRIMARY KEY (conversation_id, user_id, seq),
                      FOREIGN KEY (conversation_id, seq) REFERENCES events(conversation_id, seq) ON DELETE CASCADE
                    ) WITHOUT ROWID;

                    CREATE TABLE reactions (
                      conversation_id INTEGER NOT NULL,
                      seq INTEGER NOT NULL,
                      user_id INTEGER NOT NULL,
                      emoji TEXT NOT NULL,
                      event_seq INTEGER NOT NULL,    -- the REACTION_ADDED event
                      created_at INTEGER NOT NULL,
                      PRIMARY KEY (conversation_id, seq, user_id, emoji),
                      FOREIGN KEY (conversation_id, seq) REFERENCES events(conversation_id, seq) ON DELETE CASCADE
                    ) WITHOUT ROWID;

                    CREATE TABLE account_events (
                      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                      seq INTEGER NOT NULL CHECK (seq > 0),
                      kind TEXT NOT NULL,
                      conversation_id INTEGER,
                      other_user_id INTEGER,
                      device_id TEXT,
                      reason TEXT,
                      created_at INTEGER NOT NULL,
                      PRIMARY KEY (user_id, seq)
                    ) WITHOUT ROWID;

                    CREATE TABLE friendships (
                      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                      other_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                      -- 'pending': user_id asked other_id; 'accepted': one row each way
                      state TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
                      created_at INTEGER NOT NULL,
                      PRIMARY KEY (user_id, other_id),
                      CHECK (user_id != other_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX friendships_by_other ON friendships(other_id, user_id);

                    CREATE TABLE blocks (
                      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                      blocked_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                      created_at INTEGER NOT NULL,
                      PRIMARY KEY (user_id, blocked_id),
                      CHECK (user_id != blocked_id)
                    ) WITHOUT ROWID;

                    CREATE TABLE audit (
                      id INTEGER PRIMARY KEY,
                      at INTEGER NOT NULL,
                      action TEXT NOT NULL,
                      actor TEXT NOT NULL,
                      user_id INTEGER,
                      address TEXT NOT NULL DEFAULT '',
                      detail TEXT NOT NULL DEFAULT ''
                    );
                    CREATE INDEX audit_by_user ON audit(user_id, at);
                    CREATE INDEX audit_by_time ON audit(at);
                    """)
        }
        migrator.registerMigration("v2-files-search") { db in
            try db.execute(
                sql: """
                    -- One row per distinct content (the bytes live in <data_dir>/files/contents).
                    CREATE TABLE contents (
                      hash BLOB PRIMARY KEY CHECK (length(hash) = 32),  -- BLAKE2b-256
                      size INTEGER NOT NULL CHECK (size >= 0),
                      created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;

                    -- Files as users see them: one per finished upload.
                    CREATE TABLE files (
                      id TEXT PRIMARY KEY,
                      hash BLOB NOT NULL REFERENCES contents(hash),
                      owner_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
                      upload_id TEXT NOT NULL,
                      name TEXT NOT NULL,
                      mime TEXT NOT NULL,
                      size INTEGER NOT NULL CHECK (size >= 0),
                      created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX files_by_owner ON files(owner_id);
                    CREATE INDEX files_by_hash ON files(hash);
                    CREATE INDEX files_by_upload ON files(upload_id);

                    -- The messages that refer to each file (the reference count is
                    -- the number of rows), kept by the triggers below.
                    CREATE TABLE file_refs (
                      file_id TEXT NOT NULL REFERENCES files(id),
                      conversation_id INTEGER NOT NULL,
                      seq INTEGER NOT NULL,
                      PRIMARY KEY (file_id, conversation_id, seq),
                      FOREIGN KEY (conversation_id, seq) REFERENCES events(conversation_id, seq) ON DELETE CASCADE
                    ) WITHOUT ROWID;
                    CREATE INDEX file_refs_by_event ON file_refs(conversation_id, seq);

                    CREATE TRIGGER events_file_ref_insert AFTER INSERT ON events
                    WHEN new.kind = 'message' AND new.file_id IS NOT NULL
                    BEGIN
                      INSERT OR IGNORE INTO file_refs (file_id, conversation_id, seq) VALUES (new.file_id, new.conversation_id, new.seq);
                    END;
                    CREATE TRIGGER events_file_ref_update AFTER UPDATE OF file_id ON events
                    WHEN old.file_id IS NOT NULL AND new.file_id IS NOT old.file_id
                    BEGIN
                      DELETE FROM file_refs WHERE conversation_id = old.conversation_id AND seq = old.seq;
                    END;

                    -- Unfinished uploads; the bytes are in <data_dir>/files/uploads/<id>.part.
                    CREATE TABLE uploads (
                      id TEXT PRIMARY KEY,
                      owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                      size INTEGER NOT NULL CHECK (size > 0),
                      name TEXT NOT NULL,
                      mime TEXT NOT NULL,
                      hash BLOB NOT NULL CHECK (length(hash) = 32),
                      received TEXT NOT NULL DEFAULT '',  -- ByteRanges: "start-end,..."
                      created_at INTEGER NOT NULL,
                      expires_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX uploads_by_owner ON uploads(owner_id, hash);
                    CREATE INDEX uploads_by_expiry ON uploads(expires_at);

                    -- Full-text index of message text. Each indexed message has a search_docs
                    -- row whose id is its FTS rowid; ids grow with insertion, so rowid order is
                    -- newest-first order across conversations, which FTS5 walks without sorting.
                    -- Kept in step by triggers, so sends, edits, deletes, conversation deletion
                    -- and retention purges all update it. An edit keeps the message's id.
                    CREATE TABLE search_docs (
                      id INTEGER PRIMARY KEY,
                      conversation_id INTEGER NOT NULL,
                      seq INTEGER NOT NULL,
                      UNIQUE (conversation_id, seq)
                    );
                    CREATE VIRTUAL TABLE message_search USING fts5(
                      text, tokenize = 'unicode61 remove_diacritics 2');
                    CREATE TRIGGER events_search_insert AFTER INSERT ON events
                    WHEN new.kind = 'message' AND new.deleted = 0 AND new.text IS NOT NULL AND new.text != ''
                    BEGIN
                      INSERT OR IGNORE INTO search_docs (conversation_id, seq) VALUES (new.conversation_id, new.seq);
                      INSERT INTO message_search (rowid, text)
                        SELECT id, new.text FROM search_docs WHERE conversation_id = new.conversation_id AND seq = new.seq;
                    END;
                    CREATE TRIGGER events_search_update AFTER UPDATE OF text, deleted ON events
                    WHEN new.kind = 'message'
                    BEGIN
                      DELETE FROM message_search WHERE rowid =
                        (SELECT id FROM search_docs WHERE conversation_id = old.conversation_id AND seq = old.seq);
                      DELETE FROM search_docs WHERE conversation_id = old.conversation_id AND seq = old.seq
                        AND NOT (new.deleted = 0 AND new.text IS NOT NULL AND new.text != '');
                      INSERT OR IGNORE INTO search_docs (conversation_id, seq)
                        SELECT new.conversation_id, new.seq WHERE new.deleted = 0 AND new.text IS NOT NULL AND new.text != '';
                      INSERT INTO message_search (rowid, text)
                        SELECT id, new.text FROM search_docs WHERE conversation_id = new.conversation_id AND seq = new.seq;
                    END;
                    CREATE TRIGGER events_search_delete AFTER DELETE ON events
                    WHEN old.kind = 'message'
                    BEGIN
                      DELETE FROM message_search WHERE rowid =
                        (SELECT id FROM search_docs WHERE conversation_id = old.conversation_id AND seq = old.seq);
                      DELETE FROM search_docs WHERE conversation_id = old.conversation_id AND seq = old.seq;
                    END;
                    INSERT INTO search_docs (conversation_id, seq)
                      SELECT conversation_id, seq FROM events
                      WHERE kind = 'message' AND deleted = 0 AND text IS NOT NULL AND text != ''
                      ORDER BY created_at, conversation_id, seq;
                    INSERT INTO message_search (rowid, text)
                      SELECT d.id, e.text FROM search_docs d JOIN events e ON e.conversation_id = d.conversation_id AND e.seq = d.seq;
                    """)
        }
        migrator.registerMigration("v3-retention") { db in
            try db.execute(
                sql: """
                    -- NULL: the server's retention.default_days; 0: kept forever; else days.
                    ALTER TABLE conversations ADD COLUMN retention_days INTEGER
                      CHECK (retention_days IS NULL OR retention_days >= 0);
                    -- Events with seq <= purged_seq were removed by retention.
                    ALTER TABLE conversations ADD COLUMN purged_seq INTEGER NOT NULL DEFAULT 0 CHECK (purged_seq >= 0);
                    """)
        }
        migrator.registerMigration("v4-grants") { db in
            try db.execute(
                sql: """
                    -- Invite links of rooms and groups, and registration tokens: only the
                    -- keyed hash of each token. Rows stay after revocation, expiry or the last
                    -- use, so the token keeps answering why it no longer works; an invite
                    -- goes with its conversation.
                    CREATE TABLE grants (
                      id INTEGER PRIMARY KEY AUTOINCREMENT,
                      kind TEXT NOT NULL CHECK (kind IN ('invite', 'registration')),
                      conversation_id INTEGER REFERENCES conversations(id) ON DELETE CASCADE,
                      created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
                      token_hash BLOB NOT NULL UNIQUE,
                      created_at INTEGER NOT NULL,
                      expires_at INTEGER,
                      max_uses INTEGER NOT NULL CHECK (max_uses >= 0),
                      uses INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0 AND (max_uses = 0 OR uses <= max_uses)),
                      revoked_at INTEGER,
                      CHECK ((kind = 'invite') = (conversation_id IS NOT NULL))
                    );
                    CREATE INDEX grants_by_conversation ON grants(conversation_id, id);
                    """)
        }
        migrator.registerMigration("v5-delivered") { db in
            try db.execute(
                sql: """
                    -- Delivery receipts (PROTOCOL.md §6.3): the highest seq a member's devices
                    -- reported stored; never below read_seq (a read position implies delivery).
                    ALTER TABLE members ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0 CHECK (delivered_seq >= 0);
                    UPDATE members SET delivered_seq = read_seq;
                    """)
        }
        migrator.registerMigration("v6-notifications") { db in
            try db.execute(
                sql: """
                    -- A member's notification settings for the conversation (PROTOCOL.md §6.6).
                    ALTER TABLE members ADD COLUMN notify_level TEXT NOT NULL DEFAULT 'all'
                      CHECK (notify_level IN ('all', 'mentions', 'none'));
                    -- The end of a mute of notifications; NULL: not muted.
                    ALTER TABLE members ADD COLUMN notify_muted_until INTEGER;
                    """)
        }
        migrator.registerMigration("v7-push-targets") { db in
            try db.execute(
                sql: """
                    -- A device's push target (PROTOCOL.md §4.8): a UnifiedPush endpoint or a
                    -- gateway pushkey. One per device; gone with the device.
                    CREATE TABLE push_targets (
                      device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
                      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                      kind TEXT NOT NULL CHECK (kind IN ('unified_push', 'gateway')),
                      endpoint TEXT NOT NULL DEFAULT '',
                      pushkey TEXT NOT NULL DEFAULT '',
                      app_id TEXT NOT NULL DEFAULT '',
                      platform TEXT NOT NULL DEFAULT '',
                      created_at INTEGER NOT NULL
                    );
                    CREATE INDEX push_targets_user ON push_targets(user_id);
                    """)
        }
        migrator.registerMigration("v8-webpush-keys") { db in
            try db.execute(
                sql: """
                    -- A UnifiedPush target's Web Push keys (RFC 8291, PROTOCOL.md §4.8): the
                    -- device's P-256 public key and auth secret; empty: bodies go in clear.
                    ALTER TABLE push_targets ADD COLUMN p256dh BLOB NOT NULL DEFAULT x'';
                    ALTER TABLE push_targets ADD COLUMN auth BLOB NOT NULL DEFAULT x'';
                    """)
        }
        migrator.registerMigration("v9-search-per-batch") { db in
            try db.execute(
                sql: """
                    -- A new message's text enters message_search once per group-commit batch
                    -- (SearchIndex.fill), not from this trigger: inside each write's savepoint
                    -- FTS5 flushed its pending terms to disk at every statement, a segment per
                    -- message. Edits and deletes still go through their triggers.
                    DROP TRIGGER events_search_insert;
                    CREATE TRIGGER events_search_insert AFTER INSERT ON events
                    WHEN new.kind = 'message' AND new.deleted = 0 AND new.text IS NOT NULL AND new.text != ''
                    BEGIN
                      INSERT OR IGNORE INTO search_docs (conversation_id, seq) VALUES (new.conversation_id, new.seq);
                    END;
                    """)
        }
        migrator.registerMigration("v10-unread-index") { db in
            try db.execute(
                sql: """
                    -- Unread counts (Sync, ListConversations, notifications: PROTOCOL.md §6.3) count a
                    -- member's messages after their read position, not their own, not deleted: read
                    -- from this index alone (a few integers per message) instead of decoding each
                    -- event row up to its deleted column. kind and deleted are in the key so that the
                    -- index covers the query (SQLite re-checks a partial index's terms).
                    CREATE INDEX events_unread ON events(conversation_id, seq, sender_id, kind, deleted)
                    WHERE kind = 'message' AND deleted = 0;
                    """)
        }
        migrator.registerMigration("v11-search-ids-never-reused") { db in
            try db.execute(
                sql: """
                    -- A document id is never given twice (AUTOINCREMENT). SearchIndex takes a
                    -- batch's new documents to be those above the largest id before its writes;
                    -- when the newest earlier document was deleted in a batch, its id went to the
                    -- batch's next message, which was then never indexed. The events triggers
                    -- name search_docs: with legacy_alter_table the rename leaves them as they
                    -- are (otherwise it refuses, as they name a table it cannot find meanwhile).
                    CREATE TABLE search_docs_v11 (
                      id INTEGER PRIMARY KEY AUTOINCREMENT,
                      conversation_id INTEGER NOT NULL,
                      seq INTEGER NOT NULL,
                      UNIQUE (conversation_id, seq)
                    );
                    INSERT INTO search_docs_v11 (id, conversation_id, seq) SELECT id, conversation_id, seq FROM search_docs;
                    DROP TABLE search_docs;
                    PRAGMA legacy_alter_table = ON;
                    ALTER TABLE search_docs_v11 RENAME TO search_docs;
                    PRAGMA legacy_alter_table = OFF;
                    """)
        }
        migrator.registerMigration("v12-search-off-the-writer") { db in
            try db.execute(
                sql: """
                    -- The search index moves to a database of its own, kept by SearchIndexer
                    -- off the group-commit writer, which rebuilds it from events: a send's
                    -- transaction no longer writes index rows.
                    DROP TRIGGER events_search_insert;
                    DROP TRIGGER events_search_update;
                    DROP TRIGGER events_search_delete;
                    DROP TABLE message_search;
                    DROP TABLE search_docs;
                    """)
        }
        return migrator
    }
}
