//! The fake's skill groups, kept like Huawei's skill queues: listed in pages, changed and deleted by
//! id, the vendor assigning ids from 1; names of 1 to 20 characters are checked before any request.
//! The fake's [`Flaw`]s apply to groups as to accounts, plus [`Flaw::SendsInvalidGroups`].

use super::{FakeVendor, Flaw, PAGE_SIZE, lock};
use crate::connectors::{Created, Deletion, ErrorKind, GroupPage, VendorError};
use crate::core::{DesiredGroup, GroupChange, GroupSupport, ObservedGroup};

/// Everything Huawei's skill queues allow, in the fake's small pages.
pub const SUPPORT: GroupSupport = GroupSupport {
    list_page_size: Some(PAGE_SIZE),
    update: true,
    delete: true,
};

/// The fake's group-name rule (Huawei's length limit).
fn check_name(name: &str) -> Result<(), VendorError> {
    let len = name.chars().count();
    if (1..=20).contains(&len) {
        Ok(())
    } else {
        Err(VendorError::new(
            ErrorKind::Rejected,
            format!("spec.name: must be 1 to 20 characters (is {len})"),
        )
        .with_code("InvalidSpec"))
    }
}

impl FakeVendor {
    /// Puts a group in place as if made in the vendor's console; returns its id.
    pub fn insert_group(&self, name: &str, attributes: &[(&str, &str)]) -> String {
        let mut groups = lock(&self.state.groups);
        let id = (groups.len() + 1 + *lock(&self.state.duplicate_groups)).to_string();
        let group = ObservedGroup {
            id: id.clone(),
            name: name.to_string(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        groups.insert(name.to_string(), group);
        id
    }

    /// The group of this name, as stored.
    pub fn stored_group(&self, name: &str) -> Option<ObservedGroup> {
        lock(&self.state.groups).get(name).cloned()
    }

    /// How many groups exist (duplicates counted).
    pub fn group_count(&self) -> usize {
        lock(&self.state.groups).len() + *lock(&self.state.duplicate_groups)
    }

    pub(super) fn list_fake_groups(&self, page: u32) -> Result<GroupPage, VendorError> {
        self.call("groups.list")?;
        let all: Vec<ObservedGroup> = lock(&self.state.groups).values().cloned().collect();
        let (groups, total) = self.page_of(all, page);
        Ok(GroupPage { groups, total })
    }

    pub(super) fn create_fake_group(&self, group: &DesiredGroup) -> Result<Created, VendorError> {
        if self.has(Flaw::SendsInvalidGroups) {
            self.call("groups.create")?;
        }
        check_name(&group.name)?;
        if !self.has(Flaw::SendsInvalidGroups) {
            self.call("groups.create")?;
        }
        let mut groups = lock(&self.state.groups);
        let id = (groups.len() + 1 + *lock(&self.state.duplicate_groups)).to_string();
        if groups.contains_key(&group.name) {
            if !self.has(Flaw::DuplicateCreates) {
                return Err(VendorError::new(
                    ErrorKind::AlreadyExists,
                    "the skill queue name already exists",
                ));
            }
            *lock(&self.state.duplicate_groups) += 1;
            return Ok(Created { external_id: id });
        }
        let stored = ObservedGroup {
            id: id.clone(),
            name: group.name.clone(),
            attributes: group.attributes.clone(),
        };
        groups.insert(group.name.clone(), stored);
        Ok(Created { external_id: id })
    }

    pub(super) fn update_fake_group(
        &self,
        observed: &ObservedGroup,
        changes: &[GroupChange],
    ) -> Result<(), VendorError> {
        self.call("groups.update")?;
        if self.has(Flaw::DropsUpdates) {
            return Ok(());
        }
        let mut groups = lock(&self.state.groups);
        let group = groups
            .values_mut()
            .find(|g| g.id == observed.id)
            .ok_or_else(|| VendorError::new(ErrorKind::Rejected, "the skill queue does not exist"))?;
        for c in changes {
            group.attributes.insert(c.attribute.clone(), c.to.clone());
        }
        Ok(())
    }

    pub(super) fn delete_fake_group(&self, id: &str) -> Result<Deletion, VendorError> {
        self.call("groups.delete")?;
        let mut groups = lock(&self.state.groups);
        let before = groups.len();
        groups.retain(|_, g| g.id != id);
        Ok(if groups.len() < before {
            Deletion::Deleted
        } else {
            Deletion::AlreadyGone
        })
    }
}
