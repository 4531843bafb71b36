//! One entry of a stage's `tags:` list: a glob (`main-*`) or a semver rule
//! (`{semver: ">=1.4, <2", prerelease: true}`), and how a pushed tag reads as a version.

use std::fmt;

use globset::Glob;
pub use semver::Version;
use semver::{Comparator, Op, Prerelease, VersionReq};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// A rule that selects pushed tags for a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TagRule {
    /// A glob matched against the whole tag.
    Glob(String),
    /// A semver requirement matched against the tag read as a version.
    Semver(SemverRule),
}

/// `{semver: ">=1.4, <2", prerelease: false}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SemverRule {
    /// A requirement in the `semver` crate's syntax: comma-separated comparators
    /// (`>=1.4, <2`, `^1.4`, `~1.4.2`, `*`), https://docs.rs/semver/1.0.28/semver/struct.VersionReq.html.
    pub semver: String,
    /// Whether pre-releases (`1.5.0-rc1`) may match; by default they never do.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prerelease: bool,
}

/// The version a tag names: `1.4.2` or `v1.4.2` (one leading `v`); `None` for any other tag.
pub fn parse_version(tag: &str) -> Option<Version> {
    Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

impl TagRule {
    /// Whether a pushed `tag` selects the stage. A rule that does not compile matches
    /// nothing; validation rejects such configs on apply.
    pub fn matches(&self, tag: &str) -> bool {
        match self {
            TagRule::Glob(pattern) => {
                Glob::new(pattern).is_ok_and(|glob| glob.compile_matcher().is_match(tag))
            }
            TagRule::Semver(rule) => rule.matches(tag),
        }
    }

    pub fn is_semver(&self) -> bool {
        matches!(self, TagRule::Semver(_))
    }
}

impl SemverRule {
    pub fn requirement(&self) -> Result<VersionReq, semver::Error> {
        VersionReq::parse(&self.semver)
    }

    /// Whether `tag` reads as a version that satisfies the requirement. Build metadata is
    /// ignored (https://docs.rs/semver/1.0.28/semver/struct.BuildMetadata.html).
    pub fn matches(&self, tag: &str) -> bool {
        let (Ok(requirement), Some(version)) = (self.requirement(), parse_version(tag)) else {
            return false;
        };
        if version.pre.is_empty() {
            return requirement.matches(&version);
        }
        self.prerelease && matches_prerelease(&requirement, &version)
    }
}

/// `prerelease: true`: whether a pre-release satisfies every comparator by version order.
/// semver itself lets a pre-release satisfy a requirement only if a comparator with the same
/// major.minor.patch names a pre-release too
/// (https://docs.rs/semver/1.0.28/semver/struct.VersionReq.html#method.matches); each
/// comparator is checked with that gate lifted by a second one that every pre-release of the
/// version's own major.minor.patch satisfies (`0` is the lowest pre-release). Partial
/// comparators that compare for equality (`=1.2`, `1.2.*`, `<=1.2`) cover every 1.2.x, so
/// they are checked against the release the pre-release leads to; a partial `>=1.2` means
/// `>=1.2.0` (https://docs.rs/semver/1.0.28/semver/enum.Op.html). A partial upper bound
/// (`<2`) keeps rejecting `2.0.0-rc1`, as semver does.
fn matches_prerelease(requirement: &VersionReq, version: &Version) -> bool {
    let Ok(lowest) = Prerelease::new("0") else {
        return false;
    };
    let gate_lifter = Comparator {
        op: Op::GreaterEq,
        major: version.major,
        minor: Some(version.minor),
        patch: Some(version.patch),
        pre: lowest,
    };
    let release = Version::new(version.major, version.minor, version.patch);
    requirement.comparators.iter().all(|comparator| {
        let partial = comparator.patch.is_none();
        let checked = match comparator.op {
            Op::Exact | Op::Wildcard | Op::LessEq if partial => {
                return comparator.matches(&release)
            }
            Op::GreaterEq if partial => Comparator {
                minor: Some(comparator.minor.unwrap_or(0)),
                patch: Some(0),
                ..comparator.clone()
            },
            _ => comparator.clone(),
        };
        VersionReq {
            comparators: vec![checked, gate_lifter.clone()],
        }
        .matches(version)
    })
}

impl PartialEq<&str> for TagRule {
    fn eq(&self, other: &&str) -> bool {
        matches!(self, TagRule::Glob(pattern) if pattern == other)
    }
}

impl<'de> Deserialize<'de> for TagRule {
    /// By hand rather than `untagged`, so a bad entry gets a message that says what a tag
    /// rule is instead of "did not match any variant".
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RuleVisitor;

        impl<'de> Visitor<'de> for RuleVisitor {
            type Value = TagRule;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a tag glob (a string) or a semver rule ({semver: \">=1.4, <2\", prerelease: false})",
                )
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<TagRule, E> {
                Ok(TagRule::Glob(value.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TagRule, A::Error> {
                SemverRule::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(TagRule::Semver)
            }
        }

        deserializer.deserialize_any(RuleVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(requirement: &str, prerelease: bool) -> TagRule {
        TagRule::Semver(SemverRule {
            semver: requirement.into(),
            prerelease,
        })
    }

    #[test]
    fn a_leading_v_is_optional() {
        let stable = rule(">=1.4, <2", false);
        assert!(stable.matches("v1.4.2"));
        assert!(stable.matches("1.4.2"));
        assert!(!stable.matches("vv1.4.2"));
        assert!(!stable.matches("V1.4.2"));
        assert!(!stable.matches("v2.0.0"));
        assert!(!stable.matches("v1.3.9"));
        assert!(!stable.matches("main-1a2b3c"));
        assert!(!stable.matches("1.02.0"), "leading zeros are not semver");
    }

    #[test]
    fn pre_releases_only_match_when_the_rule_opts_in() {
        let stable = rule(">=1.2.3", false);
        assert!(stable.matches("v1.2.3"));
        assert!(!stable.matches("v1.2.3-rc1"));
        assert!(!stable.matches("v1.3.0-rc1"));
        let with_pre = rule(">=1.2, <1.5.0", true);
        assert!(with_pre.matches("v1.2.3-rc1"));
        assert!(with_pre.matches("1.5.0-rc1"), "1.5.0-rc1 < 1.5.0");
        assert!(with_pre.matches("v1.2.3"));
        assert!(!rule(">=1.4, <2", true).matches("2.0.0-rc1"));
        assert!(!rule("=1.5.0", true).matches("1.5.0-rc1"));
        assert!(rule("*", true).matches("0.1.0-alpha.1"));
        assert!(!rule("*", false).matches("0.1.0-alpha.1"));
        assert!(
            rule("<1.2.3", true).matches("1.2.3-rc1"),
            "1.2.3-rc1 < 1.2.3"
        );
    }

    #[test]
    fn build_metadata_is_ignored() {
        assert!(rule(">=1.2.3", false).matches("1.2.3+build5"));
        assert!(rule("=1.2.3", false).matches("v1.2.3+build5"));
        assert!(!rule(">1.2.3", false).matches("1.2.3+build5"));
        let (plain, built) = (parse_version("v1.2.3"), parse_version("1.2.3+build5"));
        let (Some(plain), Some(built)) = (plain, built) else {
            panic!("both parse");
        };
        assert_eq!(plain.cmp_precedence(&built), std::cmp::Ordering::Equal);
    }

    #[test]
    fn globs_match_the_whole_tag() {
        let glob = TagRule::Glob("main-*".into());
        assert!(glob.matches("main-1"));
        assert!(!glob.matches("hotfix-main-1"));
        assert!(!TagRule::Glob("[".into()).matches("["));
        assert!(!rule(">=1,,", false).matches("1.0.0"));
    }

    #[test]
    fn rules_read_and_write_as_strings_or_maps() {
        let rules: Vec<TagRule> = serde_json::from_str(
            r#"["v*", {"semver": "^1.4"}, {"semver": "*", "prerelease": true}]"#,
        )
        .expect("valid");
        assert_eq!(
            rules,
            [
                TagRule::Glob("v*".into()),
                rule("^1.4", false),
                rule("*", true)
            ]
        );
        assert_eq!(
            serde_json::to_string(&rules).expect("serializes"),
            r#"["v*",{"semver":"^1.4"},{"semver":"*","prerelease":true}]"#
        );
        let error = serde_json::from_str::<Vec<TagRule>>(r#"[{"semver": "1", "pre": true}]"#)
            .expect_err("unknown field");
        assert!(error.to_string().contains("unknown field `pre`"), "{error}");
        let error = serde_json::from_str::<Vec<TagRule>>("[3]").expect_err("a number");
        assert!(error.to_string().contains("a tag glob"), "{error}");
    }
}
