-- KubeJIT request store, schema 1. One portable schema for SQLite and PostgreSQL.
-- A row is one request's current snapshot: the JSON payload is the record; the other columns are
-- copies of payload fields that lookups and the expiry sweep filter on, written in the same
-- statement as the payload so they never disagree with it.
CREATE TABLE kubejit_request (
  id             VARCHAR(26)  NOT NULL PRIMARY KEY,
  version        BIGINT       NOT NULL,
  state          VARCHAR(32)  NOT NULL,
  grant_id       VARCHAR(26),
  created_ns     BIGINT       NOT NULL,
  window_end_ns  BIGINT,
  payload_format INTEGER      NOT NULL,
  payload        TEXT         NOT NULL
);

CREATE UNIQUE INDEX kubejit_request_grant ON kubejit_request (grant_id);
CREATE INDEX kubejit_request_state ON kubejit_request (state, created_ns);
CREATE INDEX kubejit_request_window_end ON kubejit_request (window_end_ns);
