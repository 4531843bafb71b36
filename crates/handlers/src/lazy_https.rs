//! The functions' own HTTPS client (the smoke test, notify's webhooks), built on first use.
//!
//! Loading the system's root certificates is most of a function's cold start (the SDK's
//! client loads them once already), and most invocations of deployment-hook and notify make
//! no such request: a stage without a smoke test, a release event without a webhook
//! destination. So the connector is built the first time a request needs it, once per
//! function instance, and shared by its clones.

use std::sync::{Arc, OnceLock};

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub(crate) type HttpsClient<B> = Client<HttpsConnector<HttpConnector>, B>;

/// An HTTPS client with body type `B`, built on the first [`LazyHttps::get`].
pub(crate) struct LazyHttps<B> {
    client: Arc<OnceLock<Result<HttpsClient<B>, String>>>,
}

impl<B> Clone for LazyHttps<B> {
    fn clone(&self) -> Self {
        LazyHttps {
            client: Arc::clone(&self.client),
        }
    }
}

impl<B> Default for LazyHttps<B> {
    fn default() -> Self {
        LazyHttps {
            client: Arc::new(OnceLock::new()),
        }
    }
}

impl<B> LazyHttps<B>
where
    B: hyper::body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    /// The client; the error says why none could be built (no root certificates to trust).
    pub(crate) fn get(&self) -> Result<&HttpsClient<B>, String> {
        self.client
            .get_or_init(|| {
                https_connector()
                    .map(|connector| Client::builder(TokioExecutor::new()).build(connector))
                    .map_err(|e| format!("no TLS root certificates could be loaded: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// The HTTP/1 connector: the rustls and hyper generation the SDK builds, the system's root
/// certificates. Plain http is allowed here; each caller decides where it may go.
fn https_connector() -> std::io::Result<HttpsConnector<HttpConnector>> {
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::Empty;

    #[test]
    fn nothing_is_built_until_first_use_and_clones_share_the_client() {
        let lazy: LazyHttps<Empty<Bytes>> = LazyHttps::default();
        let clone = lazy.clone();
        assert!(
            lazy.client.get().is_none(),
            "no roots loaded at construction"
        );
        clone.get().expect("this machine has root certificates");
        assert!(
            lazy.client.get().is_some(),
            "the clone's first use built the one shared client"
        );
    }
}
