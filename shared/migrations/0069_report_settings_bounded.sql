-- The reading functions count a subtree's units up to the larger of rollup_units and many_units,
-- and one past it (thidua_report_figures, 0065): a setting at integer's top made every large
-- subtree's read fail with "integer out of range". A setting is now at most a billion (the union
-- has about 130,000 units: "no subtree is that large" is still one setting away), so that an
-- operator's mistake is refused where it is made, not by every reader after it.
SET LOCAL search_path = public;

UPDATE report_settings SET value = 1000000000 WHERE value > 1000000000;
ALTER TABLE report_settings
    ADD CONSTRAINT report_settings_value_bounded CHECK (value <= 1000000000);
