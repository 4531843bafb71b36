//! Shared generators for the fuzz targets: strings that are usually near-valid (picked from
//! a small vocabulary, or a valid value with one edit) and sometimes anything at all, and
//! structured configs built from them.

use std::collections::BTreeMap;

mod yaml;
pub use yaml::to_yaml;

use arbitrary::{Result, Unstructured};
use serde_json::Value;
use stevedore_core::config::{AppConfig, StageConfig, StevedoreFile};
use stevedore_core::SecretRef;

pub const DIGEST: &str = "sha256:5f0b5b1c2e1a6a9d3c4f8e7d6b5a4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d";
pub const SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:staging/api-AbCdEf";

/// Characters that matter to the code under test: separators, globs, YAML indicators,
/// multi-byte text.
const SPECIALS: &[&str] = &[
    ":", "/", "@", ".", "-", "_", "[", "]", "{", "}", "*", "?", "!", "#", "'", "\"", " ", "\t",
    "\n", ",", "&", "|", ">", "\\", "é", "🚢", "\u{0}", "\u{feff}",
];

/// One string: a vocabulary entry, a vocabulary entry with an edit, or arbitrary text.
pub fn text(u: &mut Unstructured, vocabulary: &[&str]) -> Result<String> {
    Ok(match u.int_in_range(0..=7u8)? {
        0..=3 if !vocabulary.is_empty() => u.choose(vocabulary)?.to_string(),
        4 | 5 if !vocabulary.is_empty() => {
            let base = *u.choose(vocabulary)?;
            edit(u, base)?
        }
        6 => {
            let mut out = String::new();
            for _ in 0..u.int_in_range(0..=6u8)? {
                out.push_str(u.choose(SPECIALS)?);
                if u.arbitrary()? {
                    out.push_str(u.choose(vocabulary).unwrap_or(&"a"));
                }
            }
            out
        }
        _ => u.arbitrary()?,
    })
}

/// `base` with one insertion, deletion, truncation or repetition (on char boundaries).
pub fn edit(u: &mut Unstructured, base: &str) -> Result<String> {
    let boundaries: Vec<usize> = base
        .char_indices()
        .map(|(at, _)| at)
        .chain([base.len()])
        .collect();
    let at = *u.choose(&boundaries)?;
    let (head, tail) = base.split_at(at);
    Ok(match u.int_in_range(0..=4u8)? {
        0 => format!("{head}{}{tail}", u.choose(SPECIALS)?),
        1 => format!("{head}{}", tail.chars().skip(1).collect::<String>()),
        2 => head.to_string(),
        3 => base.repeat(u.int_in_range(2..=40usize)?),
        _ => format!("{head}{}{tail}", u.arbitrary::<String>()?),
    })
}

pub const NAMES: &[&str] = &["backend", "web", "staging", "production", "a", "app-1", "x"];
pub const REPOSITORIES: &[&str] = &["backend", "team/backend", "a.b_c-d/e", "ab"];
pub const CONTAINERS: &[&str] = &["web", "worker", "log-router", "migrate"];
pub const TAG_GLOBS: &[&str] = &["develop-*", "main-*", "v*", "pr-[0-9]*", "{a,b}", "**", "["];
pub const ENV_NAMES: &[&str] = &["APP_ENV", "LOG_LEVEL", "API_KEY", "DATABASE_PASSWORD", "_X"];
pub const SECRET_REFS: &[&str] = &[
    "staging/backend/db:password",
    "staging/backend/api-key",
    SECRET_ARN,
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:staging/api-AbCdEf:token",
    "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x",
    "db:",
    ":",
];
pub const IMAGES: &[&str] = &[
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/backend:develop",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/backend@sha256:00",
    "999999999999.dkr.ecr.us-east-1.amazonaws.com/backend:sidecar",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend@sha256:00",
    "localhost:5000/backend:1",
    "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
    "backend",
    "nginx:latest",
    "",
    ":tag",
];

fn small_len(u: &mut Unstructured, max: usize) -> Result<usize> {
    u.int_in_range(0..=max)
}

fn timeout(u: &mut Unstructured, usual: &[u64]) -> Result<u64> {
    if u.ratio(3, 4)? {
        Ok(*u.choose(usual)?)
    } else {
        u.arbitrary()
    }
}

/// A secret reference: one that parses, from near-valid text.
pub fn secret_ref(u: &mut Unstructured) -> Result<Option<SecretRef>> {
    Ok(text(u, SECRET_REFS)?.parse().ok())
}

