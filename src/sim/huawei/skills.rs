//! The simulated tenant's skill queues: `skill/querySkills`, `skill/createSkill`, `skill/modifySkill`
//! and `skill/deleteSkill`, with the documented limits (name at most 20 characters without
//! `" [ ] ' & ( ) = ; < > ,`, description at most 50, `maxWaitTime` at most 60000 s, `maxWaitNum` at
//! most 10000, `maxAgentWrapupTime` at most 3600 s, media types 5/53/19/2/18).
//!
//! These are the queues agents bind to: a queue created here can be bound at once, and one with
//! agents bound cannot be deleted. Written from the vendor's side, independently of the client's
//! checks. ASSUMPTIONS where Huawei's pages are silent: the request fields are the documented
//! create fields by the same names (numbers accepted as JSON numbers or numeric strings), the query's
//! result list is `data` with those fields plus `skillId` and a `total`, create answers the new
//! `skillId`, a queue's media type cannot change, and a name is unique in the tenant.

use serde_json::{Map, Value, json};

use super::{MAX_PAGE_SIZE, Sim, SkillQueue, text};

/// Characters a queue name must not contain (as for agent names at create).
const NAME_FORBIDDEN: &[char] = &['"', '[', ']', '\'', '&', '(', ')', '=', ';', '<', '>', ','];
/// The documented media types: voice, multimedia, video, voice and video click-to-dial.
const MEDIA_TYPES: [u32; 5] = [5, 53, 19, 2, 18];
/// Queues one `deleteSkill` may name.
const MAX_DELETE_IDS: usize = 10;

/// An optional number, as a JSON number or a numeric string.
fn number(p: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{key} must be an integer")),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| format!("{key} must be a string holding a number")),
        Some(_) => Err(format!("{key} must be a number")),
    }
}

/// A number within `range`, narrowed.
fn bounded(
    p: &Map<String, Value>,
    key: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<u32>, String> {
    match number(p, key)? {
        None => Ok(None),
        Some(v) if range.contains(&v) => Ok(Some(v as u32)),
        Some(_) => Err(format!("{key} must be {} to {}", range.start(), range.end())),
    }
}

fn queue_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 20 {
        return Err("name is invalid: it must be 1 to 20 characters".into());
    }
    if name.contains(NAME_FORBIDDEN) {
        return Err("name is invalid: it must not contain \" [ ] ' & ( ) = ; < > ,".into());
    }
    Ok(())
}

/// The attributes a create or modify sets, checked before anything is applied.
#[derive(Default)]
struct Attributes {
    description: Option<String>,
    max_wait_time: Option<u32>,
    max_wait_num: Option<u32>,
    max_agent_wrapup_time: Option<u32>,
}

impl Attributes {
    fn read(p: &Map<String, Value>) -> Result<Attributes, String> {
        let description = text(p, "description")?;
        if description.is_some_and(|d| d.chars().count() > 50) {
            return Err("description must be at most 50 characters".into());
        }
        Ok(Attributes {
            description: description.map(str::to_string),
            max_wait_time: bounded(p, "maxWaitTime", 0..=60000)?,
            max_wait_num: bounded(p, "maxWaitNum", 0..=10000)?,
            max_agent_wrapup_time: bounded(p, "maxAgentWrapupTime", 0..=3600)?,
        })
    }

    fn apply(self, queue: &mut SkillQueue) {
        if let Some(v) = self.description {
            queue.description = v;
        }
        queue.max_wait_time = self.max_wait_time.or(queue.max_wait_time);
        queue.max_wait_num = self.max_wait_num.or(queue.max_wait_num);
        queue.max_agent_wrapup_time = self.max_agent_wrapup_time.or(queue.max_agent_wrapup_time);
    }
}

fn to_json(q: &SkillQueue) -> Value {
    json!({
        "skillId": q.id, "name": q.name, "mediaTypeId": q.media_type_id, "description": q.description,
        "maxWaitTime": q.max_wait_time, "maxWaitNum": q.max_wait_num,
        "maxAgentWrapupTime": q.max_agent_wrapup_time,
    })
}

