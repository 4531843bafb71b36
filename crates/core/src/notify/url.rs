//! The URL a destination's secret holds, and where notify may send to. No message here
//! repeats the secret's value or the URL: either may be the secret itself (a Slack incoming
//! webhook URL is its own credential).

use std::net::IpAddr;

/// The URL in a destination secret's value: the value itself (trimmed), or the `url` of a
/// JSON object.
pub fn url_from_secret(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.starts_with('{') {
        let parsed: serde_json::Value = serde_json::from_str(value)
            .map_err(|_| "holds a JSON value that does not parse".to_string())?;
        return match parsed.get("url").and_then(|url| url.as_str()) {
            Some(url) if !url.trim().is_empty() => Ok(url.trim().to_string()),
            _ => Err("holds JSON without a `url` string".into()),
        };
    }
    if value.is_empty() {
        return Err("is empty".into());
    }
    Ok(value.to_string())
}

/// Whether notify may POST to `scheme://host`: https anywhere; http only to a loopback host
/// (`localhost`, 127.0.0.0/8, `::1`), for a receiver on the same machine (local development,
/// the emulator's webhook receiver). A message goes out with the release's details, and a
/// Slack URL is a credential: neither travels in clear text over a network.
pub fn check_target(scheme: Option<&str>, host: Option<&str>) -> Result<(), String> {
    let host = host.filter(|h| !h.is_empty()).ok_or("has no host")?;
    match scheme.map(str::to_ascii_lowercase).as_deref() {
        Some("https") => Ok(()),
        Some("http") if is_loopback(host) => Ok(()),
        Some("http") => Err("is an http:// URL to a host that is not loopback; use https:// (http:// is accepted only for a receiver on the same machine)".into()),
        _ => Err("is not an https:// URL".into()),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_holds_the_url_plain_or_as_json() {
        assert_eq!(
            url_from_secret(" https://hooks.example.com/a \n").as_deref(),
            Ok("https://hooks.example.com/a")
        );
        assert_eq!(
            url_from_secret(r#"{"url": "https://hooks.example.com/b", "note": "x"}"#).as_deref(),
            Ok("https://hooks.example.com/b")
        );
        for bad in [
            "",
            "  ",
            r#"{"uri": "https://x"}"#,
            r#"{"url": 3}"#,
            "{not json",
        ] {
            let error = url_from_secret(bad).unwrap_err();
            assert!(!error.contains("https://x"), "{error}");
        }
    }

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        assert_eq!(check_target(Some("https"), Some("hooks.slack.com")), Ok(()));
        assert_eq!(check_target(Some("HTTPS"), Some("10.0.0.1")), Ok(()));
        for host in ["127.0.0.1", "127.8.9.10", "localhost", "[::1]", "::1"] {
            assert_eq!(check_target(Some("http"), Some(host)), Ok(()), "{host}");
        }
        for host in [
            "hooks.slack.com",
            "10.0.0.1",
            "localhost.example.com",
            "[::2]",
            "0.0.0.0",
        ] {
            let error = check_target(Some("http"), Some(host)).unwrap_err();
            assert!(error.contains("use https://"), "{host}: {error}");
            assert!(!error.contains(host), "{error}");
        }
        assert!(check_target(Some("ftp"), Some("example.com")).is_err());
        assert!(check_target(None, Some("example.com")).is_err());
        assert_eq!(check_target(Some("https"), None), Err("has no host".into()));
    }
}
