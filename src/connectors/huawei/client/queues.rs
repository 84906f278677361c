//! Huawei skill queues, the operator's skill groups at Huawei: `skill/querySkills` (pages of at most
//! 100 by `limit`/`offset`), `skill/createSkill`, `skill/modifySkill` and `skill/deleteSkill`, through
//! the same call pipeline (tenant budget, token, retries, `returnCode` "0" = success) as agents.
//!
//! The documented limits are checked before any request: name 1–20 characters without
//! `" [ ] ' & ( ) = ; < > ,`, description at most 50, `maxWaitTime` at most 60000 s, `maxWaitNum` at
//! most 10000, `maxAgentWrapupTime` at most 3600 s. A refusal is terminal and costs nothing.
//!
//! ASSUMPTIONS where the pages are silent: the request fields carry the documented create names,
//! flat; `modifySkill` selects the queue by `skillId` and changes only the fields sent; the query's
//! result list is `data` with those names and `skillId`; create may answer the new `skillId` (else
//! the queue is read back by name). Failure messages are unpublished, so a refused create is checked
//! by name (a queue of that name is `AlreadyExists`) and a refused delete by id (no queue is
//! `AlreadyGone`).

use serde::{Deserialize, Serialize};

use super::{Client, is_body_failure};
use crate::connectors::huawei::errors::{BodyResult, skill_failure, unreadable};
use crate::connectors::huawei::queue_model as attr;
use crate::connectors::huawei::validate;
use crate::connectors::huawei::wire::{Action, flex_string, flex_u64, flex_u64_required};
use crate::connectors::{Created, Deletion, ErrorKind, GroupPage, VendorError};
use crate::core::{DesiredGroup, GroupChange, ObservedGroup};

pub use crate::connectors::huawei::queue_model::{QUEUE_PAGE, SUPPORT};

/// Characters a queue name must not contain.
const NAME_FORBIDDEN: &[char] = &['"', '[', ']', '\'', '&', '(', ')', '=', ';', '<', '>', ','];

/// `skill/createSkill` and `skill/modifySkill`: only the fields that are set.
#[derive(Serialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
struct QueueBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    skill_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_type_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_wait_time: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_wait_num: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_agent_wrapup_time: Option<u32>,
}

impl<'a> QueueBody<'a> {
    /// Sets one attribute from its spec path; the value was checked by [`check_attribute`].
    fn set(&mut self, attribute: &str, value: &'a str) {
        let number = || value.parse().ok();
        match attribute {
            attr::MEDIA_TYPE => self.media_type_id = number(),
            attr::DESCRIPTION => self.description = Some(value),
            attr::MAX_WAIT_TIME => self.max_wait_time = number(),
            attr::MAX_WAIT_NUM => self.max_wait_num = number(),
            attr::MAX_WRAPUP_TIME => self.max_agent_wrapup_time = number(),
            _ => {}
        }
    }
}

/// `skill/querySkills`: `limit` and `offset` are strings in the documented table.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct QueryQueues<'a> {
    limit: String,
    offset: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skill_ids: Option<Vec<String>>,
}

/// `skill/deleteSkill`: ids as one separated string.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct DeleteQueues<'a> {
    skill_ids: &'a str,
}

/// Every `skill/*` answer: `returnCode`, `description`, and what the call returns.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
struct QueueResult {
    #[serde(default, deserialize_with = "flex_string")]
    return_code: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    data: Option<Vec<QueueInfo>>,
    #[serde(default, deserialize_with = "flex_u64")]
    total: Option<u64>,
    #[serde(default, deserialize_with = "flex_u64")]
    skill_id: Option<u64>,
}

impl BodyResult for QueueResult {
    fn failure(&self) -> Option<VendorError> {
        skill_failure(self.return_code.as_deref(), self.description.as_deref())
    }
}

/// One queue as `skill/querySkills` lists it.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct QueueInfo {
    #[serde(alias = "id", deserialize_with = "flex_u64_required")]
    skill_id: u64,
    #[serde(alias = "skillName")]
    name: String,
    #[serde(default, deserialize_with = "flex_u64")]
    media_type_id: Option<u64>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, deserialize_with = "flex_u64")]
    max_wait_time: Option<u64>,
    #[serde(default, deserialize_with = "flex_u64")]
    max_wait_num: Option<u64>,
    #[serde(default, deserialize_with = "flex_u64")]
    max_agent_wrapup_time: Option<u64>,
}

