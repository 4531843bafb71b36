//! notify's HTTP client: one JSON POST to a destination's URL. The URL is a credential (a
//! Slack incoming webhook URL is all it takes to post to the channel): it is never logged,
//! and no error text carries it, nor its host or path.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use stevedore_core::notify::url::check_target;

use crate::lazy_https::LazyHttps;
use crate::smoke_probe::error_chain;

/// How much of a refusal's body is kept for the error (Slack answers `invalid_payload`,
/// `no_service`, ...).
const ERROR_BODY_BYTES: usize = 300;

/// One per function instance, built on the first delivery (TLS roots loaded once, and only
/// by an instance that delivers; connections reused).
#[derive(Clone)]
pub struct WebhookClient {
    client: LazyHttps<Full<Bytes>>,
    timeout: Duration,
}

impl WebhookClient {
    /// `timeout` bounds each request, answer included.
    pub fn new(timeout: Duration) -> std::io::Result<Self> {
        Ok(WebhookClient {
            client: LazyHttps::default(),
            timeout,
        })
    }

    /// POSTs `body` as JSON; Ok on a 2xx answer. `event_id` goes in `X-Stevedore-Event-Id`,
    /// so a receiver can drop a repeated delivery. The error never contains `url` or parts of it.
    pub async fn post_json(
        &self,
        url: &str,
        body: Vec<u8>,
        event_id: Option<&str>,
    ) -> Result<(), String> {
        let redact = |text: String| redact(text, url);
        let uri: hyper::Uri = url
            .parse()
            .map_err(|_| "the URL does not parse".to_string())?;
        check_target(uri.scheme_str(), uri.host()).map_err(|why| format!("the URL {why}"))?;
        let mut request = hyper::Request::post(uri)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, "stevedore-notify");
        if let Some(id) = event_id {
            request = request.header("X-Stevedore-Event-Id", id);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| redact(format!("invalid request: {e}")))?;
        let client = self.client.get()?;
        let answer = async {
            let response = client.request(request).await.map_err(|e| error_chain(&e))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let head = Limited::new(response.into_body(), ERROR_BODY_BYTES)
                .collect()
                .await
                .map(|body| body.to_bytes())
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&head);
            Err(format!("HTTP {}: {}", status.as_u16(), text.trim()))
        };
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(result) => result.map_err(redact),
            Err(_) => Err(format!("no answer within {} s", self.timeout.as_secs())),
        }
    }
}

/// `text` with the URL, its host and its path (and query) replaced by `<redacted>`.
fn redact(mut text: String, url: &str) -> String {
    let mut parts = vec![url.to_string()];
    if let Ok(uri) = url.parse::<hyper::Uri>() {
        parts.extend(uri.host().map(str::to_string));
        parts.extend(
            uri.path_and_query()
                .map(|p| p.as_str().to_string())
                .filter(|p| p.len() > 1),
        );
    }
    for part in parts.iter().filter(|p| !p.is_empty()) {
        text = text.replace(part.as_str(), "<redacted>");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn client() -> WebhookClient {
        WebhookClient::new(Duration::from_secs(5)).expect("TLS roots")
    }

    /// A one-shot HTTP server answering `status` with `body`; the request it read comes back
    /// through the channel.
    async fn server(
        status: u16,
        body: &'static str,
    ) -> (String, tokio::sync::oneshot::Receiver<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let (sender, receiver) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            if let Ok((mut socket, _)) = listener.accept().await {
                let mut buffer = vec![0u8; 16 * 1024];
                let mut read = 0;
                // Headers and the (small) body arrive in one or a few reads.
                while let Ok(n) = socket.read(&mut buffer[read..]).await {
                    read += n;
                    let text = String::from_utf8_lossy(&buffer[..read]).to_string();
                    if n == 0 || text.contains("\r\n\r\n{") && text.ends_with('}') {
                        break;
                    }
                }
                let _ = sender.send(String::from_utf8_lossy(&buffer[..read]).to_string());
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (
            format!("http://{address}/hooks/T000/B000/XXXXSECRET"),
            receiver,
        )
    }

    #[tokio::test]
    async fn posts_the_json_with_the_event_id() {
        let (url, request) = server(200, "ok").await;
        let body = br#"{"text":"hello"}"#.to_vec();
        client()
            .post_json(&url, body, Some("event-1"))
            .await
            .expect("delivered");
        let request = request.await.expect("the request");
        assert!(
            request.starts_with("POST /hooks/T000/B000/XXXXSECRET HTTP/1.1"),
            "{request}"
        );
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.contains("content-type: application/json"),
            "{request}"
        );
        assert!(lower.contains("x-stevedore-event-id: event-1"), "{request}");
        assert!(request.ends_with(r#"{"text":"hello"}"#), "{request}");
    }

    #[tokio::test]
    async fn a_refusal_keeps_status_and_body_but_not_the_url() {
        let (url, _request) = server(500, "rollup_error at /hooks/T000/B000/XXXXSECRET").await;
        let error = client()
            .post_json(&url, b"{}".to_vec(), None)
            .await
            .unwrap_err();
        assert!(
            error.starts_with("HTTP 500: rollup_error at <redacted>"),
            "{error}"
        );
        assert!(!error.contains("XXXXSECRET"), "{error}");
    }

    #[tokio::test]
    async fn http_to_another_host_is_refused_before_any_request() {
        let error = client()
            .post_json("http://hooks.example.com/XXXXSECRET", b"{}".to_vec(), None)
            .await
            .unwrap_err();
        assert!(
            error.starts_with("the URL is an http:// URL to a host that is not loopback"),
            "{error}"
        );
        let error = client()
            .post_json("not a url XXXXSECRET", b"{}".to_vec(), None)
            .await
            .unwrap_err();
        assert_eq!(error, "the URL does not parse");
    }

    #[tokio::test]
    async fn a_closed_port_is_an_error_without_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/XXXXSECRET",
            listener.local_addr().expect("address")
        );
        drop(listener);
        let error = client()
            .post_json(&url, b"{}".to_vec(), None)
            .await
            .unwrap_err();
        assert!(error.to_lowercase().contains("connect"), "{error}");
        assert!(
            !error.contains("XXXXSECRET") && !error.contains("127.0.0.1"),
            "{error}"
        );
    }

    #[test]
    fn redaction_covers_url_host_and_path() {
        let url = "https://hooks.slack.com/services/T0/B0/XXXXSECRET";
        assert_eq!(
            redact(
                format!("failed {url}; host hooks.slack.com; path /services/T0/B0/XXXXSECRET"),
                url
            ),
            "failed <redacted>; host <redacted>; path <redacted>"
        );
    }
}
