-- Vendor invitations (docs/PROTOCOL.md §5.1): the operator invites a vendor for one origin and
-- one bond (`netcents-bank vendor add`); the vendor's first registration that presents the
-- invitation gets the bond deposited, once, before the invitation expires. Only a hash of the
-- invitation token is kept.

CREATE TABLE invitations (
    hash        TEXT PRIMARY KEY,
    origin      TEXT NOT NULL,
    bond        BIGINT NOT NULL CHECK (bond >= 0),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    vendor      TEXT REFERENCES vendors (id)
);