/// A listed queue in the group model: attributes by spec path, numbers as decimal text.
fn observe(q: QueueInfo) -> ObservedGroup {
    let mut attributes = crate::core::GroupAttributes::new();
    let mut put = |attribute: &str, value: Option<String>| {
        if let Some(v) = value {
            attributes.insert(attribute.to_string(), v);
        }
    };
    put(attr::MEDIA_TYPE, q.media_type_id.map(|v| v.to_string()));
    put(attr::DESCRIPTION, q.description);
    put(attr::MAX_WAIT_TIME, q.max_wait_time.map(|v| v.to_string()));
    put(attr::MAX_WAIT_NUM, q.max_wait_num.map(|v| v.to_string()));
    put(
        attr::MAX_WRAPUP_TIME,
        q.max_agent_wrapup_time.map(|v| v.to_string()),
    );
    ObservedGroup {
        id: q.skill_id.to_string(),
        name: q.name,
        attributes,
    }
}

/// The documented name rule.
fn check_name(name: &str) -> Result<(), VendorError> {
    let len = name.chars().count();
    if !(1..=20).contains(&len) {
        return Err(validate::invalid(
            "spec.name",
            format!("must be 1 to 20 characters for a Huawei skill queue (is {len})"),
        ));
    }
    if name.contains(NAME_FORBIDDEN) {
        return Err(validate::invalid(
            "spec.name",
            "must not contain any of \" [ ] ' & ( ) = ; < > , for a Huawei skill queue",
        ));
    }
    Ok(())
}

/// One attribute's documented rule.
fn check_attribute(attribute: &str, value: &str) -> Result<(), VendorError> {
    let path = format!("spec.{attribute}");
    let within = |max: u32| match value.parse::<u32>() {
        Ok(v) if v <= max => Ok(()),
        _ => Err(validate::invalid(
            &path,
            format!("must be a number from 0 to {max}"),
        )),
    };
    match attribute {
        attr::MEDIA_TYPE if ["5", "53", "19", "2", "18"].contains(&value) => Ok(()),
        attr::MEDIA_TYPE => Err(validate::invalid(&path, "is not a documented media type")),
        attr::DESCRIPTION if value.chars().count() <= 50 => Ok(()),
        attr::DESCRIPTION => Err(validate::invalid(&path, "must be at most 50 characters")),
        attr::MAX_WAIT_TIME => within(60_000),
        attr::MAX_WAIT_NUM => within(10_000),
        attr::MAX_WRAPUP_TIME => within(3_600),
        _ => Err(validate::invalid(&path, "is not a Huawei skill queue attribute")),
    }
}

/// A queue id as Huawei takes it.
fn queue_id(id: &str) -> Result<u64, VendorError> {
    id.parse()
        .map_err(|_| validate::invalid("status.externalId", format!("{id:?} is not a Huawei skill id")))
}

impl Client {
    /// One page (0-based) of the tenant's queues.
    pub(super) async fn list_queues(&self, page: u32) -> Result<GroupPage, VendorError> {
        let offset = u64::from(page) * u64::from(QUEUE_PAGE);
        let query = QueryQueues {
            limit: QUEUE_PAGE.to_string(),
            offset: offset.to_string(),
            name: None,
            skill_ids: None,
        };
        let r: QueueResult = self.call(Action::QuerySkills, &query).await?;
        let groups: Vec<ObservedGroup> = r.data.unwrap_or_default().into_iter().map(observe).collect();
        let total = r.total.unwrap_or(offset + groups.len() as u64);
        Ok(GroupPage { groups, total })
    }

    /// The queue of this exact name, if any.
    async fn find_queue(&self, name: &str) -> Result<Option<ObservedGroup>, VendorError> {
        let query = QueryQueues {
            limit: QUEUE_PAGE.to_string(),
            offset: "0".into(),
            name: Some(name),
            skill_ids: None,
        };
        let r: QueueResult = self.call(Action::QuerySkills, &query).await?;
        Ok(r.data
            .unwrap_or_default()
            .into_iter()
            .find(|q| q.name == name)
            .map(observe))
    }

    /// `skill/createSkill` with every managed attribute. A refused create of a name that exists is
    /// `AlreadyExists`.
    pub(super) async fn create_queue(&self, group: &DesiredGroup) -> Result<Created, VendorError> {
        check_name(&group.name)?;
        let mut body = QueueBody {
            name: Some(&group.name),
            ..QueueBody::default()
        };
        for (attribute, value) in &group.attributes {
            check_attribute(attribute, value)?;
            body.set(attribute, value);
        }
        if body.media_type_id.is_none() {
            return Err(validate::invalid(
                "spec.huawei.mediaType",
                "is required at create",
            ));
        }
        let created = match self.call::<QueueResult>(Action::CreateSkill, &body).await {
            Ok(r) => r.skill_id,
            Err(e) if is_body_failure(&e) => return Err(self.refused_create(&group.name, e).await),
            Err(e) => return Err(e),
        };
        let external_id = match created {
            Some(id) => id.to_string(),
            None => self
                .find_queue(&group.name)
                .await?
                .map(|q| q.id)
                .ok_or_else(|| unreadable("skill/createSkill (the new queue is not listed)"))?,
        };
        tracing::info!(skill = %group.name, skill_id = %external_id, "created Huawei skill queue");
        Ok(Created { external_id })
    }

