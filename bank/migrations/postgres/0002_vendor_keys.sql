-- Vendor key ids (docs/PROTOCOL.md §5.10): a vendor's key gets id 1 at its first registration
-- and one more at each new key. Every key is kept, so that transfer certificates, capture
-- batches and receipts signed with an earlier key keep verifying.

ALTER TABLE vendors ADD COLUMN key_id BIGINT NOT NULL DEFAULT 1;

CREATE TABLE vendor_keys (
    vendor      TEXT NOT NULL REFERENCES vendors (id),
    key_id      BIGINT NOT NULL CHECK (key_id >= 1),
    public_key  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (vendor, key_id)
);

INSERT INTO vendor_keys (vendor, key_id, public_key, created_at)
SELECT id, key_id, public_key, created_at FROM vendors;
