-- set_setting: records a gateway setting read by the schema's triggers (kt_settings).
INSERT INTO kt_settings (key, value) VALUES (:key, :value)
ON CONFLICT (key) DO UPDATE SET value = excluded.value;
