//! The smoke test's one request: GET the test URL and report the status, or why there was
//! no answer. Only the status is kept; the body is never read into the record.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use stevedore_core::smoke::Observed;

use crate::lazy_https::LazyHttps;

/// The smoke test's HTTP client, one per function instance, built on the first probe (TLS
/// roots loaded once, and only by an instance that probes).
#[derive(Clone)]
pub struct SmokeProbe {
    client: LazyHttps<Empty<Bytes>>,
}

impl SmokeProbe {
    /// Builds nothing yet: a system without root certificates makes the first probe's
    /// answer say so.
    pub fn new() -> std::io::Result<Self> {
        Ok(SmokeProbe {
            client: LazyHttps::default(),
        })
    }

    pub async fn probe(&self, url: &str, timeout_seconds: u32) -> Observed {
        let uri: hyper::Uri = match url.parse() {
            Ok(uri) => uri,
            Err(e) => return Observed::NoAnswer(format!("invalid URL: {e}")),
        };
        let request = match hyper::Request::get(uri)
            .header(hyper::header::USER_AGENT, "stevedore-smoke-test")
            .body(Empty::new())
        {
            Ok(request) => request,
            Err(e) => return Observed::NoAnswer(format!("invalid request: {e}")),
        };
        let client = match self.client.get() {
            Ok(client) => client,
            Err(why) => return Observed::NoAnswer(why),
        };
        let timeout = Duration::from_secs(u64::from(timeout_seconds));
        match tokio::time::timeout(timeout, client.request(request)).await {
            Ok(Ok(response)) => Observed::Status(response.status().as_u16()),
            Ok(Err(e)) => Observed::NoAnswer(error_chain(&e)),
            Err(_) => Observed::NoAnswer(format!("no answer within {timeout_seconds} s")),
        }
    }
}

/// hyper's top-level error says little ("client error (Connect)"); its sources say why.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn probe() -> SmokeProbe {
        SmokeProbe::new().expect("TLS roots")
    }

    /// A one-shot HTTP server answering `status`.
    async fn server(status: u16) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            if let Ok((mut socket, _)) = listener.accept().await {
                let mut buffer = [0u8; 1024];
                let _ = socket.read(&mut buffer).await;
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        format!("http://{address}/healthz")
    }

    #[tokio::test]
    async fn reports_the_status_the_server_answers() {
        assert_eq!(
            probe().probe(&server(200).await, 5).await,
            Observed::Status(200)
        );
        assert_eq!(
            probe().probe(&server(500).await, 5).await,
            Observed::Status(500)
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_no_answer_with_the_reason() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("address"));
        drop(listener);
        match probe().probe(&url, 5).await {
            Observed::NoAnswer(reason) => {
                assert!(reason.to_lowercase().contains("connect"), "{reason}")
            }
            other => panic!("expected no answer, got {other:?}"),
        }
    }
}
