import GRDB

/// Append-only migrations. Never edit a registered migration: add a new one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-accounts-rooms") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                      id INTEGER PRIMARY KEY,
                      username TEXT NOT NULL,
                      username_key TEXT NOT NULL UNIQUE,
                      email TEXT NOT NULL DEFAULT '',
                      display_name TEXT NOT NULL,
                      avatar_url TEXT NOT NULL DEFAULT '',
                      status_text TEXT NOT NULL DEFAULT '',
                      password_hash TEXT NOT NULL,
                      role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
                      disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
                      created_at INTEGER NOT NULL,
                      updated_at INTEGER NOT NULL
                    );

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
                      id INTEGER PRIMARY KEY,
                      kind TEXT NOT NULL CHECK (kind IN ('room')),
                      name TEXT NOT NULL,
                      name_key TEXT UNIQUE,
                      description TEXT NOT NULL DEFAULT '',
                      visibility TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
                      created_by INTEGER NOT NULL REFERENCES users(id),
                      created_at INTEGER NOT NULL,
                      last_seq INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
                      member_count INTEGER NOT NULL DEFAULT 0 CHECK (member_count >= 0)
                    );

                    CREATE TABLE members (
                      conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                      role TEXT NOT NULL CHECK (role IN ('member', 'admin', 'owner')),
                      joined_at INTEGER NOT NULL,
                      PRIMARY KEY (conversation_id, user_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX members_by_user ON members(user_id, conversation_id);

                    CREATE TABLE events (
                      conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                      seq INTEGER NOT NULL CHECK (seq > 0),
                      kind TEXT NOT NULL,
                      sender_id INTEGER NOT NULL,
                      client_msg_id TEXT,
                      text TEXT,
                      subject_user_id INTEGER,
                      role TEXT,
                      created_at INTEGER NOT NULL,
                      PRIMARY KEY (conversation_id, seq)
                    ) WITHOUT ROWID;
                    CREATE UNIQUE INDEX events_client_msg ON events(sender_id, client_msg_id)
                      WHERE client_msg_id IS NOT NULL;

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
        return migrator
    }
}
