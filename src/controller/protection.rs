//! Deletion protection for providers and their credentials, so that deleting a namespace (or a provider)
//! never strands agents that still have vendor accounts to delete.
//!
//! - A provider carries [`PROVIDER_FINALIZER`] (added by the provider reconciler). When it is deleted,
//!   the finalizer goes only once no agent uses it any more — the same agents `status.agents` counts —
//!   and until then a Warning event names who holds it.
//! - Its credentials Secret carries [`SECRET_FINALIZER`] while a provider uses it. The operator must
//!   still sign its vendor deletes after a namespace deletion removed the Secret, and across a restart:
//!   credentials kept only in memory would be lost with the process, so the Secret itself is kept
//!   (Terminating, still readable) until its last provider is released. The finalizer is removed when
//!   the provider is released, or, when a provider points at another Secret, from the Secret no
//!   provider references any more.
//!
//! The agents a provider waits for are those of this operator's watches: with `--label-selector`
//! sharding, each instance only sees its own share.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::agent::{Error, publish};
use super::cached_agent::CachedAgent;
use super::claims::ProviderId;
use super::context::{Context, jittered};

/// Keeps a provider until no agent uses it.
pub const PROVIDER_FINALIZER: &str = "contactcenter.dev/provider-in-use";
/// Keeps a provider's credentials Secret until the providers using it are released.
pub const SECRET_FINALIZER: &str = "contactcenter.dev/provider-credentials";

/// How many holders a `ProviderInUse` event names before it only counts the rest.
const NAMED_HOLDERS: usize = 5;

/// Puts the finalizers on a provider that is not being deleted and on its credentials Secret, and takes
/// the Secret finalizer off Secrets of the same namespace that no provider references any more.
pub async fn protect<K>(api: &Api<K>, provider: &K, id: &ProviderId, ctx: &Arc<Context>) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    if !provider.finalizers().iter().any(|f| f == PROVIDER_FINALIZER) {
        let mut finalizers = provider.finalizers().to_vec();
        finalizers.push(PROVIDER_FINALIZER.to_string());
        patch_finalizers(api, &provider.name_any(), provider.resource_version(), finalizers).await?;
    }
    let Ok(resolved) = ctx.providers.resolve(id, &ctx.options.operator_namespace) else {
        return Ok(());
    };
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &resolved.secret_namespace);
    if let Some(secret_ref) = resolved.settings.credentials_secret_ref()
        && let Some(meta) = secrets.get_metadata_opt(&secret_ref.name).await?
        && meta.metadata.deletion_timestamp.is_none()
        && !meta.finalizers().iter().any(|f| f == SECRET_FINALIZER)
    {
        let mut finalizers = meta.finalizers().to_vec();
        finalizers.push(SECRET_FINALIZER.to_string());
        patch_finalizers(&secrets, &secret_ref.name, meta.resource_version(), finalizers).await?;
    }
    // Judged only once every watch has listed: a provider not listed yet would look like no user.
    if !ctx.providers.agents_listed.is_set() {
        return Ok(());
    }
    for stale in ctx
        .providers
        .unreferenced_protected_secrets(ctx, &resolved.secret_namespace)
    {
        release_secret(&secrets, &stale).await?;
    }
    Ok(())
}

/// A provider being deleted: released (its finalizer, and its Secret's when no other provider uses the
/// Secret) once `users` is empty; otherwise kept, with a Warning event naming who holds it.
pub async fn release<K>(
    api: &Api<K>,
    provider: &K,
    id: &ProviderId,
    users: &[&CachedAgent],
    ctx: &Arc<Context>,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let again = jittered(ctx.options.max_backoff.min(Duration::from_secs(10)));
    // Before the agent watches have listed, "no users" only means "none seen yet" (a restart).
    if !ctx.providers.agents_listed.is_set() {
        return Ok(Action::requeue(Duration::from_millis(500)));
    }
    if !users.is_empty() {
        let mut names: Vec<String> = users.iter().map(|a| a.id()).collect();
        names.sort();
        let mut note = format!(
            "{} is still used by {} agent(s): {}",
            id.display(),
            names.len(),
            names
                .iter()
                .take(NAMED_HOLDERS)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        if names.len() > NAMED_HOLDERS {
            note.push_str(&format!(" and {} more", names.len() - NAMED_HOLDERS));
        }
        note.push_str("; it is deleted once they are (or use another provider)");
        // Told once per set of holders, not at every look.
        if ctx.providers.note_holders(id, &note) {
            publish(
                ctx,
                &provider.object_ref(&()),
                EventType::Warning,
                "ProviderInUse",
                &note,
            )
            .await;
        }
        // Agents' deletions do not requeue the provider: it looks again soon.
        return Ok(Action::requeue(again));
    }
    if let Ok(resolved) = ctx.providers.resolve(id, &ctx.options.operator_namespace)
        && let Some(secret_ref) = resolved.settings.credentials_secret_ref()
        && ctx
            .providers
            .credentials_users(ctx, &resolved.secret_namespace, &secret_ref.name)
            .iter()
            .all(|other| other == id)
    {
        let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &resolved.secret_namespace);
        release_secret(&secrets, &secret_ref.name).await?;
    }
    if provider.finalizers().iter().any(|f| f == PROVIDER_FINALIZER) {
        let rest = provider
            .finalizers()
            .iter()
            .filter(|f| *f != PROVIDER_FINALIZER)
            .cloned()
            .collect();
        patch_finalizers(api, &provider.name_any(), provider.resource_version(), rest).await?;
    }
    ctx.providers.forget(id);
    tracing::info!(provider = %id.display(), "no agent uses the provider any more; released it");
    Ok(Action::await_change())
}

/// Takes [`SECRET_FINALIZER`] off Secret `name` (if it is there).
async fn release_secret(secrets: &Api<Secret>, name: &str) -> Result<(), Error> {
    let Some(meta) = secrets.get_metadata_opt(name).await? else {
        return Ok(());
    };
    if !meta.finalizers().iter().any(|f| f == SECRET_FINALIZER) {
        return Ok(());
    }
    let rest = meta
        .finalizers()
        .iter()
        .filter(|f| *f != SECRET_FINALIZER)
        .cloned()
        .collect();
    patch_finalizers(secrets, name, meta.resource_version(), rest).await
}

/// Sets an object's finalizers, on condition that it is still at `resource_version`: a merge patch
/// replaces the whole list, so a finalizer someone else added meanwhile would otherwise be dropped.
async fn patch_finalizers<K>(
    api: &Api<K>,
    name: &str,
    resource_version: Option<String>,
    finalizers: Vec<String>,
) -> Result<(), Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": resource_version}});
    api.patch_metadata(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}
