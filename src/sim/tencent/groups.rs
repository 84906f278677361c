//! One application's skill groups: `CreateCCCSkillGroup`, `UpdateCCCSkillGroup` and
//! `DeleteCCCSkillGroup` with the documented rules (types 0/1/3/4, `MaxConcurrency` 1 unless the group
//! is online, at most 2 when ringing all, names unique), and their documented errors.
//!
//! Accepted creates are counted per group name in the simulator's create ledger (as agent creates are
//! per e-mail), so a test can see that a group was never created twice; the `create_race_ms` fault
//! lets a second create of a held name through, as a vendor without an atomic check would.

use super::ApiError;
use super::staff::{App, SkillGroup};
use crate::connectors::tencent::wire::*;
use crate::sim::SimCore;

/// The documented `SkillGroupType` codes.
const TYPES: [i64; 4] = [0, 1, 3, 4];
/// The online type, the only one that may serve more than one session at once.
const ONLINE: i64 = 1;
/// The highest `MaxConcurrency` of a ring-all group.
const RING_ALL_MAX: i64 = 2;

/// The create ledger's key of a group name (apart from the agents' e-mails).
pub fn ledger_key(name: &str) -> String {
    format!("skill-group:{name}")
}

fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::new("InvalidParameterValue", format!("{field}: {why}"))
}

fn exists(name: &str) -> ApiError {
    ApiError::new(
        "InvalidParameterValue.SkillGroupExist",
        format!("a skill group named {name:?} already exists"),
    )
}

fn check_concurrency(kind: i64, concurrency: i64, ring_all: bool) -> Result<(), ApiError> {
    if concurrency < 1 {
        return Err(invalid("MaxConcurrency", "must be at least 1"));
    }
    if kind != ONLINE && concurrency != 1 {
        return Err(invalid(
            "MaxConcurrency",
            "must be 1 for phone, audio and video skill groups",
        ));
    }
    if ring_all && concurrency > RING_ALL_MAX {
        return Err(invalid(
            "MaxConcurrency",
            "must be at most 2 for a ring-all skill group",
        ));
    }
    Ok(())
}

/// The skill groups of one application.
#[derive(Debug, Default)]
pub struct Groups {
    list: Vec<SkillGroup>,
}

impl Groups {
    /// The configured groups, stamped as modified at `now`.
    pub fn seeded(groups: &[SkillGroup], now: i64) -> Self {
        let list = groups
            .iter()
            .cloned()
            .map(|mut g| {
                if g.last_modify_timestamp == 0 {
                    g.last_modify_timestamp = now;
                }
                g
            })
            .collect();
        Groups { list }
    }

    /// Every group, in id order.
    pub fn all(&self) -> &[SkillGroup] {
        &self.list
    }

    /// The group with this name.
    pub fn named(&self, name: &str) -> Option<&SkillGroup> {
        self.list.iter().find(|g| g.name == name)
    }

    /// The group with this id, to edit.
    pub fn get_mut(&mut self, id: i64) -> Option<&mut SkillGroup> {
        self.list.iter_mut().find(|g| g.id == id)
    }

    fn next_id(&self) -> i64 {
        self.list.iter().map(|g| g.id).max().unwrap_or(100) + 1
    }

    /// A phone group made in the console, stamped as modified at `now`: its id, or `None` when the
    /// name is taken.
    pub fn insert(&mut self, name: &str, now: i64) -> Option<i64> {
        if self.named(name).is_some() {
            return None;
        }
        let id = self.next_id();
        let mut group = SkillGroup::phone(id, name);
        group.last_modify_timestamp = now;
        self.list.push(group);
        Some(id)
    }

    /// `CreateCCCSkillGroup`.
    pub fn create(
        &mut self,
        core: &SimCore,
        now: i64,
        req: &CreateSkillGroupRequest,
    ) -> Result<CreateSkillGroupResponse, ApiError> {
        let name = req.skill_group_name.trim();
        if name.is_empty() {
            return Err(invalid("SkillGroupName", "must not be empty"));
        }
        if !TYPES.contains(&req.skill_group_type) {
            return Err(invalid(
                "SkillGroupType",
                "must be 0 (phone), 1 (online), 3 (audio) or 4 (video)",
            ));
        }
        let concurrency = match req.max_concurrency {
            None => 1,
            Some(n) => i64::try_from(n).map_err(|_| invalid("MaxConcurrency", "is too large"))?,
        };
        check_concurrency(req.skill_group_type, concurrency, false)?;
        let key = ledger_key(&req.skill_group_name);
        let held = self.named(&req.skill_group_name).is_some();
        if !core.accept_create(&key, held) {
            return Err(exists(&req.skill_group_name));
        }
        let id = self.next_id();
        self.list.push(SkillGroup {
            id,
            name: req.skill_group_name.clone(),
            skill_group_type: req.skill_group_type,
            max_concurrency: concurrency,
            ring_all: false,
            last_modify_timestamp: now,
        });
        Ok(CreateSkillGroupResponse { skill_group_id: id })
    }