pub fn stage_config(u: &mut Unstructured) -> Result<StageConfig> {
    let mut environment = BTreeMap::new();
    for _ in 0..small_len(u, 4)? {
        environment.insert(text(u, ENV_NAMES)?, text(u, &["staging", "", "a: b"])?);
    }
    let mut secrets = BTreeMap::new();
    for _ in 0..small_len(u, 4)? {
        let name = text(u, ENV_NAMES)?;
        if let Some(secret) = secret_ref(u)? {
            secrets.insert(name, secret);
        }
    }
    let tags: Vec<String> = (0..small_len(u, 3)?)
        .map(|_| text(u, TAG_GLOBS))
        .collect::<Result<_>>()?;
    // Built through serde, as a stevedore.yaml is, so fields added later take their defaults.
    let stage = serde_json::json!({
        "cluster": text(u, &["demo", ""])?,
        "service": text(u, &["backend-staging", ""])?,
        "tags": tags,
        "deploy_timeout_seconds": timeout(u, &[900, 30, 29, 86_400, 86_401])?,
        "environment": environment,
        "secrets": secrets,
    });
    Ok(serde_json::from_value(stage).expect("a generated stage deserializes"))
}

pub fn app_config(u: &mut Unstructured) -> Result<AppConfig> {
    let mut app = serde_json::Map::new();
    app.insert("repository".into(), text(u, REPOSITORIES)?.into());
    if u.arbitrary()? {
        let containers: Vec<String> = (0..small_len(u, 3)?)
            .map(|_| text(u, CONTAINERS))
            .collect::<Result<_>>()?;
        app.insert("containers".into(), containers.into());
    }
    if u.arbitrary()? {
        let mut migration = serde_json::Map::new();
        let command: Vec<String> = (0..small_len(u, 3)?)
            .map(|_| text(u, &["bin/migrate", "up", ""]))
            .collect::<Result<_>>()?;
        migration.insert("command".into(), command.into());
        if u.arbitrary()? {
            migration.insert("container".into(), text(u, CONTAINERS)?.into());
        }
        if u.arbitrary()? {
            let timeout = timeout(u, &[600, 1, 0, 86_400, 86_401])?;
            migration.insert("timeout_seconds".into(), timeout.into());
        }
        app.insert("migration".into(), migration.into());
    }
    let mut stages = BTreeMap::new();
    for _ in 0..small_len(u, 3)? {
        stages.insert(text(u, NAMES)?, stage_config(u)?);
    }
    app.insert(
        "stages".into(),
        serde_json::to_value(stages).expect("stages serialize"),
    );
    // Built through serde, as a stevedore.yaml is, so fields added later take their defaults.
    Ok(serde_json::from_value(app.into()).expect("a generated app deserializes"))
}

pub fn stevedore_file(u: &mut Unstructured) -> Result<StevedoreFile> {
    let mut apps = BTreeMap::new();
    for _ in 0..small_len(u, 3)? {
        apps.insert(text(u, NAMES)?, app_config(u)?);
    }
    Ok(StevedoreFile { apps })
}

/// A JSON value of bounded depth, for replacing fields of a valid event.
pub fn json_value(u: &mut Unstructured, depth: u8) -> Result<Value> {
    Ok(match u.int_in_range(0..=7u8)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => serde_json::Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        4 if depth > 0 => Value::Array(
            (0..small_len(u, 3)?)
                .map(|_| json_value(u, depth - 1))
                .collect::<Result<_>>()?,
        ),
        5 if depth > 0 => Value::Object(
            (0..small_len(u, 3)?)
                .map(|_| {
                    Ok((
                        text(u, &["detail", "time", "id"])?,
                        json_value(u, depth - 1)?,
                    ))
                })
                .collect::<Result<_>>()?,
        ),
        _ => Value::String(text(
            u,
            &[DIGEST, "PUSH", "SUCCESS", "2026-11-21T12:00:00Z"],
        )?),
    })
}

/// Structured mutations of a valid event: each step sets one field (top level or in
/// `detail`) to a near-valid string or any JSON value, or removes it.
pub fn mutate_event(
    u: &mut Unstructured,
    event: &mut Value,
    detail_vocabulary: &[(&str, &[&str])],
) -> Result<()> {
    const TOP: &[&str] = &[
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ];
    const TIMES: &[&str] = &[
        "2026-11-21T12:00:00Z",
        "2026-11-21T12:00:00.123456789+14:00",
        "+262142-12-31T23:59:59Z",
        "-262143-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:60Z",
    ];
    for _ in 0..u.int_in_range(1..=6u8)? {
        let in_detail = u.ratio(2, 3)?;
        let target = if in_detail {
            match event.get_mut("detail") {
                Some(Value::Object(detail)) => detail,
                _ => continue,
            }
        } else {
            match event {
                Value::Object(top) => top,
                _ => return Ok(()),
            }
        };
        let (key, vocabulary): (&str, &[&str]) = if in_detail {
            *u.choose(detail_vocabulary)?
        } else {
            let key = *u.choose(TOP)?;
            (key, if key == "time" { TIMES } else { &[] })
        };
        match u.int_in_range(0..=5u8)? {
            0 => {
                target.remove(key);
            }
            1 => {
                target.insert(key.to_string(), json_value(u, 2)?);
            }
            _ => {
                target.insert(key.to_string(), Value::String(text(u, vocabulary)?));
            }
        }
    }
    Ok(())
}
