-- A user signed up while sign-up approval is on is PENDING until an admin approves
-- (ACTIVE) or rejects (REJECTED) the request; only ACTIVE users sign in.
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'ACTIVE';
