-- The bank's books (PostgreSQL). Ids are lower-case hex; signed objects and state are canonical
-- bytes of the protocol core. Postings are appended, never updated or deleted.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('customer', 'vendor')),
    public_key  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Spendable balances of customer and vendor accounts and bonds: a cache of the postings kept
-- in the same transaction, so that "never below zero" is one conditional UPDATE.
CREATE TABLE balances (
    account     TEXT PRIMARY KEY,
    balance     BIGINT NOT NULL CHECK (balance >= 0)
);

CREATE TABLE postings (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    debit       TEXT NOT NULL,
    credit      TEXT NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    kind        BIGINT NOT NULL,
    reference   TEXT NOT NULL,
    at          BIGINT NOT NULL
);

CREATE FUNCTION postings_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'postings are append-only'; END $$;
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
FOR EACH ROW EXECUTE FUNCTION postings_append_only();

-- Money that ever entered the system (operator deposits), bounded so that no sum overflows.
CREATE TABLE totals (
    name        TEXT PRIMARY KEY,
    value       BIGINT NOT NULL
);

CREATE TABLE vendors (
    id          TEXT PRIMARY KEY,
    account     TEXT NOT NULL UNIQUE REFERENCES accounts (id),
    public_key  TEXT NOT NULL,
    origin      TEXT NOT NULL,
    cert        BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE scrips (
    id          TEXT PRIMARY KEY,
    account     TEXT,
    book        BYTEA NOT NULL,
    outstanding BIGINT NOT NULL,
    status      BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    deadline    BIGINT
);
CREATE INDEX scrips_sweep ON scrips (status, expires_at);

CREATE TABLE idempotency (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       BIGINT NOT NULL,
    body         TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE audits (
    id          TEXT PRIMARY KEY,
    vendor      TEXT NOT NULL,
    scrip       TEXT NOT NULL,
    claim       BYTEA NOT NULL,
    cursor      BYTEA NOT NULL,
    ppm         BIGINT NOT NULL,
    amount      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    deadline    BIGINT NOT NULL,
    state       BIGINT NOT NULL,
    outcome     TEXT
);
CREATE INDEX audits_open ON audits (state, vendor);

CREATE TABLE redemptions (
    authority   TEXT PRIMARY KEY,
    scrip       TEXT NOT NULL,
    account     TEXT NOT NULL,
    at          BIGINT NOT NULL
);

CREATE TABLE recalls (
    authority   TEXT PRIMARY KEY,
    scrip       TEXT NOT NULL,
    holder      TEXT NOT NULL,
    recall      BYTEA NOT NULL,
    deadline    BIGINT NOT NULL,
    state       BIGINT NOT NULL
);
CREATE INDEX recalls_open ON recalls (state, holder);

CREATE TABLE disputes (
    id          TEXT PRIMARY KEY,
    scrip       TEXT NOT NULL,
    vendor      TEXT NOT NULL,
    dispute     BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    deadline    BIGINT NOT NULL,
    state       BIGINT NOT NULL,
    goods       BYTEA,
    orders      BYTEA,
    ruling      BYTEA
);
CREATE INDEX disputes_open ON disputes (state, vendor);
