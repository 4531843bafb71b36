use super::*;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn builds_a_digest_pinned_uri() {
    assert_eq!(
        image_uri("123456789012", "us-east-1", "team/backend", DIGEST),
        format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/backend@{DIGEST}")
    );
}

#[test]
fn finds_the_repository() {
    let cases = [
        (
            "123.dkr.ecr.us-east-1.amazonaws.com/backend:tag",
            Some("backend"),
        ),
        (
            &format!("123.dkr.ecr.us-east-1.amazonaws.com/team/backend@{DIGEST}"),
            Some("team/backend"),
        ),
        (
            &format!("123.dkr.ecr.us-east-1.amazonaws.com/backend:v1@{DIGEST}"),
            Some("backend"),
        ),
        ("nginx:latest", Some("nginx")),
        ("nginx", Some("nginx")),
        ("docker.io/library/nginx", Some("library/nginx")),
        ("localhost:5000/app:1", Some("app")),
        ("localhost/app", Some("app")),
        ("team/app:1", Some("team/app")),
        ("", None),
        (":tag", None),
    ];
    for (image, expected) in cases {
        assert_eq!(image_repository(image), expected, "{image}");
    }
}

#[test]
fn round_trips_with_image_uri() {
    let uri = image_uri("123456789012", "eu-west-1", "backend", DIGEST);
    assert_eq!(image_repository(&uri), Some("backend"));
    let repository = EcrRepository::of_image(&uri).expect("ECR");
    assert_eq!(repository.registry.account, "123456789012");
    assert_eq!(repository.registry.region, "eu-west-1");
    assert_eq!(repository.name, "backend");
}

fn backend() -> EcrRepository {
    EcrRepository::of_image(&image_uri("123456789012", "us-east-1", "backend", DIGEST))
        .expect("ECR")
}

#[test]
fn the_right_registry_with_a_tag_or_a_digest_matches() {
    let repository = backend();
    for image in [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/backend".to_string(),
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/backend:develop-1".to_string(),
        format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/backend@{DIGEST}"),
        format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/backend:v1@{DIGEST}"),
        // Host names are case-insensitive; the dual-stack endpoint is the same registry.
        "123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM/backend:v1".to_string(),
        "123456789012.dkr-ecr.us-east-1.on.aws/backend:v1".to_string(),
    ] {
        assert!(repository.holds(&image), "{image}");
    }
}

#[test]
fn the_same_repository_name_elsewhere_does_not_match() {
    let repository = backend();
    for image in [
        // Another account's registry, same region and name.
        "999999999999.dkr.ecr.us-east-1.amazonaws.com/backend:sidecar",
        // Another region of the same account.
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend:sidecar",
        // Both.
        "999999999999.dkr.ecr.eu-west-1.amazonaws.com/backend:sidecar",
        // Not ECR private registries at all.
        "backend:latest",
        "docker.io/backend:latest",
        "public.ecr.aws/backend:latest",
        "registry.example.com/backend:1",
        "localhost:5000/backend:1",
        // Another repository of the same registry.
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/backend:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/backend-worker:1",
    ] {
        assert!(!repository.holds(image), "{image}");
    }
}

#[test]
fn registry_hosts_are_parsed_strictly() {
    let registry = |host: &str| EcrRegistry::from_host(host).map(|r| (r.account, r.region));
    assert_eq!(
        registry("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
        Some(("123456789012".into(), "cn-north-1".into()))
    );
    for host in [
        "12345.dkr.ecr.us-east-1.amazonaws.com",
        "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
        "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr..amazonaws.com",
        "123456789012.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
        "123456789012.dkr.ecr.us-east-1.on.aws",
        "public.ecr.aws",
        "",
    ] {
        assert_eq!(registry(host), None, "{host}");
    }
}
