//! Task-definition rendering: generated app and stage configs, task-definition containers
//! and secrets through plan_render, merge_environment and merge_secrets; arbitrary text
//! through SecretRef parsing and value_from.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use stevedore_core::image::EcrRepository;
use stevedore_core::render::{
    merge_environment, merge_secrets, migration_container, plan_render, target_containers,
    ContainerSummary,
};
use stevedore_core::SecretRef;
use stevedore_fuzz::{
    app_config, stage_config, text, CONTAINERS, ENV_NAMES, IMAGES, SECRET_ARN, SECRET_REFS,
};

fn check_secret_ref(input: &str) {
    let Ok(secret_ref) = input.parse::<SecretRef>() else {
        return;
    };
    // Display gives back the text it was parsed from, and serde agrees.
    assert_eq!(secret_ref.to_string(), input);
    let json = serde_json::to_string(&secret_ref).expect("serializes");
    assert_eq!(
        serde_json::from_str::<SecretRef>(&json).expect("round trip"),
        secret_ref
    );
    assert!(!secret_ref.lookup_id().is_empty());
    let value_from = secret_ref.value_from(SECRET_ARN);
    match &secret_ref.json_key {
        Some(key) => {
            assert!(!key.is_empty() && !key.contains(':'), "{key:?}");
            assert_eq!(value_from, format!("{SECRET_ARN}:{key}::"));
        }
        None => assert_eq!(value_from, SECRET_ARN),
    }
}

fn pairs(u: &mut Unstructured, names: &[&str], values: &[&str]) -> Result<Vec<(String, String)>> {
    (0..u.int_in_range(0..=4u8)?)
        .map(|_| Ok((text(u, names)?, text(u, values)?)))
        .collect()
}

fn render(u: &mut Unstructured) -> Result<()> {
    let app = app_config(u)?;
    let stage = stage_config(u)?;
    let current: Vec<ContainerSummary> = (0..u.int_in_range(0..=4u8)?)
        .map(|_| {
            Ok(ContainerSummary {
                name: text(u, CONTAINERS)?,
                image: text(u, IMAGES)?,
            })
        })
        .collect::<Result<_>>()?;
    let image_uri = text(u, IMAGES)?;
    // Usually every declared secret resolves; sometimes one is missing or extra.
    let mut resolved: BTreeMap<String, String> = stage
        .secrets
        .iter()
        .map(|(name, secret_ref)| (name.clone(), secret_ref.value_from(SECRET_ARN)))
        .collect();
    if u.ratio(1, 4)? {
        if let Some(name) = resolved.keys().next().cloned() {
            resolved.remove(&name);
        }
    }
    if u.ratio(1, 4)? {
        resolved.insert(text(u, ENV_NAMES)?, SECRET_ARN.to_string());
    }

    let _ = app.validate("stevedore.yaml", "backend");
    let targets = target_containers(&app, &current, &image_uri);
    if let Ok(targets) = &targets {
        assert!(!targets.is_empty() || app.containers.as_ref().is_some_and(Vec::is_empty));
        let _ = migration_container(&app, targets);
        if app.containers.is_none() {
            // Default targets run the app's repository in the release image's own registry.
            let release = EcrRepository::of_image(&image_uri).expect("targets imply ECR");
            let ours = EcrRepository {
                registry: release.registry,
                name: app.repository.clone(),
            };
            for target in targets {
                assert!(
                    current
                        .iter()
                        .any(|c| &c.name == target && ours.holds(&c.image)),
                    "{target} is not from {ours:?}"
                );
            }
        }
    }
    let Ok(changes) = plan_render(&app, &stage, &current, &image_uri, &resolved) else {
        return Ok(());
    };
    assert_eq!(
        changes.iter().map(|c| &c.name).collect::<Vec<_>>(),
        targets
            .as_ref()
            .expect("plan implies targets")
            .iter()
            .collect::<Vec<_>>()
    );
    for change in &changes {
        assert_eq!(change.image, image_uri);
        assert!(current
            .iter()
            .any(|container| container.name == change.name));
        let existing_env = pairs(u, ENV_NAMES, &["a", ""])?;
        let existing_secrets = pairs(u, ENV_NAMES, SECRET_REFS)?;
        let environment = merge_environment(&existing_env, change);
        let secrets = merge_secrets(&existing_secrets, change);
        for merged in [&environment, &secrets] {
            assert!(merged.windows(2).all(|w| w[0].0 < w[1].0), "sorted, unique");
        }
        for (name, value) in &change.environment {
            if !change.secrets.contains_key(name) {
                assert!(environment.contains(&(name.clone(), value.clone())));
            }
        }
        for (name, value) in &change.secrets {
            assert!(secrets.contains(&(name.clone(), value.clone())));
        }
        // ECS rejects a name in both lists: the merge never puts one there unless the
        // current task definition already had it so.
        let env_names: BTreeSet<_> = existing_env.iter().map(|(n, _)| n).collect();
        if !existing_secrets.iter().any(|(n, _)| env_names.contains(n)) {
            let secret_names: BTreeSet<_> = secrets.iter().map(|(n, _)| n).collect();
            assert!(
                !environment.iter().any(|(n, _)| secret_names.contains(n)),
                "{environment:?} / {secrets:?}"
            );
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    check_secret_ref(&String::from_utf8_lossy(data));
    let mut u = Unstructured::new(data);
    if let Ok(near_valid) = text(&mut u, SECRET_REFS) {
        check_secret_ref(&near_valid);
    }
    let _ = render(&mut u);
});
