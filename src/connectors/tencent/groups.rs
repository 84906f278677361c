//! Skill groups as the operator manages them: `DescribeSkillGroupInfoList` (the same listing the agent
//! side reads for its name ↔ id table), `CreateCCCSkillGroup`, `UpdateCCCSkillGroup` and
//! `DeleteCCCSkillGroup`, each through the client's per-action rate budget of its application.

use super::auth::{Api, Class};
use super::model::{GROUP_MAX_CONCURRENCY, GROUP_RING_ALL, GROUP_TYPE};
use super::wire::*;
use crate::connectors::{Created, Deletion, ErrorKind, GroupPage, VendorError};
use crate::core::{DesiredGroup, GroupChange, GroupSupport, ObservedGroup};

/// Tencent documents the whole skill-group lifecycle, listed 100 a page.
pub const SUPPORT: GroupSupport = GroupSupport {
    list_page_size: Some(MAX_SKILL_GROUP_PAGE),
    update: true,
    delete: true,
};

/// One page (0-based) of `DescribeSkillGroupInfoList` at the largest page size, 100.
pub async fn describe_page(api: &Api, page: u32) -> Result<DescribeSkillGroupsResponse, VendorError> {
    let request = DescribeSkillGroupsRequest {
        sdk_app_id: api.sdk_app_id(),
        page_size: i64::from(MAX_SKILL_GROUP_PAGE),
        page_number: i64::from(page),
        ..DescribeSkillGroupsRequest::default()
    };
    let (response, _) = api
        .call::<_, DescribeSkillGroupsResponse>(DESCRIBE_SKILL_GROUPS, Class::Read, &request)
        .await?;
    Ok(response)
}

/// A listed group in the model: its id, name and the attributes the operator manages.
pub fn observed(item: &SkillGroupInfoItem) -> ObservedGroup {
    let mut attributes = crate::core::GroupAttributes::new();
    if let Some(kind) = item.skill_group_type {
        attributes.insert(GROUP_TYPE.into(), kind.to_string());
    }
    if let Some(n) = item.max_concurrency {
        attributes.insert(GROUP_MAX_CONCURRENCY.into(), n.to_string());
    }
    if let Some(ring_all) = item.ring_all {
        attributes.insert(GROUP_RING_ALL.into(), ring_all.to_string());
    }
    ObservedGroup {
        id: item.skill_group_id.to_string(),
        name: item.skill_group_name.clone(),
        attributes,
    }
}

/// One page of groups in the model.
pub async fn list_page(api: &Api, page: u32) -> Result<GroupPage, VendorError> {
    let response = describe_page(api, page).await?;
    Ok(GroupPage {
        groups: response.skill_group_list.iter().map(observed).collect(),
        total: u64::try_from(response.total_count).unwrap_or(0),
    })
}

fn number<T: std::str::FromStr>(group: &DesiredGroup, attribute: &str) -> Result<Option<T>, VendorError> {
    group
        .attributes
        .get(attribute)
        .map(|v| {
            v.parse().map_err(|_| {
                VendorError::new(ErrorKind::Rejected, format!("{attribute}: {v:?} is not a number"))
            })
        })
        .transpose()
}

/// `CreateCCCSkillGroup` with the name, type and concurrency, then, when the group should ring all
/// its agents, one `UpdateCCCSkillGroup` with `RingAll` (not a create parameter), so the group
/// matches its whole spec once this returns.
pub async fn create(api: &Api, group: &DesiredGroup) -> Result<Created, VendorError> {
    let kind = number::<i64>(group, GROUP_TYPE)?.ok_or_else(|| {
        VendorError::new(
            ErrorKind::Rejected,
            "tencent.type: a Tencent skill group needs its type to be created",
        )
    })?;
    let request = CreateSkillGroupRequest {
        sdk_app_id: api.sdk_app_id(),
        skill_group_name: group.name.clone(),
        skill_group_type: kind,
        max_concurrency: number(group, GROUP_MAX_CONCURRENCY)?,
    };
    let (response, _) = api
        .call::<_, CreateSkillGroupResponse>(CREATE_SKILL_GROUP, Class::Write, &request)
        .await?;
    if group.attributes.get(GROUP_RING_ALL).map(String::as_str) == Some("true") {
        let ring_all = UpdateSkillGroupRequest {
            sdk_app_id: api.sdk_app_id(),
            skill_group_id: response.skill_group_id,
            ring_all: Some(true),
            ..UpdateSkillGroupRequest::default()
        };
        api.call::<_, Empty>(UPDATE_SKILL_GROUP, Class::Write, &ring_all)
            .await?;
    }
    Ok(Created {
        external_id: response.skill_group_id.to_string(),
    })
}

/// One `UpdateCCCSkillGroup` carrying exactly the changed attributes. The type cannot change (the
/// plan refuses it before any call).
pub async fn update(api: &Api, observed: &ObservedGroup, changes: &[GroupChange]) -> Result<(), VendorError> {
    let mut request = UpdateSkillGroupRequest {
        sdk_app_id: api.sdk_app_id(),
        skill_group_id: group_id(&observed.id)?,
        ..UpdateSkillGroupRequest::default()
    };
    for change in changes {
        let invalid = || {
            VendorError::new(
                ErrorKind::Rejected,
                format!("{}: {:?} cannot be sent to Tencent", change.attribute, change.to),
            )
        };
        match change.attribute.as_str() {
            GROUP_MAX_CONCURRENCY => {
                request.max_concurrency = Some(change.to.parse().map_err(|_| invalid())?)
            }
            GROUP_RING_ALL => request.ring_all = Some(change.to.parse().map_err(|_| invalid())?),
            _ => {
                return Err(VendorError::new(
                    ErrorKind::Rejected,
                    format!("{}: Tencent has no call to change it", change.attribute),
                ));
            }
        }
    }
    api.call::<_, Empty>(UPDATE_SKILL_GROUP, Class::Write, &request)
        .await
        .map(drop)
}

/// `DeleteCCCSkillGroup`. Tencent answers a group that does not exist with the generic
/// `InvalidParameterValue`; that answer is checked with one read of the id, so a group already gone
/// is told apart from a refused request.
pub async fn delete(api: &Api, id: &str) -> Result<Deletion, VendorError> {
    let skill_group_id = group_id(id)?;
    let request = DeleteSkillGroupRequest {
        sdk_app_id: api.sdk_app_id(),
        skill_group_id,
    };
    match api
        .call::<_, Empty>(DELETE_SKILL_GROUP, Class::Write, &request)
        .await
    {
        Ok(_) => Ok(Deletion::Deleted),
        Err(e) if e.code.as_deref() == Some("InvalidParameterValue") => {
            let lookup = DescribeSkillGroupsRequest {
                sdk_app_id: api.sdk_app_id(),
                page_size: 1,
                page_number: 0,
                skill_group_id: Some(skill_group_id),
                ..DescribeSkillGroupsRequest::default()
            };
            let (found, _) = api
                .call::<_, DescribeSkillGroupsResponse>(DESCRIBE_SKILL_GROUPS, Class::Read, &lookup)
                .await?;
            let exists = found
                .skill_group_list
                .iter()
                .any(|g| g.skill_group_id == skill_group_id);
            if exists { Err(e) } else { Ok(Deletion::AlreadyGone) }
        }
        Err(e) => Err(e),
    }
}

fn group_id(id: &str) -> Result<i64, VendorError> {
    id.parse().map_err(|_| {
        VendorError::new(
            ErrorKind::Rejected,
            format!("{id:?} is not a Tencent skill group id (SkillGroupId is a number)"),
        )
    })
}
