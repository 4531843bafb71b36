//! A rendered revision as RegisterTaskDefinition takes it: registered by render, or (for
//! `stevedore plan`) serialized exactly as it would be sent and stopped before it is signed,
//! so a dry run shows the very request a release would make.

use std::sync::{Arc, Mutex};

use aws_sdk_ecs::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ecs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ecs::error::BoxError;
use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types::{ContainerDefinition, KeyValuePair, Secret, Tag, TaskDefinition};
use serde_json::Value;
use stevedore_core::render::{merge_environment, merge_secrets, ContainerChange};
use stevedore_core::{Error, Result};

use super::Ecs;
use crate::error::{classify, code_and_message};

/// The current revision's tags (minus AWS-reserved `aws:` keys, which cannot be set) with
/// `stevedore:release` naming the release that registered the new one.
pub(super) fn release_tags(current: &[Tag], release_id: &str) -> Vec<Tag> {
    let mut tags: Vec<Tag> = current
        .iter()
        .filter(|t| {
            let key = t.key.as_deref().unwrap_or_default();
            !key.is_empty() && !key.starts_with("aws:") && key != RELEASE_TAG
        })
        .cloned()
        .collect();
    tags.push(Tag::builder().key(RELEASE_TAG).value(release_id).build());
    tags
}

const RELEASE_TAG: &str = "stevedore:release";

impl Ecs {
    /// RegisterTaskDefinition of `current` with the render plan applied, tags not yet set;
    /// read-only fields (ARN, revision, status, compatibilities, registeredAt…) are left out
    /// by construction.
    fn registration(
        &self,
        current: &TaskDefinition,
        changes: &[ContainerChange],
    ) -> RegisterTaskDefinitionFluentBuilder {
        let containers = current
            .container_definitions
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|c| apply_change(c, changes))
            .collect::<Vec<_>>();
        self.client
            .register_task_definition()
            .set_family(current.family.clone())
            .set_task_role_arn(current.task_role_arn.clone())
            .set_execution_role_arn(current.execution_role_arn.clone())
            .set_network_mode(current.network_mode.clone())
            .set_container_definitions(Some(containers))
            .set_volumes(current.volumes.clone())
            .set_placement_constraints(current.placement_constraints.clone())
            .set_requires_compatibilities(current.requires_compatibilities.clone())
            .set_cpu(current.cpu.clone())
            .set_memory(current.memory.clone())
            .set_pid_mode(current.pid_mode.clone())
            .set_ipc_mode(current.ipc_mode.clone())
            .set_proxy_configuration(current.proxy_configuration.clone())
            .set_ephemeral_storage(current.ephemeral_storage.clone())
            .set_runtime_platform(current.runtime_platform.clone())
            .set_enable_fault_injection(current.enable_fault_injection)
    }

    /// Registers a new revision of `current` with the render plan applied; read-only fields
    /// (ARN, revision, status, compatibilities, registeredAt…) are left out by construction.
    pub async fn register_rendered(
        &self,
        current: &TaskDefinition,
        tags: &[Tag],
        changes: &[ContainerChange],
        release_id: &str,
    ) -> Result<String> {
        let out = self
            .registration(current, changes)
            .set_tags(Some(release_tags(tags, release_id)))
            .send()
            .await
            .map_err(|e| {
                let (code, message) = code_and_message(&e);
                match code.as_str() {
                    "ClientException" | "InvalidParameterException" => {
                        Error::TaskDefinitionRejected(format!(
                            "ECS rejected the rendered task definition: {code}: {message}"
                        ))
                    }
                    _ => classify("RegisterTaskDefinition", e),
                }
            })?;
        out.task_definition
            .and_then(|td| td.task_definition_arn)
            .ok_or_else(|| Error::AwsError("RegisterTaskDefinition returned no ARN".into()))
    }

    /// The RegisterTaskDefinition request for `current` with `changes` applied, as the JSON
    /// body the SDK would send (tags left out: they are not part of the revision), in a
    /// stable form (see [`canonical_registration`]). Nothing is sent: the request stops
    /// after serialization, before it is signed.
    pub async fn registration_json(
        &self,
        current: &TaskDefinition,
        changes: &[ContainerChange],
    ) -> Result<Value> {
        let capture = StopAfterSerialization::default();
        let sent = self
            .registration(current, changes)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await;
        let body = capture.body.lock().ok().and_then(|mut body| body.take());
        match (body, sent) {
            (Some(bytes), _) => serde_json::from_slice(&bytes)
                .map(canonical_registration)
                .map_err(|e| {
                    Error::AwsError(format!("RegisterTaskDefinition request is not JSON: {e}"))
                }),
            (None, Err(e)) => Err(classify("RegisterTaskDefinition (serialize)", e)),
            (None, Ok(_)) => Err(Error::AwsError(
                "RegisterTaskDefinition was sent by a dry run".into(),
            )),
        }
    }
}

/// Keeps the serialized request body and fails the call right after serialization, before
/// credentials are resolved, the request is signed or anything is sent.
#[derive(Debug, Clone, Default)]
struct StopAfterSerialization {
    body: Arc<Mutex<Option<Vec<u8>>>>,
}

impl Intercept for StopAfterSerialization {
    fn name(&self) -> &'static str {
        "StopAfterSerialization"
    }

    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        let bytes = context.request().body().bytes().map(<[u8]>::to_vec);
        if let Ok(mut body) = self.body.lock() {
            *body = bytes;
        }
        Err("a dry run: the request is not sent".into())
    }
}

/// A registration request in a form two of them can be compared in: object keys sorted, and
/// each container's `environment` and `secrets` sorted by name (ECS treats them as sets;
/// render writes them sorted, a hand-made revision may not have).
pub fn canonical_registration(request: Value) -> Value {
    let mut request = sorted_keys(request);
    if let Some(containers) = request
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
    {
        for container in containers {
            for list in ["environment", "secrets"] {
                if let Some(items) = container.get_mut(list).and_then(Value::as_array_mut) {
                    items.sort_by(|a, b| name_of(a).cmp(name_of(b)));
                }
            }
        }
    }
    request
}

fn name_of(item: &Value) -> &str {
    item.get("name").and_then(Value::as_str).unwrap_or_default()
}

fn sorted_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> =
                map.into_iter().map(|(k, v)| (k, sorted_keys(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted_keys).collect()),
        other => other,
    }
}

fn apply_change(
    mut container: ContainerDefinition,
    changes: &[ContainerChange],
) -> ContainerDefinition {
    let Some(change) = changes
        .iter()
        .find(|c| Some(c.name.as_str()) == container.name.as_deref())
    else {
        return container;
    };
    let environment: Vec<(String, String)> = container
        .environment()
        .iter()
        .map(|kv| {
            (
                kv.name.clone().unwrap_or_default(),
                kv.value.clone().unwrap_or_default(),
            )
        })
        .collect();
    let secrets: Vec<(String, String)> = container
        .secrets()
        .iter()
        .map(|s| (s.name.clone(), s.value_from.clone()))
        .collect();
    container.image = Some(change.image.clone());
    container.environment = Some(
        merge_environment(&environment, change)
            .into_iter()
            .map(|(name, value)| KeyValuePair::builder().name(name).value(value).build())
            .collect(),
    );
    let merged_secrets = merge_secrets(&secrets, change)
        .into_iter()
        .filter_map(|(name, value_from)| {
            Secret::builder()
                .name(name)
                .value_from(value_from)
                .build()
                .ok()
        })
        .collect::<Vec<_>>();
    container.secrets = (!merged_secrets.is_empty()).then_some(merged_secrets);
    container
}