    /// A refused create: `AlreadyExists` when a queue of the name is there, else the refusal.
    async fn refused_create(&self, name: &str, refused: VendorError) -> VendorError {
        match self.find_queue(name).await {
            Ok(Some(_)) => VendorError {
                kind: ErrorKind::AlreadyExists,
                retryable: false,
                ..refused
            },
            Ok(None) if refused.kind == ErrorKind::AlreadyExists => VendorError {
                kind: ErrorKind::Rejected,
                ..refused
            },
            Ok(None) | Err(_) => refused,
        }
    }

    /// `skill/modifySkill` with exactly the changed attributes. The media type is set at create only.
    pub(super) async fn modify_queue(
        &self,
        observed: &ObservedGroup,
        changes: &[GroupChange],
    ) -> Result<(), VendorError> {
        let mut body = QueueBody {
            skill_id: Some(queue_id(&observed.id)?),
            ..QueueBody::default()
        };
        for change in changes {
            if attr::CREATE_ONLY.contains(&change.attribute.as_str()) {
                return Err(validate::invalid(
                    &format!("spec.{}", change.attribute),
                    "is set at create only: Huawei cannot change a skill queue's media type",
                ));
            }
            check_attribute(&change.attribute, &change.to)?;
            body.set(&change.attribute, &change.to);
        }
        self.call::<QueueResult>(Action::ModifySkill, &body).await?;
        tracing::info!(skill_id = %observed.id, "changed Huawei skill queue");
        Ok(())
    }

    /// `skill/deleteSkill` of one queue; a refused delete of a queue that is gone is `AlreadyGone`.
    pub(super) async fn delete_queue(&self, id: &str) -> Result<Deletion, VendorError> {
        queue_id(id)?;
        match self
            .call::<QueueResult>(Action::DeleteSkill, &DeleteQueues { skill_ids: id })
            .await
        {
            Ok(_) => Ok(Deletion::Deleted),
            Err(e) if is_body_failure(&e) => {
                let query = QueryQueues {
                    limit: "1".into(),
                    offset: "0".into(),
                    name: None,
                    skill_ids: Some(vec![id.to_string()]),
                };
                let r: QueueResult = self.call(Action::QuerySkills, &query).await?;
                let exists = r
                    .data
                    .unwrap_or_default()
                    .iter()
                    .any(|q| q.skill_id.to_string() == id);
                if exists {
                    Err(VendorError {
                        kind: ErrorKind::Rejected,
                        retryable: false,
                        ..e
                    })
                } else {
                    Ok(Deletion::AlreadyGone)
                }
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_limits_are_checked_before_sending() {
        assert!(check_name("vip-queue").is_ok());
        assert!(check_name("a-name-longer-than-20").is_err());
        assert!(check_name("vip(1)").is_err());
        assert!(check_name("").is_err());
        for (attribute, good, bad) in [
            (attr::MEDIA_TYPE, "53", "7"),
            (attr::MAX_WAIT_TIME, "60000", "60001"),
            (attr::MAX_WAIT_NUM, "10000", "10001"),
            (attr::MAX_WRAPUP_TIME, "3600", "3601"),
        ] {
            assert!(check_attribute(attribute, good).is_ok(), "{attribute}={good}");
            let e = check_attribute(attribute, bad).unwrap_err();
            assert!(e.is_terminal() && e.kind == ErrorKind::Rejected, "{e:?}");
            assert!(e.message.contains(attribute), "{e}");
        }
        assert!(check_attribute(attr::DESCRIPTION, &"x".repeat(51)).is_err());
    }

    #[test]
    fn listed_queues_read_into_spec_paths() {
        let q: QueueInfo = serde_json::from_value(serde_json::json!({
            "skillId": "12", "name": "vip", "mediaTypeId": 5, "maxWaitNum": "30", "description": "VIP"
        }))
        .unwrap();
        let o = observe(q);
        assert_eq!((o.id.as_str(), o.name.as_str()), ("12", "vip"));
        assert_eq!(o.attributes[attr::MEDIA_TYPE], "5");
        assert_eq!(o.attributes[attr::MAX_WAIT_NUM], "30");
        assert!(!o.attributes.contains_key(attr::MAX_WAIT_TIME));
    }

    #[test]
    fn a_modify_sends_only_the_changed_attributes() {
        let mut body = QueueBody {
            skill_id: Some(3),
            ..QueueBody::default()
        };
        body.set(attr::MAX_WAIT_NUM, "40");
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"skillId": 3, "maxWaitNum": 40})
        );
    }
}
