-- talentd: {"description": "Refuses a move into a hired stage when the job has no open opening", "role": "recruiter"}
-- The filter reads the job inside the hire's own transaction: an opening this hire is
-- filling already shows as filled by the application, so it counts as the open one.
talent.filter("application.before_stage_change", function(p)
  if p.to_stage == nil or p.to_stage.type ~= "hired" then return end
  local job, err = talent.get("job", p.job_id)
  if job == nil then return false, "the job could not be checked: " .. tostring(err) end
  for _, o in ipairs(job.openings or {}) do
    if o.status == "open" or o.filled_by_application_id == p.application_id then return end
  end
  return false, "this job has no open opening: add one before hiring"
end)
