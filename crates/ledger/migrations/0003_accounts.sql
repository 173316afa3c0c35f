-- Accounts of the portal: a password (Argon2id, PHC-style text) and a role per user, login
-- sessions, and upload drafts. Same conventions as 0001/0002: times in unix ms, hashes as 64
-- lowercase hex digits. Users created by `meterai admin grant` before they register have no
-- password (NULL) until they register or an administrator sets one.

ALTER TABLE users ADD COLUMN password_hash TEXT NULL;
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'agent', 'admin'));

-- Only the SHA-256 of a session token is stored: a database leak hands out no live session.
-- Each session carries its own CSRF token, sent back in every state-changing form.
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- An uploaded PDF waiting to be placed and stamped; its bytes are a blob file named by
-- input_sha256. Page size is of the chosen page as displayed (after /Rotate), in points.
CREATE TABLE drafts (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    file_name TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    input_bytes BIGINT NOT NULL,
    page BIGINT NOT NULL,
    page_count BIGINT NOT NULL,
    width_pt DOUBLE PRECISION NOT NULL,
    height_pt DOUBLE PRECISION NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX drafts_by_user ON drafts (user_id, created_at);
CREATE INDEX stampings_by_input ON stampings (user_id, input_sha256);
