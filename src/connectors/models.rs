//! Which model, site and client each vendor has: the one place a [`VendorKind`] (or a provider's
//! [`VendorSettings`]) turns into its [`VendorModel`], its [`Site`] and its [`Vendor`] client.

use std::sync::Arc;

use super::site::Site;
use super::{ClientOptions, ErrorKind, SecretData, Vendor, VendorError, huawei, ozonetel, tencent};
use crate::api::{ProviderSettings, VendorSettings};
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

/// Builds the client for a provider from its settings and its credentials Secret.
///
/// Rate limiters and token caches are keyed by the vendor account, so every client built for the same
/// account shares them.
pub fn connect(
    settings: &ProviderSettings,
    secret_name: &str,
    credentials: &SecretData,
    options: &ClientOptions,
) -> Result<Arc<dyn Vendor>, VendorError> {
    let rate = settings.rate_limit.clone().unwrap_or_default();
    let vendor = settings
        .vendor_settings()
        .map_err(|e| VendorError::new(ErrorKind::Rejected, e.to_string()))?;
    let client: Arc<dyn Vendor> = match vendor {
        VendorSettings::Tencent(t) => Arc::new(tencent::Client::from_provider(
            t,
            &rate,
            secret_name,
            credentials,
            options,
        )?),
        VendorSettings::Huawei(h) => Arc::new(huawei::Client::from_provider(
            h,
            &rate,
            secret_name,
            credentials,
            options,
        )?),
        VendorSettings::Ozonetel(o) => Arc::new(ozonetel::Client::from_provider(
            o,
            &rate,
            secret_name,
            credentials,
            options,
        )?),
    };
    Ok(client)
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
