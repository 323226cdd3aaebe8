-- Exchanges of what is left on an anonymous scrip for new coins, blind (docs/PROTOCOL.md §5.11),
-- waiting for the holder's hand-over: the order's digest (the hand-over's authority), the scrip,
-- and the blinded coins (a canonical list) to sign when the scrip comes back.

CREATE TABLE exchanges (
    authority   TEXT PRIMARY KEY,
    scrip       TEXT NOT NULL,
    coins       BLOB NOT NULL,
    at          BIGINT NOT NULL
);
