//! One ECS service, however a stage names it. A stage may give its cluster and service by
//! name or by ARN; the lock and the one-stage-per-service rule must see the same service
//! behind both spellings.

use std::collections::BTreeMap;

use super::StevedoreFile;

/// Cluster and service names: "Up to 255 letters (uppercase and lowercase), numbers,
/// underscores, and hyphens are allowed."
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
fn is_valid_ecs_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `(cluster name, service name)` of a stage's `cluster` and `service`, each a name or an ARN
/// (`arn:<partition>:ecs:<region>:<account>:cluster/<name>`; a service ARN is
/// `…:service/<cluster>/<name>`, or `…:service/<name>` in the old format). The error names
/// the field (`cluster` or `service`) and what is wrong.
pub fn service_identity(
    cluster: &str,
    service: &str,
) -> Result<(String, String), (&'static str, String)> {
    let cluster_name = match resource_path(cluster, "cluster") {
        Some(path) => path.to_string(),
        None => cluster.to_string(),
    };
    if !is_valid_ecs_name(&cluster_name) {
        return Err((
            "cluster",
            format!("{cluster:?} is not an ECS cluster name or ARN (1-255 letters, digits, `-` and `_`)"),
        ));
    }
    let service_name = match resource_path(service, "service") {
        Some(path) => match path.split_once('/') {
            Some((arn_cluster, name)) if arn_cluster == cluster_name => name.to_string(),
            Some((arn_cluster, _)) => {
                return Err((
                    "service",
                    format!(
                    "{service:?} is a service of cluster `{arn_cluster}`, not of `{cluster_name}`"
                ),
                ))
            }
            None => path.to_string(),
        },
        None => service.to_string(),
    };
    if !is_valid_ecs_name(&service_name) {
        return Err((
            "service",
            format!("{service:?} is not an ECS service name or ARN (1-255 letters, digits, `-` and `_`)"),
        ));
    }
    Ok((cluster_name, service_name))
}

/// The part after `<kind>/` of an ECS ARN of that resource kind.
fn resource_path<'a>(value: &'a str, kind: &str) -> Option<&'a str> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "ecs", _, _, resource] => resource.strip_prefix(kind)?.strip_prefix('/'),
        _ => None,
    }
}

/// The stage (`apps.<app>.stages.<stage>`) that deploys each service of the file; an error
/// names both stages when two deploy the same service (each stage has its own lock, so two
/// could roll the service out at once).
pub fn stages_by_service(
    file: &StevedoreFile,
) -> Result<BTreeMap<(String, String), String>, String> {
    let mut owners: BTreeMap<(String, String), String> = BTreeMap::new();
    for (app, config) in &file.apps {
        for (stage, settings) in &config.stages {
            let stage_path = format!("apps.{app}.stages.{stage}");
            for service in settings.services() {
                let Ok(id) = service_identity(&settings.cluster, service.service) else {
                    continue; // reported by validation, located
                };
                let path = format!("{stage_path}.{}", service.field);
                if let Some(first) = owners.get(&id) {
                    if *first == stage_path {
                        continue; // listed twice in one stage: validation names it
                    }
                    return Err(format!(
                        "{path}: deploys ECS service `{}` of cluster `{}`, which {first} deploys already; one stage per service (each stage has its own deploy lock)",
                        id.1, id.0
                    ));
                }
                owners.insert(id, stage_path.clone());
            }
        }
    }
    Ok(owners)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ecs:us-east-1:123456789012";

    #[test]
    fn names_and_arns_name_the_same_service() {
        let by_name = service_identity("demo", "web").expect("names");
        assert_eq!(by_name, ("demo".to_string(), "web".to_string()));
        let by_arn = service_identity(
            &format!("{ARN}:cluster/demo"),
            &format!("{ARN}:service/demo/web"),
        );
        assert_eq!(by_arn.expect("ARNs"), by_name);
        let old_format = service_identity("demo", &format!("{ARN}:service/web"));
        assert_eq!(old_format.expect("old service ARN"), by_name);
    }

    #[test]
    fn bad_names_name_the_field() {
        assert_eq!(service_identity("de#mo", "web").unwrap_err().0, "cluster");
        assert_eq!(service_identity("demo", "web#1").unwrap_err().0, "service");
        assert_eq!(service_identity("", "web").unwrap_err().0, "cluster");
        assert_eq!(
            service_identity("demo", &"w".repeat(256)).unwrap_err().0,
            "service"
        );
        let other = service_identity("demo", &format!("{ARN}:service/prod/web")).unwrap_err();
        assert_eq!(other.0, "service");
        assert!(other.1.contains("cluster `prod`"), "{}", other.1);
    }
}