impl Sim {
    /// `skill/createSkill`.
    pub(super) fn create_skill(&self, p: &Map<String, Value>) -> Result<Value, String> {
        let name = text(p, "name")?.ok_or("name is required")?;
        queue_name(name)?;
        let media = number(p, "mediaTypeId")?.ok_or("mediaTypeId is required")?;
        let media_type_id = MEDIA_TYPES
            .into_iter()
            .find(|m| i64::from(*m) == media)
            .ok_or("mediaTypeId must be one of 5, 53, 19, 2, 18")?;
        let attributes = Attributes::read(p)?;
        let mut t = self.tenant();
        let taken = t.queues.values().any(|q| q.name == name);
        if !self
            .core
            .accept_create(&crate::sim::skill_ledger_key(name), taken)
        {
            return Err("the skill name already exists".into());
        }
        let id = t.take_skill_id();
        let mut queue = SkillQueue {
            id,
            name: name.to_string(),
            media_type_id,
            ..SkillQueue::default()
        };
        attributes.apply(&mut queue);
        if !taken {
            // A duplicate is counted in the ledger; the first queue is kept as stored.
            t.queues.insert(id, queue);
        }
        Ok(json!({"returnCode": "0", "description": "create skill success", "skillId": id}))
    }

    /// `skill/modifySkill`: the queue by `skillId`, only the fields sent change.
    pub(super) fn modify_skill(&self, p: &Map<String, Value>) -> Result<Value, String> {
        let id = number(p, "skillId")?.ok_or("skillId is required")?;
        let name = text(p, "name")?;
        if let Some(n) = name {
            queue_name(n)?;
        }
        let media = number(p, "mediaTypeId")?;
        let attributes = Attributes::read(p)?;
        let mut t = self.tenant();
        let clash = name.is_some_and(|n| t.queues.values().any(|q| q.name == n && i64::from(q.id) != id));
        if clash {
            return Err("the skill name already exists".into());
        }
        let queue = u32::try_from(id)
            .ok()
            .and_then(|id| t.queues.get_mut(&id))
            .ok_or_else(|| format!("the skill queue {id} does not exist"))?;
        if media.is_some_and(|m| m != i64::from(queue.media_type_id)) {
            return Err("mediaTypeId cannot be modified".into());
        }
        if let Some(n) = name {
            queue.name = n.to_string();
        }
        attributes.apply(queue);
        Ok(json!({"returnCode": "0", "description": "modify skill success"}))
    }

