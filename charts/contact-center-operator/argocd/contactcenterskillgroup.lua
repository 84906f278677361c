-- Argo CD health check for contactcenter.dev ContactCenterSkillGroup (contact-center-operator).
-- The chart README and docs/argocd.md embed it (tests/chart.rs generates those snippets from this
-- file) and tests/chart.rs runs it against statuses the operator writes. Written for Lua 5.1, the
-- language of Argo CD's gopher-lua.
local hs = {}

-- Ready=False or Synced=False with one of these reasons needs a person (a spec, Secret or vendor-side
-- change), so it is Degraded rather than Progressing. Drifted is listed for a group that is not
-- ObserveOnly. UpdateNotSupported and CreateOnlyChanged: the spec asks for a change the vendor offers
-- no API for (Ozonetel documents only the create of a skill) or sets only at create (a Huawei queue's
-- media type, a Tencent group's type), so the group stays as it is until the spec or the console
-- changes.
local needs_a_person = {
  UpdateNotSupported = true,
  DeleteNotSupported = true,
  CreateOnlyChanged = true,
  CredentialsInvalid = true,
  VendorRejected = true,
  Conflict = true,
  InvalidSpec = true,
  Drifted = true,
  ProviderNotAllowed = true,
  AdoptionNotAllowed = true,
  EndpointNotAllowed = true,
  ImmutableField = true,
}

local function condition(conditions, kind)
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function describe(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end

local annotations = obj.metadata.annotations or {}
if annotations["contactcenter.dev/paused"] == "true" then
  hs.status = "Suspended"
  hs.message = "Paused by the contactcenter.dev/paused annotation: no vendor writes"
  return hs
end

-- A group being deleted waits, without touching the vendor, while agents still reference it: that
-- is progress the agents' owners make, not a failure.
if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  local bound = (obj.status or {}).boundAgents or 0
  if bound > 0 then
    hs.message = "Being deleted: waiting for " .. tostring(bound)
      .. " referencing agent(s) to stop using the group"
  else
    hs.message = "Being deleted"
  end
  return hs
end

local status = obj.status
if status == nil or status.conditions == nil or #status.conditions == 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

if obj.metadata.generation ~= nil and status.observedGeneration ~= obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(obj.metadata.generation)
  return hs
end

local synced = condition(status.conditions, "Synced")
if synced ~= nil and synced.status == "False" and synced.reason == "Paused" then
  hs.status = "Suspended"
  hs.message = describe(synced)
  return hs
end

local stalled = condition(status.conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

local ready = condition(status.conditions, "Ready")

-- ObserveOnly reports what differs at the vendor and never repairs it: the drift is what the user
-- asked to see, not a failure. The message names the drifted attributes of status.drift, not their
-- values.
local spec = obj.spec or {}
if spec.managementPolicy == "ObserveOnly" and ready ~= nil and ready.status == "False"
    and ready.reason == "Drifted" then
  hs.status = "Healthy"
  local fields = {}
  for _, d in ipairs(status.drift or {}) do
    table.insert(fields, d.field)
  end
  if #fields > 0 then
    hs.message = "ObserveOnly: the vendor differs in " .. table.concat(fields, ", ")
      .. " (status.drift); nothing is written to the vendor"
  else
    hs.message = describe(ready)
  end
  return hs
end

if ready ~= nil and ready.status == "False" and needs_a_person[ready.reason] then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

if synced ~= nil and synced.status == "False" and needs_a_person[synced.reason] then
  hs.status = "Degraded"
  hs.message = describe(synced)
  return hs
end

local reconciling = condition(status.conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(reconciling)
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
if ready ~= nil then
  hs.message = describe(ready)
else
  hs.message = "Waiting for the Ready condition"
end
return hs
