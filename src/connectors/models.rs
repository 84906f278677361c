//! Which model and site each vendor has: the one place a [`VendorKind`] turns into its
//! [`VendorModel`] and its [`Site`].

use super::site::Site;
use crate::core::{GroupSupport, VendorKind, VendorModel};

/// The model of a vendor.
pub fn model(kind: VendorKind) -> &'static dyn VendorModel {
    match kind {
        VendorKind::Tencent => &super::tencent::model::MODEL,
        VendorKind::Huawei => &super::huawei::model::MODEL,
        VendorKind::Ozonetel => &super::ozonetel::model::MODEL,
    }
}

/// What a vendor's API lets the operator do with skill groups: what its connector's
/// `Vendor::group_support` answers, known without a connector (and so without credentials).
pub fn group_support(kind: VendorKind) -> GroupSupport {
    match kind {
        VendorKind::Tencent => super::tencent::groups::SUPPORT,
        VendorKind::Huawei => super::huawei::queue_model::SUPPORT,
        VendorKind::Ozonetel => super::ozonetel::skill_model::SUPPORT,
    }
}

/// Where a vendor's API lives.
pub fn site(kind: VendorKind) -> &'static dyn Site {
    match kind {
        VendorKind::Tencent => &super::tencent::site::TencentSite,
        VendorKind::Huawei => &super::huawei::site::HuaweiSite,
        VendorKind::Ozonetel => &super::ozonetel::site::OzonetelSite,
    }
}

/// Builders the connector and core tests share.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::BTreeMap;

    use crate::api::*;
    use crate::core::VendorKind;

    /// A spec for `vendor` with its key, a name and an e-mail, and nothing else.
    pub fn spec(vendor: VendorKind) -> ContactCenterAgentSpec {
        let provider = ProviderRef {
            kind: ProviderKind::ContactCenterProvider,
            name: "p".into(),
        };
        let mut s = ContactCenterAgentSpec::new(provider, "Alice Chen".into());
        s.email = Some("alice@example.com".into());
        match vendor {
            VendorKind::Tencent => {
                s.tencent = Some(TencentAgent {
                    staff_number: Some("1001".into()),
                    ..Default::default()
                })
            }
            VendorKind::Huawei => {
                s.huawei = Some(HuaweiAgent {
                    user_account: "alice.chen".into(),
                    agent_type: None,
                    role: None,
                })
            }
            VendorKind::Ozonetel => {
                s.ozonetel = Some(OzonetelAgent {
                    agent_id: "alice".into(),
                    ..Default::default()
                })
            }
        }
        s
    }

    /// A skill table: `billing` is 101, `support` 102.
    pub fn skills() -> BTreeMap<String, String> {
        [("billing", "101"), ("support", "102")]
            .map(|(n, i)| (n.to_string(), i.to_string()))
            .into()
    }
}
