//! References to Secrets Manager secrets and SSM Parameter Store parameters, as written in
//! stevedore.yaml.
//!
//! Stevedore never reads secret values: a reference is resolved to the secret's full ARN
//! (DescribeSecret) or the parameter's ARN (DescribeParameters) and handed to ECS as
//! `valueFrom`, and ECS reads the value at task start.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

const MAX_SECRET_NAME_LEN: usize = 512;
const MAX_PARAMETER_NAME_LEN: usize = 2048;
const SSM_PREFIX: &str = "ssm:";

/// How a secret is identified: by name (resolved to its ARN at render time) or by ARN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecretId {
    Name(String),
    Arn(String),
    /// An SSM Parameter Store parameter, written `ssm:/path/to/parameter`.
    SsmParameter(String),
}

/// A secret, optionally narrowed to one key of its JSON value.
///
/// Written as `name`, `name:json-key`, `arn:...:secret:name-AbCdEf` or that ARN followed by
/// `:json-key`, or `ssm:/parameter/name` for Parameter Store (no JSON key there).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecretRef {
    pub secret: SecretId,
    pub json_key: Option<String>,
}

impl SecretRef {
    /// The secret's name or ARN, as DescribeSecret's `SecretId` accepts it.
    pub fn lookup_id(&self) -> &str {
        match &self.secret {
            SecretId::Name(name) | SecretId::SsmParameter(name) => name,
            SecretId::Arn(arn) => arn,
        }
    }

    /// The ECS `valueFrom` for this reference, given the secret's full ARN.
    ///
    /// ECS wants `arn:...:secret:name-AbCdEf:json-key:version-stage:version-id`; empty
    /// version fields mean "the current version".
    pub fn value_from(&self, full_arn: &str) -> String {
        match &self.json_key {
            Some(key) => format!("{full_arn}:{key}::"),
            None => full_arn.to_string(),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if matches!(self.secret, SecretId::SsmParameter(_)) {
            f.write_str(SSM_PREFIX)?;
        }
        f.write_str(self.lookup_id())?;
        if let Some(key) = &self.json_key {
            write!(f, ":{key}")?;
        }
        Ok(())
    }
}

impl From<SecretRef> for String {
    fn from(secret_ref: SecretRef) -> Self {
        secret_ref.to_string()
    }
}

impl TryFrom<String> for SecretRef {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl FromStr for SecretRef {
    type Err = String;

    /// Parses a reference; the error says what is wrong with `text`, for a person.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(name) = text.strip_prefix(SSM_PREFIX) {
            parse_parameter_ref(text, name)
        } else if text.starts_with("arn:") {
            parse_arn_ref(text)
        } else {
            parse_name_ref(text)
        }
    }
}

