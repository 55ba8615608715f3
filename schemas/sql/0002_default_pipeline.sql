-- The default pipeline template every new job copies its stages from, unless the job names
-- another template. Exactly one template is the default: the partial unique index below
-- allows at most one, and the API refuses to unset or delete the current default.
CREATE UNIQUE INDEX pipeline_templates_one_default ON pipeline_templates(is_default) WHERE is_default = 1;

-- The hiring team keeps the order its lists were given in (the first hiring manager is
-- usually the accountable one).
ALTER TABLE job_team ADD COLUMN position INTEGER NOT NULL DEFAULT 0;

INSERT INTO pipeline_templates(id, name, is_default, stages, created_at, updated_at) VALUES (
  'tpl_default', 'Default', 1,
  '[{"name":"Lead","type":"lead"},{"name":"Applied","type":"applied"},{"name":"Phone screen","type":"screen"},'
  || '{"name":"Interview","type":"interview"},{"name":"Offer","type":"offer"},{"name":"Hired","type":"hired"}]',
  CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);

