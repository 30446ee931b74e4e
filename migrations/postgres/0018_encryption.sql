-- encryptionConfiguration (AWS, 2024): the JSON of a revision's and an activity's server-side encryption
-- settings (AWS member names); NULL when the caller never gave one.
ALTER TABLE state_machine_versions ADD COLUMN encryption_configuration TEXT;
ALTER TABLE activities ADD COLUMN encryption_configuration TEXT;
