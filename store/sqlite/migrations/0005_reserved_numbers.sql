-- A case or order number given out when a message is accepted (a web
-- form answers the submitter with it at once): registering the message
-- opens exactly that case or order. New cases and orders take ids past
-- every reserved one, so a reservation is never taken by another.
ALTER TABLE inbound ADD COLUMN reserved_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE inbound ADD COLUMN reserved_id INTEGER;
CREATE UNIQUE INDEX inbound_reserved ON inbound (reserved_kind, reserved_id) WHERE reserved_id IS NOT NULL;
