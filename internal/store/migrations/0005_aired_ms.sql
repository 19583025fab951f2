-- How much of a clip aired when an operator's cut (skip, cut to standby)
-- ended it early: a whole number of 320 ms quanta. NULL: it aired whole.
ALTER TABLE clips ADD COLUMN aired_ms BIGINT;
