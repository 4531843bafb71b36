//! ECR `ECR Image Action` events: arbitrary bytes, and structured mutations of a valid event,
//! through the parse and the pure half of on-push (decide_push, routing, release id, URI).
#![no_main]

use std::sync::OnceLock;

use arbitrary::Unstructured;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use stevedore_core::ecr_event::{decide_push, is_sha256_digest, EcrImageAction, PushDecision};
use stevedore_core::image::{image_repository, image_uri};
use stevedore_core::release::release_id;
use stevedore_core::routing::stages_for_push;
use stevedore_core::StevedoreFile;
use stevedore_fuzz::{mutate_event, DIGEST};

const VALID: &str = include_str!("../../events/ecr-push.json");
const EXAMPLE: &str = include_str!("../../examples/stevedore.yaml");

fn example() -> &'static StevedoreFile {
    static FILE: OnceLock<StevedoreFile> = OnceLock::new();
    FILE.get_or_init(|| {
        stevedore_core::config::parse_file("stevedore.yaml", EXAMPLE).expect("example is valid")
    })
}

fn check(bytes: &[u8]) {
    let Ok(event) = serde_json::from_slice::<EventBridgeEvent<EcrImageAction>>(bytes) else {
        return;
    };
    let detail = &event.detail;
    match decide_push(detail) {
        PushDecision::Ignore(why) => assert!(!why.is_empty()),
        PushDecision::Deploy {
            repository,
            digest,
            tag,
        } => {
            assert_eq!(detail.action_type, "PUSH");
            assert_eq!(detail.result, "SUCCESS");
            assert!(is_sha256_digest(&digest), "{digest:?}");
            assert!(!tag.is_empty());
            assert_eq!(repository, detail.repository_name);
            // What on-push does next, minus the AWS calls.
            let event_ms = event
                .time
                .map_or(0, |time| time.timestamp_millis().max(0) as u64);
            for target in stages_for_push(&example().apps, &repository, &tag) {
                let id = release_id(&target.app, &target.stage, &digest, event_ms);
                assert_eq!(id.len(), 26, "{id}");
            }
            let account = event.account.as_deref().unwrap_or_default();
            let region = event.region.as_deref().unwrap_or("us-east-1");
            let uri = image_uri(account, region, &repository, &digest);
            let _ = image_repository(&uri);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The bytes as they come: JSON or not.
    check(data);

    // The same bytes as a recipe for mutating a valid event.
    let mut u = Unstructured::new(data);
    let mut event: Value = serde_json::from_str(VALID).expect("seed event is JSON");
    let detail_fields: &[(&str, &[&str])] = &[
        ("action-type", &["PUSH", "DELETE", "push"]),
        ("result", &["SUCCESS", "FAILURE"]),
        ("repository-name", &["backend", "team/backend", ""]),
        (
            "image-digest",
            &[
                DIGEST,
                "sha256:",
                "sha512:5f0b5b1c2e1a6a9d3c4f8e7d6b5a4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d",
            ],
        ),
        (
            "image-tag",
            &["develop-1a2b3c4", "main-1", "v1.2.3", "", "latest"],
        ),
    ];
    if mutate_event(&mut u, &mut event, detail_fields).is_ok() {
        check(&serde_json::to_vec(&event).expect("a Value serializes"));
    }
});