/// Parameter names: letters, digits and `_.-/`, up to 2048 characters (the JSON-key form
/// is Secrets Manager's only).
fn parse_parameter_ref(text: &str, name: &str) -> Result<SecretRef, String> {
    if name.is_empty() || name.len() > MAX_PARAMETER_NAME_LEN {
        return Err(format!(
            "parameter reference {text:?} needs a name of 1 to {MAX_PARAMETER_NAME_LEN} characters after `ssm:`"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.-/".contains(*c)))
    {
        return Err(format!(
            "parameter reference {text:?} contains {bad:?}; parameter names use letters, digits and _.-/ only"
        ));
    }
    let first = name.trim_start_matches('/').to_ascii_lowercase();
    if first.starts_with("aws") || first.starts_with("ssm") {
        return Err(format!(
            "parameter reference {text:?}: Parameter Store names may not begin with `aws` or `ssm`"
        ));
    }
    Ok(SecretRef {
        secret: SecretId::SsmParameter(name.to_string()),
        json_key: None,
    })
}

fn parse_name_ref(text: &str) -> Result<SecretRef, String> {
    let (name, json_key) = match text.split_once(':') {
        Some((name, key)) => (name, Some(parse_json_key(text, key)?)),
        None => (text, None),
    };
    check_secret_name(text, name)?;
    Ok(SecretRef {
        secret: SecretId::Name(name.to_string()),
        json_key,
    })
}

fn parse_arn_ref(text: &str) -> Result<SecretRef, String> {
    // arn:<partition>:secretsmanager:<region>:<account>:secret:<name-with-suffix>[:<json-key>]
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() < 7 || parts.len() > 8 {
        return Err(format!(
            "secret ARN {text:?} must look like arn:<partition>:secretsmanager:<region>:<account>:secret:<name>[:<json-key>]"
        ));
    }
    if parts[1].is_empty() {
        return Err(format!("secret ARN {text:?} has an empty partition"));
    }
    if parts[2] != "secretsmanager" {
        return Err(format!(
            "ARN {text:?} is for service `{}`, not a Secrets Manager secret",
            parts[2]
        ));
    }
    if parts[3].is_empty() {
        return Err(format!("secret ARN {text:?} has an empty region"));
    }
    if parts[4].len() != 12 || !parts[4].chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "secret ARN {text:?} has account `{}`, expected 12 digits",
            parts[4]
        ));
    }
    if parts[5] != "secret" {
        return Err(format!(
            "secret ARN {text:?} has resource type `{}`, expected `secret`",
            parts[5]
        ));
    }
    check_secret_name(text, parts[6])?;
    let json_key = match parts.get(7) {
        Some(key) => Some(parse_json_key(text, key)?),
        None => None,
    };
    Ok(SecretRef {
        secret: SecretId::Arn(parts[..7].join(":")),
        json_key,
    })
}

fn parse_json_key(text: &str, key: &str) -> Result<String, String> {
    if key.is_empty() {
        return Err(format!(
            "secret reference {text:?} ends with `:` but names no JSON key"
        ));
    }
    if key.contains(':') {
        // ECS reads `valueFrom` as colon-separated fields, so a `:` in the key would be
        // taken for the version stage.
        return Err(format!(
            "secret reference {text:?}: the JSON key `{key}` may not contain `:`"
        ));
    }
    Ok(key.to_string())
}

fn check_secret_name(text: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!(
            "secret reference {text:?} has an empty secret name"
        ));
    }
    if name.len() > MAX_SECRET_NAME_LEN {
        return Err(format!(
            "secret reference {text:?}: secret names are at most {MAX_SECRET_NAME_LEN} characters"
        ));
    }
    if let Some(bad) = name.chars().find(|c| !is_secret_name_char(*c)) {
        return Err(format!(
            "secret reference {text:?}: character {bad:?} is not allowed in a secret name (letters, digits and /_+=.@-)"
        ));
    }
    Ok(())
}

