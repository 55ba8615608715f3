-- talentd: {"description": "Requires a reason to reject an application that reached the interview stage or later", "role": "recruiter"}
local LATE = {interview = true, offer = true, hired = true}

talent.filter("application.before_reject", function(p)
  local stage = p.from_stage and p.from_stage.type
  if not LATE[stage] then return end
  local reason = p.reason
  if type(reason) ~= "string" or not string.find(reason, "%S") then
    return false, "a reason is required to reject a candidate who reached the " .. stage .. " stage"
  end
end)
