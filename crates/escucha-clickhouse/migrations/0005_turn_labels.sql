-- Each turn's labels with the turn (the same labels as its rows of `labels`,
-- which serve aggregates by label): the drill-down reads a page's turns and
-- their labels in one statement. Turns stored before have labelled = 0 and
-- empty arrays; their labels are read from `labels`.
ALTER TABLE {table:turns} {on_cluster}
    ADD COLUMN labelled UInt8 DEFAULT 0,
    ADD COLUMN label_kinds Array(String),
    ADD COLUMN label_names Array(String),
    ADD COLUMN label_confidences Array(Float32),
    ADD COLUMN label_evidence_starts Array(Array(UInt32)),
    ADD COLUMN label_evidence_ends Array(Array(UInt32)),
    ADD COLUMN label_engines Array(String);
