//! What `stevedore where` accepts: a digest (`sha256:<64 hex>`, or the 64 hex digits alone),
//! a tag (`v1.4.0`), or an image reference (`[registry/]repository@sha256:...` or
//! `[registry/]repository:tag`, as `docker pull` takes them).

/// An image named by digest or by tag, optionally of one ECR repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageQuery {
    /// The repository the reference names (its registry host removed).
    pub repository: Option<String>,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Digest(String),
    Tag(String),
}

pub fn parse(arg: &str) -> Result<ImageQuery, String> {
    let arg = arg.trim();
    if arg.is_empty() {
        return Err(
            "name an image: a digest, a tag, or repository@sha256:... / repository:tag".into(),
        );
    }
    if let Some((name, digest)) = arg.rsplit_once('@') {
        return Ok(ImageQuery {
            repository: Some(repository(name)?),
            target: Target::Digest(digest_of(digest)?),
        });
    }
    if arg.starts_with("sha256:") || is_hex64(arg) {
        return Ok(ImageQuery {
            repository: None,
            target: Target::Digest(digest_of(arg)?),
        });
    }
    // The tag of a reference follows the last `:` after the last `/` (a registry may have a port).
    let last_segment = arg.rsplit('/').next().unwrap_or(arg);
    if arg.contains('/') || last_segment.contains(':') {
        let Some((name, tag)) = arg.rsplit_once(':').filter(|(_, tag)| !tag.contains('/')) else {
            return Err(format!(
                "`{arg}` names a repository but no image: add `:TAG` or `@sha256:DIGEST`"
            ));
        };
        return Ok(ImageQuery {
            repository: Some(repository(name)?),
            target: Target::Tag(tag_of(tag)?),
        });
    }
    Ok(ImageQuery {
        repository: None,
        target: Target::Tag(tag_of(arg)?),
    })
}

fn is_hex64(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `sha256:` and 64 lowercase hex digits.
fn digest_of(text: &str) -> Result<String, String> {
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    if is_hex64(hex) {
        Ok(format!("sha256:{}", hex.to_ascii_lowercase()))
    } else {
        Err(format!(
            "`{text}` is not a whole digest: `sha256:` and 64 hex digits (a short digest cannot be looked up)"
        ))
    }
}

/// A Docker tag: up to 128 of `[A-Za-z0-9_.-]`, not starting with `.` or `-`.
fn tag_of(text: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text.len() <= 128
        && !text.starts_with(['.', '-'])
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` is not an image tag"))
    }
}

/// The repository of an image name: its first part is a registry when it has a `.` or a
/// `:` or is `localhost` (Docker's rule), and is dropped then.
fn repository(name: &str) -> Result<String, String> {
    let repository = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => rest,
        _ => name,
    };
    if repository.is_empty() {
        return Err(format!("`{name}` names no repository"));
    }
    Ok(repository.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "3f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

    fn digest(repository: Option<&str>) -> ImageQuery {
        ImageQuery {
            repository: repository.map(str::to_string),
            target: Target::Digest(format!("sha256:{HEX}")),
        }
    }

    fn tag(repository: Option<&str>, tag: &str) -> ImageQuery {
        ImageQuery {
            repository: repository.map(str::to_string),
            target: Target::Tag(tag.into()),
        }
    }

    #[test]
    fn digests_alone_or_in_a_reference() {
        assert_eq!(parse(&format!("sha256:{HEX}")), Ok(digest(None)));
        assert_eq!(parse(HEX), Ok(digest(None)));
        assert_eq!(
            parse(&format!("sha256:{}", HEX.to_uppercase())),
            Ok(digest(None))
        );
        assert_eq!(
            parse(&format!("backend@sha256:{HEX}")),
            Ok(digest(Some("backend")))
        );
        assert_eq!(
            parse(&format!(
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/backend@sha256:{HEX}"
            )),
            Ok(digest(Some("team/backend")))
        );
    }

    #[test]
    fn tags_alone_or_in_a_reference() {
        assert_eq!(parse("v1.4.0"), Ok(tag(None, "v1.4.0")));
        assert_eq!(parse("develop-1a2b3c4"), Ok(tag(None, "develop-1a2b3c4")));
        assert_eq!(parse("backend:v1.4.0"), Ok(tag(Some("backend"), "v1.4.0")));
        assert_eq!(
            parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/backend:main-9f8e7d6"),
            Ok(tag(Some("backend"), "main-9f8e7d6"))
        );
        assert_eq!(
            parse("localhost:5000/backend:v2"),
            Ok(tag(Some("backend"), "v2"))
        );
        assert_eq!(
            parse("team/backend:v2"),
            Ok(tag(Some("team/backend"), "v2"))
        );
    }

    #[test]
    fn what_cannot_be_looked_up_is_refused_with_the_reason() {
        let err = |arg: &str| parse(arg).unwrap_err();
        assert!(err("sha256:3f1a2b3c4d5e").contains("not a whole digest"));
        assert!(err("backend@sha256:zz").contains("not a whole digest"));
        assert!(err("team/backend").contains("no image"));
        assert!(err("localhost:5000/backend").contains("no image"));
        assert!(err("-v1").contains("not an image tag"));
        assert!(err("v1 2").contains("not an image tag"));
        assert!(err("").contains("name an image"));
        assert!(err(&format!("@sha256:{HEX}")).contains("names no repository"));
    }
}
