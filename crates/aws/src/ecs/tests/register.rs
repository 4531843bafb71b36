//! ECS adapter tests: registering rendered task definitions.

use super::*;

// ---- register_rendered ------------------------------------------------------------------

fn kv(name: &str, value: &str) -> KeyValuePair {
    KeyValuePair::builder().name(name).value(value).build()
}

fn secret(name: &str, value_from: &str) -> Secret {
    Secret::builder()
        .name(name)
        .value_from(value_from)
        .build()
        .unwrap()
}

fn sidecar() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("envoy")
        .image("public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29")
        .environment(kv("APPMESH_VIRTUAL_NODE_NAME", "mesh/web"))
        .secrets(secret(
            "MESH_TOKEN",
            "arn:aws:secretsmanager:us-east-1:1:secret:mesh-Xy",
        ))
        .essential(false)
        .build()
}

/// web:6 as DescribeTaskDefinition returns it, read-only fields included.
fn described_task_definition() -> TaskDefinition {
    TaskDefinition::builder()
        .task_definition_arn(OLD_TD)
        .revision(6)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .registered_at(aws_smithy_types::DateTime::from_secs(1_700_000_000))
        .registered_by("arn:aws:iam::123456789012:role/deployer")
        .compatibilities(Compatibility::Ec2)
        .compatibilities(Compatibility::Fargate)
        .family("web")
        .task_role_arn("arn:aws:iam::123456789012:role/web-task")
        .execution_role_arn("arn:aws:iam::123456789012:role/web-exec")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("512")
        .memory("1024")
        .volumes(Volume::builder().name("scratch").build())
        .ephemeral_storage(EphemeralStorage::builder().size_in_gib(30).build())
        .runtime_platform(
            RuntimePlatform::builder()
                .cpu_architecture(aws_sdk_ecs::types::CpuArchitecture::Arm64)
                .build(),
        )
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:old")
                .environment(kv("LOG_LEVEL", "info"))
                .environment(kv("FEATURE", "off"))
                .environment(kv("DB_PASSWORD", "plain-text"))
                .secrets(secret(
                    "API_KEY",
                    "arn:aws:secretsmanager:us-east-1:1:secret:api-Ab",
                ))
                .secrets(secret(
                    "MODE",
                    "arn:aws:secretsmanager:us-east-1:1:secret:mode-Cd",
                ))
                .cpu(256)
                .essential(true)
                .build(),
        )
        .container_definitions(sidecar())
        .build()
}

const NEW_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:new";

fn app_change() -> ContainerChange {
    ContainerChange {
        name: "app".into(),
        image: NEW_IMAGE.into(),
        environment: BTreeMap::from([
            ("FEATURE".to_string(), "on".to_string()),
            ("MODE".to_string(), "fast".to_string()),
        ]),
        secrets: BTreeMap::from([(
            "DB_PASSWORD".to_string(),
            "arn:aws:secretsmanager:us-east-1:1:secret:db-Ef".to_string(),
        )]),
    }
}