    /// `UpdateCCCSkillGroup`: the name, `MaxConcurrency` and `RingAll` it carries.
    pub fn update(&mut self, now: i64, req: &UpdateSkillGroupRequest) -> Result<(), ApiError> {
        if let Some(name) = &req.skill_group_name {
            if name.trim().is_empty() {
                return Err(invalid("SkillGroupName", "must not be empty"));
            }
            if self
                .list
                .iter()
                .any(|g| &g.name == name && g.id != req.skill_group_id)
            {
                return Err(exists(name));
            }
        }
        let group = self.get_mut(req.skill_group_id).ok_or_else(|| {
            invalid(
                "SkillGroupID",
                format!("skill group {} does not exist", req.skill_group_id),
            )
        })?;
        let concurrency = match req.max_concurrency {
            None => group.max_concurrency,
            Some(n) => i64::try_from(n).map_err(|_| invalid("MaxConcurrency", "is too large"))?,
        };
        let ring_all = req.ring_all.unwrap_or(group.ring_all);
        check_concurrency(group.skill_group_type, concurrency, ring_all)?;
        if let Some(name) = &req.skill_group_name {
            group.name = name.clone();
        }
        group.max_concurrency = concurrency;
        group.ring_all = ring_all;
        group.last_modify_timestamp = now;
        Ok(())
    }

    /// `DeleteCCCSkillGroup`: the group goes, and its agents leave it.
    pub fn delete(&mut self, app: &mut App, now: i64, req: &DeleteSkillGroupRequest) -> Result<(), ApiError> {
        let before = self.list.len();
        self.list.retain(|g| g.id != req.skill_group_id);
        if self.list.len() == before {
            return Err(invalid(
                "SkillGroupId",
                format!("skill group {} does not exist", req.skill_group_id),
            ));
        }
        app.forget_group(req.skill_group_id, now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(name: &str, kind: i64, concurrency: Option<u64>) -> CreateSkillGroupRequest {
        CreateSkillGroupRequest {
            sdk_app_id: 1,
            skill_group_name: name.into(),
            skill_group_type: kind,
            max_concurrency: concurrency,
        }
    }

    #[test]
    fn creates_follow_the_documented_rules_and_a_held_name_is_skill_group_exist() {
        let core = SimCore::new(1, 1.0);
        let mut groups = Groups::seeded(&[SkillGroup::phone(101, "billing")], 5);
        let made = groups.create(&core, 9, &create("vip", 1, Some(3))).unwrap();
        assert_eq!(made.skill_group_id, 102);
        assert_eq!(groups.named("vip").unwrap().max_concurrency, 3);
        let again = groups.create(&core, 9, &create("vip", 1, None)).unwrap_err();
        assert_eq!(again.code, "InvalidParameterValue.SkillGroupExist");
        assert_eq!(core.creates_of(&ledger_key("vip")), 1);
        for (request, why) in [
            (create("p", 0, Some(2)), "must be 1"),
            (create("p", 2, None), "SkillGroupType"),
            (create(" ", 0, None), "SkillGroupName"),
        ] {
            let e = groups.create(&core, 9, &request).unwrap_err();
            assert_eq!(e.code, "InvalidParameterValue");
            assert!(e.message.contains(why), "{e:?}");
        }
    }

    #[test]
    fn updates_change_what_they_carry_and_deletes_unbind_the_agents() {
        let core = SimCore::new(1, 1.0);
        let mut groups = Groups::default();
        let id = groups
            .create(&core, 1, &create("chat", 1, Some(3)))
            .unwrap()
            .skill_group_id;
        let ring_all = UpdateSkillGroupRequest {
            sdk_app_id: 1,
            skill_group_id: id,
            ring_all: Some(true),
            ..UpdateSkillGroupRequest::default()
        };
        let e = groups.update(2, &ring_all).unwrap_err();
        assert!(e.message.contains("at most 2"), "{e:?}");
        let fixed = UpdateSkillGroupRequest {
            max_concurrency: Some(2),
            ..ring_all.clone()
        };
        groups.update(3, &fixed).unwrap();
        let g = groups.named("chat").unwrap();
        assert_eq!(
            (g.max_concurrency, g.ring_all, g.last_modify_timestamp),
            (2, true, 3)
        );
        let mut app = App::default();
        let delete = DeleteSkillGroupRequest {
            sdk_app_id: 1,
            skill_group_id: id,
        };
        groups.delete(&mut app, 4, &delete).unwrap();
        assert!(groups.named("chat").is_none());
        let gone = groups.delete(&mut app, 5, &delete).unwrap_err();
        assert_eq!(gone.code, "InvalidParameterValue");
    }
}
