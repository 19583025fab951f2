-- The 320 ms quanta at whose start a clip's voice pauses: where a live
-- reply may cut in. Comma-separated quantum indices.
ALTER TABLE clips ADD COLUMN breaks TEXT NOT NULL DEFAULT '';
