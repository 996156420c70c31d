-- Conversation-level agent empathy in [0, 1] (NULL without agent turns).
-- Empathy signals per agent turn are rows of `labels` with label_kind = 'empathy'.
ALTER TABLE {table:interactions} {on_cluster} ADD COLUMN agent_empathy Nullable(Float32) AFTER resolved;
