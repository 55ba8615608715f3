-- talentd: {"description": "Creates a follow-up task for the job's recruiter when an application goes stale", "role": "recruiter"}
-- On application.stale: a task "Follow up: application stuck in <stage type> for N days" for
-- the first recruiter of the job's hiring team (no recruiter: unassigned), due in one day.
talent.on("application.stale", function(evt)
  local d = evt.data
  local job, err = talent.get("job", d.job_id)
  if job == nil then error("the job could not be read: " .. tostring(err)) end
  local team = job.hiring_team or {}
  local recruiters = team.recruiters or {}
  local due = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + 86400)
  local task, terr = talent.task{
    title = string.format("Follow up: application stuck in %s for %d days", d.stage.type, d.days_in_stage),
    application_id = d.application_id,
    assignee_id = recruiters[1],
    due_at = due,
  }
  if task == nil then error("the task could not be created: " .. tostring(terr)) end
end)
