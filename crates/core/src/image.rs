//! Image references: building the digest-pinned URI and finding an image's repository.

/// The ECR image URI pinned by digest: `{account}.dkr.ecr.{region}.amazonaws.com/{repository}@{digest}`.
pub fn image_uri(account: &str, region: &str, repository: &str, digest: &str) -> String {
    format!("{account}.dkr.ecr.{region}.amazonaws.com/{repository}@{digest}")
}

/// The repository part of an image reference, without registry, tag or digest:
/// `123.dkr.ecr.us-east-1.amazonaws.com/team/backend:tag` → `team/backend`, `nginx:latest` → `nginx`.
///
/// The first path segment is a registry when it holds a `.` or `:` or is `localhost`
/// (the rule Docker uses). `None` when nothing is left.
pub fn image_repository(image: &str) -> Option<&str> {
    let without_digest = image.split_once('@').map_or(image, |(name, _)| name);
    let without_registry = match without_digest.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            rest
        }
        _ => without_digest,
    };
    // A tag follows the last `:` after the last `/`.
    let last_segment_start = without_registry.rfind('/').map_or(0, |slash| slash + 1);
    let repository = match without_registry[last_segment_start..].rfind(':') {
        Some(colon) => &without_registry[..last_segment_start + colon],
        None => without_registry,
    };
    (!repository.is_empty()).then_some(repository)
}

#[cfg(test)]
mod tests {
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
    }
}
