-- The dashboards' series (`GET /v1/operator/series`, `GET /v1/vendors/{vendor}/series`) read
-- the postings of a time range: an index on their time, so a range read does not scan the books.

CREATE INDEX postings_at ON postings (at);
