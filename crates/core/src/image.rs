//! Image references: building the digest-pinned URI and finding where an image is stored.
//!
//! An image reference is `[registry/]repository[:tag][@digest]`. Two images come from the same
//! ECR repository only when their registries (account and region) and repository names are
//! all equal: `backend` in another account's registry is another repository.

/// The ECR image URI pinned by digest: `{account}.dkr.ecr.{region}.amazonaws.com/{repository}@{digest}`.
pub fn image_uri(account: &str, region: &str, repository: &str, digest: &str) -> String {
    format!("{account}.dkr.ecr.{region}.amazonaws.com/{repository}@{digest}")
}

/// The registry host (if the reference names one) and the repository of an image reference,
/// without tag or digest. `None` when no repository is left.
///
/// The first path segment is a registry when it holds a `.` or `:` or is `localhost`
/// (the rule Docker uses).
fn split_image(image: &str) -> Option<(Option<&str>, &str)> {
    let without_digest = image.split_once('@').map_or(image, |(name, _)| name);
    let (registry, path) = match without_digest.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), rest)
        }
        _ => (None, without_digest),
    };
    // A tag follows the last `:` after the last `/`.
    let last_segment_start = path.rfind('/').map_or(0, |slash| slash + 1);
    let repository = match path[last_segment_start..].rfind(':') {
        Some(colon) => &path[..last_segment_start + colon],
        None => path,
    };
    (!repository.is_empty()).then_some((registry, repository))
}

/// The repository part of an image reference, without registry, tag or digest:
/// `123.dkr.ecr.us-east-1.amazonaws.com/team/backend:tag` → `team/backend`, `nginx:latest` → `nginx`.
/// `None` when nothing is left.
pub fn image_repository(image: &str) -> Option<&str> {
    split_image(image).map(|(_, repository)| repository)
}

/// One account's ECR private registry in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRegistry {
    pub account: String,
    pub region: String,
}

impl EcrRegistry {
    /// The registry a host name addresses, or `None` when it is not an ECR private registry
    /// (Docker Hub, ECR Public, any other registry).
    ///
    /// A private registry is `{account}.dkr.ecr.{region}.amazonaws.com` (`.amazonaws.com.cn` in
    /// the China regions), see
    /// <https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html>; its dual-stack
    /// endpoint for Docker and OCI clients is `{account}.dkr-ecr.{region}.on.aws`, see
    /// <https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-requests.html>. Host names are
    /// case-insensitive.
    pub fn from_host(host: &str) -> Option<Self> {
        let host = host.to_ascii_lowercase();
        let (name, infix) = if let Some(name) = host.strip_suffix(".on.aws") {
            (name, ".dkr-ecr.")
        } else {
            let name = host
                .strip_suffix(".amazonaws.com")
                .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
            (name, ".dkr.ecr.")
        };
        let (account, region) = name.split_once(infix)?;
        let is_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        let is_region = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        (is_account && is_region).then(|| EcrRegistry {
            account: account.to_string(),
            region: region.to_string(),
        })
    }
}

/// An ECR repository: its registry and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRepository {
    pub registry: EcrRegistry,
    pub name: String,
}

impl EcrRepository {
    /// The ECR repository an image reference points into; `None` when the image is not from
    /// an ECR private registry.
    pub fn of_image(image: &str) -> Option<Self> {
        let (Some(host), name) = split_image(image)? else {
            return None;
        };
        Some(EcrRepository {
            registry: EcrRegistry::from_host(host)?,
            name: name.to_string(),
        })
    }

    /// Whether `image` (any tag or digest) is stored in this repository.
    pub fn holds(&self, image: &str) -> bool {
        EcrRepository::of_image(image).as_ref() == Some(self)
    }
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
