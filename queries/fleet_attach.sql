-- fleet_attach: attaches one database of a fleet (`--db` given more than once).
ATTACH DATABASE :path AS :schema;
