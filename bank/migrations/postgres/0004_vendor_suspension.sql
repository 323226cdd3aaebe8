-- Vendor suspension (`netcents-bank vendor suspend`, docs/PROTOCOL.md §9 `vendor_suspended`):
-- while `suspended_at` is set the bank hands the vendor no scrip, certifies none of its keys
-- again and captures none of its batches. NULL: the vendor is in good standing.

ALTER TABLE vendors ADD COLUMN suspended_at BIGINT;
ALTER TABLE vendors ADD COLUMN suspended_reason TEXT;