fn is_secret_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:staging/api-AbCdEf";

    fn parse(text: &str) -> Result<SecretRef, String> {
        text.parse()
    }

    #[test]
    fn plain_name() {
        let secret_ref = parse("staging/backend/db").expect("valid");
        assert_eq!(
            secret_ref.secret,
            SecretId::Name("staging/backend/db".into())
        );
        assert_eq!(secret_ref.json_key, None);
        assert_eq!(secret_ref.lookup_id(), "staging/backend/db");
        assert_eq!(secret_ref.value_from(ARN), ARN);
    }

    #[test]
    fn name_with_json_key() {
        let secret_ref = parse("staging/backend/db:password").expect("valid");
        assert_eq!(secret_ref.lookup_id(), "staging/backend/db");
        assert_eq!(secret_ref.json_key.as_deref(), Some("password"));
        assert_eq!(secret_ref.value_from(ARN), format!("{ARN}:password::"));
    }

    #[test]
    fn arn_and_arn_with_json_key() {
        let secret_ref = parse(ARN).expect("valid");
        assert_eq!(secret_ref.secret, SecretId::Arn(ARN.into()));
        assert_eq!(secret_ref.lookup_id(), ARN);
        assert_eq!(secret_ref.json_key, None);

        let with_key = parse(&format!("{ARN}:token")).expect("valid");
        assert_eq!(with_key.lookup_id(), ARN);
        assert_eq!(with_key.json_key.as_deref(), Some("token"));
        assert_eq!(with_key.value_from(ARN), format!("{ARN}:token::"));
    }

    #[test]
    fn display_gives_back_the_original_text() {
        for text in ["a/b", "a/b:key", ARN, &format!("{ARN}:k")] {
            assert_eq!(parse(text).expect("valid").to_string(), text);
        }
    }

    #[test]
    fn bad_arns_are_rejected() {
        let too_many = format!("{ARN}:key:AWSCURRENT");
        let error = parse(&too_many).expect_err("too many parts");
        assert!(error.contains("must look like"), "{error}");

        let error = parse("arn:aws:ssm:us-east-1:123456789012:secret:x").expect_err("service");
        assert!(error.contains("service `ssm`"), "{error}");

        let error =
            parse("arn:aws:secretsmanager:us-east-1:123456789012:secret").expect_err("short");
        assert!(error.contains("must look like"), "{error}");

        let error = parse("arn:aws:secretsmanager:us-east-1:12345:secret:x").expect_err("account");
        assert!(error.contains("12 digits"), "{error}");

        let error = parse("arn:aws:secretsmanager:us-east-1:123456789012:parameter:x")
            .expect_err("resource type");
        assert!(error.contains("expected `secret`"), "{error}");

        let error = parse("arn:aws:secretsmanager::123456789012:secret:x").expect_err("region");
        assert!(error.contains("empty region"), "{error}");
    }

    #[test]
    fn empty_key_name_and_bad_chars_are_rejected() {
        assert!(parse("db:").expect_err("empty key").contains("no JSON key"));
        assert!(parse(&format!("{ARN}:"))
            .expect_err("empty key")
            .contains("no JSON key"));
        assert!(parse("").expect_err("empty").contains("empty secret name"));
        assert!(parse(":key")
            .expect_err("empty")
            .contains("empty secret name"));
        assert!(parse("my secret").expect_err("space").contains("' '"));
        assert!(parse(&"a".repeat(513))
            .expect_err("long")
            .contains("at most 512"));
        assert!(parse("a:b:c")
            .expect_err("colon in key")
            .contains("may not contain `:`"));
    }

    #[test]
    fn serde_round_trip_as_a_string() {
        let secret_ref: SecretRef = serde_json::from_str("\"db:password\"").expect("valid");
        assert_eq!(secret_ref.json_key.as_deref(), Some("password"));
        assert_eq!(
            serde_json::to_string(&secret_ref).expect("serializes"),
            "\"db:password\""
        );
        let error = serde_json::from_str::<SecretRef>("\"db:\"").expect_err("invalid");
        assert!(error.to_string().contains("no JSON key"));
    }

    #[test]
    fn parameter_store_references() {
        let parameter = parse("ssm:/app/prod/db-url").expect("valid");
        assert_eq!(
            parameter.secret,
            SecretId::SsmParameter("/app/prod/db-url".into())
        );
        assert_eq!(parameter.lookup_id(), "/app/prod/db-url");
        assert_eq!(parameter.to_string(), "ssm:/app/prod/db-url");
        let arn = "arn:aws:ssm:us-east-1:123456789012:parameter/app/prod/db-url";
        assert_eq!(parameter.value_from(arn), arn);
        assert!(parse("ssm:").expect_err("empty").contains("needs a name"));
        assert!(parse("ssm:/ssm/x")
            .expect_err("reserved")
            .contains("may not begin"));
        assert!(parse("ssm:AWS-key")
            .expect_err("reserved")
            .contains("may not begin"));
        assert!(parse("ssm:/app/db:key")
            .expect_err("json key")
            .contains("':'"));
        assert_eq!(
            serde_json::to_string(&parameter).expect("serializes"),
            "\"ssm:/app/prod/db-url\""
        );
    }
}
