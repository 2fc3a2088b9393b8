//! A [`RotationInvoker`] speaking the Lambda Invoke HTTP API
//! (`POST /2015-03-31/functions/<name>/invocations`), so that a rotation function running under the
//! AWS Lambda Runtime Interface Emulator, or any HTTP server speaking that API, works unchanged.
//!
//! `http://` (an emulator next to Coffer) or `https://` endpoints, through the shared outbound
//! client; requests are not signed.

use std::collections::BTreeMap;
use std::time::Duration;

use coffer_outbound::{Client, Limits, OutboundError, Schemes};

use crate::rotation::{InvokeError, InvokeFuture, RotationEvent, RotationInvoker};

/// AWS Lambda's limit on a synchronous invocation's response payload: a function answering more
/// fails the invocation, as it does on AWS.
const MAX_RESPONSE: usize = 6 * 1024 * 1024;
/// How much of a function error's payload is kept for the log.
const ERROR_EXCERPT: usize = 512;

#[derive(Debug, Clone)]
pub struct LambdaHttpInvoker {
    endpoints: BTreeMap<String, String>,
    default_endpoint: Option<String>,
    client: Client,
}

impl LambdaHttpInvoker {
    /// `default_endpoint` serves functions without an endpoint of their own.
    pub fn new(default_endpoint: Option<String>) -> Self {
        LambdaHttpInvoker {
            endpoints: BTreeMap::new(),
            default_endpoint,
            client: Client::new(
                Schemes::HttpOrHttps,
                Limits {
                    connect_timeout: Duration::from_secs(10),
                    timeout: Duration::from_secs(60),
                    max_response_bytes: MAX_RESPONSE,
                },
                Vec::new(),
            ),
        }
    }

    /// The endpoint of one function: a base URL (`http://host:port`), or a full invocation URL
    /// (one containing `/2015-03-31/functions/`, e.g. the emulator's
    /// `http://localhost:9000/2015-03-31/functions/function/invocations`).
    pub fn with_endpoint(
        mut self,
        function_arn: impl Into<String>,
        endpoint: impl Into<String>,
    ) -> Self {
        self.endpoints.insert(function_arn.into(), endpoint.into());
        self
    }

    /// How long one step may take, connection included.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        let limits = Limits {
            timeout,
            connect_timeout: timeout.min(self.client.limits().connect_timeout),
            ..self.client.limits()
        };
        self.client = self.client.with_limits(limits);
        self
    }

    fn url_for(&self, function_arn: &str) -> Option<String> {
        let endpoint = self
            .endpoints
            .get(function_arn)
            .or(self.default_endpoint.as_ref())?;
        if endpoint.contains("/2015-03-31/functions/") {
            return Some(endpoint.clone());
        }
        let name = function_name(function_arn);
        Some(format!(
            "{}/2015-03-31/functions/{name}/invocations",
            endpoint.trim_end_matches('/')
        ))
    }
}

/// `arn:aws:lambda:<region>:<acct>:function:<name>[:<qualifier>]` → `<name>`; anything else as is.
fn function_name(function_arn: &str) -> &str {
    match function_arn.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => function_arn,
    }
}

impl RotationInvoker for LambdaHttpInvoker {
    fn invoke<'a>(&'a self, function_arn: &'a str, event: RotationEvent) -> InvokeFuture<'a> {
        Box::pin(async move {
            let url = self.url_for(function_arn).ok_or_else(|| {
                InvokeError::Unreachable(format!("no endpoint configured for {function_arn}"))
            })?;
            let body = serde_json::to_vec(&event.payload())
                .map_err(|e| InvokeError::Unreachable(e.to_string()))?;
            let reply = self
                .client
                .post(&url, "application/json", body)
                .await
                .map_err(|e| match e {
                    // The function was reached: it ran too long, or answered more than Lambda
                    // allows. Either way this step failed.
                    OutboundError::Timeout { .. } => {
                        InvokeError::Failed(format!("{} timed out", event.step))
                    }
                    OutboundError::TooLarge { limit, .. } => InvokeError::Failed(format!(
                        "{}: the function's response is larger than {limit} bytes",
                        event.step
                    )),
                    other => InvokeError::Unreachable(other.to_string()),
                })?;
            if reply.headers.contains_key("x-amz-function-error") {
                let excerpt = &reply.body[..reply.body.len().min(ERROR_EXCERPT)];
                return Err(InvokeError::Failed(
                    String::from_utf8_lossy(excerpt).into_owned(),
                ));
            }
            match reply.status.as_u16() {
                200..=299 => Ok(()),
                404 => Err(InvokeError::Unreachable(format!(
                    "{url}: function not found"
                ))),
                s => Err(InvokeError::Unreachable(format!("{url}: HTTP {s}"))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_functions() {
        let inv = LambdaHttpInvoker::new(Some("http://127.0.0.1:9001/".into())).with_endpoint(
            "arn:aws:lambda:us-east-1:1:function:rie",
            "http://localhost:9000/2015-03-31/functions/function/invocations",
        );
        assert_eq!(
            inv.url_for("arn:aws:lambda:us-east-1:1:function:rot:live")
                .as_deref(),
            Some("http://127.0.0.1:9001/2015-03-31/functions/rot/invocations")
        );
        assert_eq!(
            inv.url_for("arn:aws:lambda:us-east-1:1:function:rie")
                .as_deref(),
            Some("http://localhost:9000/2015-03-31/functions/function/invocations")
        );
        assert!(LambdaHttpInvoker::new(None).url_for("x").is_none());
    }
}
