use serde_json::json;

use super::*;
use crate::plan::{PlannedImage, Problem, SchedulePlan};

const TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/";

fn registration(image: &str) -> Value {
    json!({
        "containerDefinitions": [{
            "environment": [{"name": "LOG_LEVEL", "value": "info"}],
            "image": image,
            "name": "web",
        }],
        "cpu": "256",
        "family": "shop",
    })
}

fn report(problems: Vec<Problem>) -> PlanReport {
    let before = registration("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:bootstrap");
    let after = registration("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:ab12");
    PlanReport {
        app: "shop".into(),
        stage: "staging".into(),
        image: PlannedImage {
            repository: "shop".into(),
            tag: Some("develop-1a2b3c4".into()),
            digest: format!("sha256:{}", "ab12".repeat(16)),
            uri: "uri".into(),
        },
        would_fail: !problems.is_empty(),
        task_definitions: vec![
            compare(
                "service",
                "shop-staging",
                "shop",
                &format!("{TD}shop:3"),
                &before,
                after,
            ),
            compare(
                "service",
                "shop-worker-staging",
                "shop",
                &format!("{TD}shop:3"),
                &before,
                before.clone(),
            ),
        ],
        schedules: vec![SchedulePlan {
            target: "schedule default/shop-nightly".into(),
            current_task_definition: format!("{TD}shop:3"),
            new_revision_of: Some("shop".into()),
        }],
        migration: Some(
            "`./manage.py migrate` in container `web` of service `shop-staging`'s new revision"
                .into(),
        ),
        problems,
        notes: Vec::new(),
    }
}

#[test]
fn the_diff_shows_the_image_change_in_context() {
    let plan = &report(Vec::new()).task_definitions[0];
    assert!(plan.changed);
    let expected = "\
--- shop:3
+++ shop:new
@@ -7,7 +7,7 @@
           \"value\": \"info\"
         }
       ],
-      \"image\": \"123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:bootstrap\",
+      \"image\": \"123456789012.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:ab12\",
       \"name\": \"web\"
     }
   ],
";
    assert_eq!(plan.diff, expected);
}

#[test]
fn a_passing_plan_as_text() {
    let text = human(&report(Vec::new()), false);
    let expected = "\
plan shop/staging: shop@sha256:ab12ab12ab12 (tag develop-1a2b3c4)

service shop-staging: shop:3 -> new revision of shop
--- shop:3
+++ shop:new
@@ -7,7 +7,7 @@
           \"value\": \"info\"
         }
       ],
-      \"image\": \"123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:bootstrap\",
+      \"image\": \"123456789012.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:ab12\",
       \"name\": \"web\"
     }
   ],

service shop-worker-staging: shop:3 -> new revision of shop
  (no change to the task definition)

schedules:
  schedule default/shop-nightly: shop:3 -> new revision of shop

migration: `./manage.py migrate` in container `web` of service `shop-staging`'s new revision

ok: render would register 2 revision(s); nothing was registered
";
    assert_eq!(text, expected);
}

#[test]
fn a_failing_plan_lists_every_problem_and_colours_only_when_asked() {
    let problems = vec![
        Problem {
            error_type: "SecretNotFound".into(),
            message: "shop/staging: secret `x` (for X) not found".into(),
        },
        Problem {
            error_type: "ContainerNotFound".into(),
            message: "the task definition has no container `api`".into(),
        },
    ];
    let text = human(&report(problems), false);
    assert!(
        text.ends_with(
            "\nfail: render would fail on 2 problem(s); nothing was registered\n  \
             SecretNotFound: shop/staging: secret `x` (for X) not found\n  \
             ContainerNotFound: the task definition has no container `api`\n"
        ),
        "{text}"
    );
    assert!(!text.contains('\x1b'));
    let coloured = human(&report(Vec::new()), true);
    assert!(coloured.contains("\x1b[31m-      \"image\""), "{coloured}");
    assert!(coloured.contains("\x1b[32m+      \"image\""), "{coloured}");
}

#[test]
fn families_and_revisions_from_arns() {
    assert_eq!(family(&format!("{TD}shop-worker:12")), "shop-worker");
    assert_eq!(family("shop:3"), "shop");
    assert_eq!(revision(&format!("{TD}shop-worker:12")), "shop-worker:12");
}