fn registered(arn: &'static str) -> RegisterTaskDefinitionOutput {
    RegisterTaskDefinitionOutput::builder()
        .task_definition(
            TaskDefinition::builder()
                .task_definition_arn(arn)
                .family("web")
                .revision(7)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn register_rendered_changes_only_the_target_container() {
    let seen = captured::<RegisterTaskDefinitionInput>();
    let log = seen.clone();
    let rule = mock!(Client::register_task_definition)
        .match_requests(|r| r.family() == Some("web"))
        .then_compute_output(move |input| {
            log.lock().unwrap().push(input.clone());
            registered(NEW_TD)
        });
    let current = described_task_definition();
    let arn = ecs(&[rule])
        .register_rendered(&current, &[], &[app_change()], "01JRELEASE")
        .await
        .unwrap();
    assert_eq!(arn, NEW_TD);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let input = &seen[0];
    // Everything a new revision needs is carried over from the described one.
    assert_eq!(input.family.as_deref(), Some("web"));
    assert_eq!(
        input.task_role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/web-task")
    );
    assert_eq!(
        input.execution_role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/web-exec")
    );
    assert_eq!(input.network_mode, Some(NetworkMode::Awsvpc));
    assert_eq!(input.cpu.as_deref(), Some("512"));
    assert_eq!(input.memory.as_deref(), Some("1024"));
    assert_eq!(
        input.requires_compatibilities,
        Some(vec![Compatibility::Fargate])
    );
    assert_eq!(input.volumes, current.volumes);
    assert_eq!(input.ephemeral_storage, current.ephemeral_storage);
    assert_eq!(input.runtime_platform, current.runtime_platform);
    assert_eq!(
        input.tags(),
        [aws_sdk_ecs::types::Tag::builder()
            .key("stevedore:release")
            .value("01JRELEASE")
            .build()]
    );

    let containers = input.container_definitions();
    assert_eq!(containers.len(), 2, "container order and count are kept");
    let app = &containers[0];
    assert_eq!(app.name.as_deref(), Some("app"));
    assert_eq!(app.image.as_deref(), Some(NEW_IMAGE));
    // Set/overridden variables win; a name that became a secret leaves the environment.
    assert_eq!(
        app.environment(),
        [
            kv("FEATURE", "on"),
            kv("LOG_LEVEL", "info"),
            kv("MODE", "fast")
        ]
    );
    // Existing secrets stay unless now plain environment; new ones are added.
    assert_eq!(
        app.secrets(),
        [
            secret(
                "API_KEY",
                "arn:aws:secretsmanager:us-east-1:1:secret:api-Ab"
            ),
            secret(
                "DB_PASSWORD",
                "arn:aws:secretsmanager:us-east-1:1:secret:db-Ef"
            ),
        ]
    );
    // Other settings of the target container are untouched.
    assert_eq!(app.cpu, 256);
    assert_eq!(app.essential, Some(true));
    // The sidecar is sent exactly as described.
    assert_eq!(containers[1], sidecar());
}

#[tokio::test]
async fn register_rendered_without_secrets_sends_no_secret_list() {
    let mut current = described_task_definition();
    current.container_definitions = Some(vec![ContainerDefinition::builder()
        .name("app")
        .image("old")
        .build()]);
    let change = ContainerChange {
        name: "app".into(),
        image: NEW_IMAGE.into(),
        environment: BTreeMap::new(),
        secrets: BTreeMap::new(),
    };
    let rule = mock!(Client::register_task_definition)
        .match_requests(|r| {
            let app = &r.container_definitions()[0];
            app.image.as_deref() == Some(NEW_IMAGE) && app.secrets.is_none()
        })
        .then_output(|| registered(NEW_TD));
    let arn = ecs(std::slice::from_ref(&rule))
        .register_rendered(&current, &[], &[change], "01JRELEASE")
        .await
        .unwrap();
    assert_eq!(arn, NEW_TD);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn rejected_task_definition_carries_the_message() {
    for code in ["ClientException", "InvalidParameterException"] {
        let rule = mock!(Client::register_task_definition)
            .sequence()
            .http_status(
                400,
                Some(error_body(
                    code,
                    "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section.",
                )),
            )
            .build();
        let err = ecs(&[rule])
            .register_rendered(
                &described_task_definition(),
                &[],
                &[app_change()],
                "01JRELEASE",
            )
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "TaskDefinitionRejected", "{err}");
        let text = err.to_string();
        assert!(text.contains(code), "{text}");
        assert!(text.contains("Invalid 'cpu' setting for task."), "{text}");
    }
}

#[tokio::test]
async fn register_throttle_is_not_a_rejection() {
    let rule = mock!(Client::register_task_definition)
        .sequence()
        .http_status(
            400,
            Some(error_body("ThrottlingException", "Rate exceeded")),
        )
        .build();
    let err = ecs(&[rule])
        .register_rendered(
            &described_task_definition(),
            &[],
            &[app_change()],
            "01JRELEASE",
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Throttled", "{err}");
}

/// Fails the test if a request is about to be sent.
#[derive(Debug)]
struct NeverTransmit;

impl aws_sdk_ecs::config::Intercept for NeverTransmit {
    fn name(&self) -> &'static str {
        "NeverTransmit"
    }

    fn read_before_transmit(
        &self,
        _context: &aws_sdk_ecs::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_ecs::config::RuntimeComponents,
        _cfg: &mut aws_sdk_ecs::config::ConfigBag,
    ) -> std::result::Result<(), aws_sdk_ecs::error::BoxError> {
        panic!("a dry run was about to send a request")
    }
}

#[tokio::test]
async fn a_dry_run_serializes_the_registration_and_sends_nothing() {
    // No credentials, and an interceptor that fails the test before any request is sent.
    let config = aws_sdk_ecs::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_ecs::config::Region::new("us-east-1"))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(NeverTransmit)
        .build();
    let ecs = Ecs::new(Client::from_conf(config));
    let current = described_task_definition();
    let before = ecs.registration_json(&current, &[]).await.unwrap();
    let after = ecs
        .registration_json(&current, &[app_change()])
        .await
        .unwrap();
    // Only what RegisterTaskDefinition takes: no read-only fields, no tags.
    for read_only in [
        "taskDefinitionArn",
        "revision",
        "status",
        "registeredAt",
        "compatibilities",
        "tags",
    ] {
        assert!(before.get(read_only).is_none(), "{read_only}: {before}");
    }
    assert_eq!(before["family"], "web");
    assert_eq!(before["cpu"], "512");
    let app = |request: &Value| request["containerDefinitions"][0].clone();
    assert_eq!(
        app(&before)["image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:old"
    );
    assert_eq!(app(&after)["image"], NEW_IMAGE);
    // Environment and secrets sorted by name, on both sides.
    let names = |request: &Value, list: &str| -> Vec<String> {
        app(request)[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&before, "environment"),
        ["DB_PASSWORD", "FEATURE", "LOG_LEVEL"]
    );
    assert_eq!(
        names(&after, "environment"),
        ["FEATURE", "LOG_LEVEL", "MODE"]
    );
    assert_eq!(names(&after, "secrets"), ["API_KEY", "DB_PASSWORD"]);
    // Keys in a stable (sorted) order, so two requests print comparably.
    let keys: Vec<&String> = after.as_object().unwrap().keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // The sidecar is the same on both sides.
    assert_eq!(
        before["containerDefinitions"][1],
        after["containerDefinitions"][1]
    );
}