    /// `skill/deleteSkill`: `skillIds` separated by commas, semicolons or hyphens, at most 10. Nothing
    /// is deleted unless every id exists and has no agent bound.
    pub(super) fn delete_skill(&self, p: &Map<String, Value>) -> Result<Value, String> {
        let ids = text(p, "skillIds")?.ok_or("skillIds is required")?;
        let ids: Vec<&str> = ids.split([',', ';', '-']).filter(|s| !s.is_empty()).collect();
        if ids.is_empty() || ids.len() > MAX_DELETE_IDS {
            return Err(format!("skillIds must name 1 to {MAX_DELETE_IDS} skill queues"));
        }
        let mut t = self.tenant();
        let mut found = Vec::with_capacity(ids.len());
        for raw in ids {
            let id = raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|id| t.queues.contains_key(id))
                .ok_or_else(|| format!("the skill queue {raw} does not exist"))?;
            if t.agents
                .values()
                .any(|a| a.skills.iter().any(|b| b.skill_id == id))
            {
                return Err(format!("the skill queue {id} is in use by agents"));
            }
            found.push(id);
        }
        for id in found {
            t.queues.remove(&id);
        }
        Ok(json!({"returnCode": "0", "description": "delete skill success"}))
    }

    /// `skill/querySkills`: filtered by `name`, `mediaTypeId` and `skillIds`, paged by `limit` (at
    /// most 100, strings in the documented table) and `offset`.
    pub(super) fn query_skills(&self, p: &Map<String, Value>) -> Result<Value, String> {
        let limit = number(p, "limit")?.unwrap_or(MAX_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(format!("limit must be 1 to {MAX_PAGE_SIZE}"));
        }
        let offset = number(p, "offset")?.unwrap_or(0);
        if offset < 0 {
            return Err("offset must not be negative".into());
        }
        let media = number(p, "mediaTypeId")?;
        let name = text(p, "name")?;
        if name.is_some_and(|n| n.chars().count() > 20) {
            return Err("name must be at most 20 characters".into());
        }
        let ids: Option<Vec<String>> = match p.get("skillIds") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string).ok_or("skillIds must be strings"))
                    .collect::<Result<_, _>>()?,
            ),
            Some(_) => return Err("skillIds must be an array of strings".into()),
        };
        let t = self.tenant();
        let matching: Vec<&SkillQueue> = t
            .queues
            .values()
            .filter(|s| media.is_none_or(|m| i64::from(s.media_type_id) == m))
            .filter(|s| name.is_none_or(|n| s.name == n))
            .filter(|s| ids.as_ref().is_none_or(|ids| ids.contains(&s.id.to_string())))
            .collect();
        let data: Vec<Value> = matching
            .iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|q| to_json(q))
            .collect();
        Ok(json!({"returnCode": "0", "description": "success", "total": matching.len(), "data": data}))
    }

    /// Whether a skill queue of this id exists.
    pub(super) fn skill_exists(&self, id: i64) -> bool {
        u32::try_from(id).is_ok_and(|id| self.tenant().queues.contains_key(&id))
    }

    /// Skill queues held, duplicates (see [`Sim::duplicate_creates`]) included.
    pub fn skill_queue_count(&self) -> usize {
        self.tenant().queues.len() + crate::sim::skill_duplicates(&self.core)
    }

    /// Every skill queue, by id.
    pub fn skill_queues(&self) -> Vec<SkillQueue> {
        self.tenant().queues.values().cloned().collect()
    }

    /// The skill queue of this name.
    pub fn skill_queue(&self, name: &str) -> Option<SkillQueue> {
        self.tenant().queues.values().find(|q| q.name == name).cloned()
    }

    /// Creates a queue directly, as in the vendor console (seeding for tests and the demo): a voice
    /// queue without limits. Returns its id, or `None` when the name is taken.
    pub fn seed_skill_queue(&self, name: &str) -> Option<u32> {
        let mut t = self.tenant();
        if t.queues.values().any(|q| q.name == name) {
            return None;
        }
        let id = t.take_skill_id();
        let queue = SkillQueue {
            id,
            name: name.to_string(),
            ..SkillQueue::default()
        };
        t.queues.insert(id, queue);
        Some(id)
    }

    /// Edits a queue in place, as someone in the console would (drift). False when there is none.
    pub fn edit_skill_queue(&self, name: &str, f: impl FnOnce(&mut SkillQueue)) -> bool {
        let mut t = self.tenant();
        match t.queues.values_mut().find(|q| q.name == name) {
            Some(q) => {
                f(q);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, Sim};
    use serde_json::{Value, json};

    fn sim() -> std::sync::Arc<Sim> {
        Sim::new(
            Config {
                requests_per_second: 0,
                ..Config::default()
            },
            3,
            1.0,
        )
    }

    fn params(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn created_queues_are_listed_bindable_modified_and_deleted() {
        let sim = sim();
        let created = sim
            .create_skill(&params(
                json!({"name": "vip", "mediaTypeId": 5, "maxWaitNum": 30}),
            ))
            .unwrap();
        let id = created["skillId"].as_i64().unwrap();
        assert!(sim.skill_exists(id), "agents can bind to it");
        let listed = sim.query_skills(&params(json!({"name": "vip"}))).unwrap();
        assert_eq!(listed["data"][0]["maxWaitNum"], 30);
        sim.modify_skill(&params(
            json!({"skillId": id, "maxWaitNum": "40", "description": "VIP"}),
        ))
        .unwrap();
        let q = sim.skill_queue("vip").unwrap();
        assert_eq!((q.max_wait_num, q.description.as_str()), (Some(40), "VIP"));
        assert!(
            sim.modify_skill(&params(json!({"skillId": id, "mediaTypeId": 53})))
                .is_err()
        );
        sim.delete_skill(&params(json!({"skillIds": id.to_string()})))
            .unwrap();
        assert!(!sim.skill_exists(id));
        assert!(
            sim.delete_skill(&params(json!({"skillIds": id.to_string()})))
                .is_err()
        );
    }

    #[test]
    fn documented_limits_and_duplicate_names_are_refused() {
        let sim = sim();
        for bad in [
            json!({"name": "a-name-longer-than-20c", "mediaTypeId": 5}),
            json!({"name": "a(b)", "mediaTypeId": 5}),
            json!({"name": "ok", "mediaTypeId": 7}),
            json!({"name": "ok", "mediaTypeId": 5, "maxWaitTime": 60001}),
            json!({"name": "ok", "mediaTypeId": 5, "maxWaitNum": 10001}),
            json!({"name": "ok", "mediaTypeId": 5, "maxAgentWrapupTime": 3601}),
            json!({"name": "ok", "mediaTypeId": 5, "description": "x".repeat(51)}),
        ] {
            assert!(sim.create_skill(&params(bad.clone())).is_err(), "{bad}");
        }
        let e = sim
            .create_skill(&params(json!({"name": "billing", "mediaTypeId": 5})))
            .unwrap_err();
        assert!(e.contains("already exists"), "{e}");
        assert_eq!(
            sim.creates_of("skill/billing"),
            0,
            "a refused create is not counted"
        );
    }
}
