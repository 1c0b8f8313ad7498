-- Small blobs (raw messages, attachments) kept in the database instead of
-- one file each: a durable file costs about 1 ms of kernel time (create,
-- fsync, rename, directory fsync), a row shares its group commit's fsync.
-- Larger blobs stay files (store/blob.Tiered decides by size). The hash is
-- the sha256 (hex) of data; readers verify it.
CREATE TABLE blobs (
	hash TEXT    PRIMARY KEY,
	size INTEGER NOT NULL CHECK (size >= 0),
	data BLOB    NOT NULL
) STRICT;

-- Damaged blobs moved out of reach of reads, kept with the reason for
-- inspection (the files' equivalent is <blobs>/quarantine/).
CREATE TABLE blob_quarantine (
	hash           TEXT    PRIMARY KEY,
	size           INTEGER NOT NULL,
	data           BLOB    NOT NULL,
	reason         TEXT    NOT NULL,
	quarantined_at INTEGER NOT NULL
) STRICT;
