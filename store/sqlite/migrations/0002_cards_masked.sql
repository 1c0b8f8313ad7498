-- How many card numbers the accept step masked in the raw bytes before they
-- were written (DESIGN.md invariant 6): the acknowledgement then asks the
-- customer not to send card numbers by e-mail.
ALTER TABLE inbound ADD COLUMN cards_masked INTEGER NOT NULL DEFAULT 0;
