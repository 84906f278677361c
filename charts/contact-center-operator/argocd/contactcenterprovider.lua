-- Argo CD health check for contactcenter.dev ContactCenterProvider and ClusterContactCenterProvider
-- (contact-center-operator). The chart README and docs/argocd.md embed it for both kinds
-- (tests/chart.rs generates those snippets from this file) and tests/chart.rs runs it against
-- statuses the operator writes. Written for Lua 5.1 (gopher-lua).
local hs = {}

local function condition(conditions, kind)
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local status = obj.status
if status == nil or status.conditions == nil or #status.conditions == 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to check the credentials"
  return hs
end

if obj.metadata.generation ~= nil and status.observedGeneration ~= obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(obj.metadata.generation)
  return hs
end

-- Ready reflects one cheap vendor read with the provider's credentials: every agent of the provider
-- depends on it, so any failure is Degraded.
local ready = condition(status.conditions, "Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
local message = ready.reason
if ready.message ~= nil and ready.message ~= "" then
  message = ready.reason .. ": " .. ready.message
end
hs.message = message
if ready.status == "True" then
  hs.status = "Healthy"
else
  hs.status = "Degraded"
end
return hs
