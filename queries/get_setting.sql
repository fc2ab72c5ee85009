-- get_setting: one gateway setting from kt_settings (e.g. retention_cutoff_ms).
-- Columns: value.
SELECT value FROM kt_settings WHERE key = :key;
