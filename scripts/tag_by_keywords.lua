-- talentd: {"description": "Tags new candidates whose resume text mentions configured keywords", "role": "recruiter"}
-- Configuration (scripts.tag_by_keywords in the server configuration):
--   {"keywords": {"rust": "rust", "kubernetes": "k8s"}}   keyword (lower case) -> tag
-- Without configuration, a few engineering keywords are used.
local DEFAULTS = {python = "python", rust = "rust", golang = "go", kubernetes = "kubernetes", react = "react"}

local function keywords()
  local cfg = talent.config and talent.config.keywords
  if type(cfg) == "table" and next(cfg) ~= nil then return cfg end
  return DEFAULTS
end

talent.filter("candidate.before_create", function(c)
  local text = c.resume_text
  if type(text) ~= "string" or text == "" then return end
  text = string.lower(text)
  local tags, seen = {}, {}
  for _, t in ipairs(c.tags or {}) do
    tags[#tags + 1] = t
    seen[t] = true
  end
  local added = false
  for word, tag in pairs(keywords()) do
    -- a plain find: keywords are text, not patterns
    if not seen[tag] and string.find(text, string.lower(word), 1, true) then
      tags[#tags + 1] = tag
      seen[tag] = true
      added = true
    end
  end
  if added then
    table.sort(tags)
    return {tags = tags}
  end
end)
