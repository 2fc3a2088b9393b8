//! The hook through which RotateSecret runs a rotation function's four steps. Coffer's server
//! provides one that calls the Lambda Invoke HTTP API; without one, every rotation function is
//! unreachable, which AWS reports as it does for a function it may not invoke.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use coffer_model::Sensitive;

/// The event AWS sends a rotation function for each step.
#[derive(Debug, Clone, PartialEq)]
pub struct RotationEvent {
    /// `createSecret`, `setSecret`, `testSecret` or `finishSecret`.
    pub step: &'static str,
    /// The secret's ARN.
    pub secret_id: String,
    /// The version being rotated in (the RotateSecret `ClientRequestToken`).
    pub client_request_token: String,
    /// Lets the function's own PutSecretValue calls be attributed to this rotation.
    pub rotation_token: Sensitive<String>,
}

impl RotationEvent {
    /// The JSON payload the function receives.
    pub fn payload(&self) -> serde_json::Value {
        serde_json::json!({
            "Step": self.step,
            "SecretId": self.secret_id,
            "ClientRequestToken": self.client_request_token,
            "RotationToken": self.rotation_token.expose(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// The function could not be invoked at all (unknown, unreachable, not permitted).
    Unreachable(String),
    /// The function ran and reported an error for this step.
    Failed(String),
}

pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), InvokeError>> + Send + 'a>>;

/// Invokes rotation functions by ARN.
pub trait RotationInvoker: Send + Sync {
    fn invoke<'a>(&'a self, function_arn: &'a str, event: RotationEvent) -> InvokeFuture<'a>;
}

/// What started a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RotationTrigger {
    /// A RotateSecret call.
    Request,
    /// The scheduler, for a secret whose rotation was due.
    Schedule,
}

impl RotationTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            RotationTrigger::Request => "request",
            RotationTrigger::Schedule => "schedule",
        }
    }
}

/// How a rotation that ran its steps ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RotationOutcome {
    /// Every step ran and the new version is AWSCURRENT.
    Succeeded,
    /// A step reported an error: AWSPENDING stays, to be reattempted.
    StepFailed,
    /// Every step ran but AWSCURRENT did not move to the new version.
    NotFinished,
    /// The function could not be invoked at all.
    Unreachable,
}

impl RotationOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RotationOutcome::Succeeded => "succeeded",
            RotationOutcome::StepFailed => "step_failed",
            RotationOutcome::NotFinished => "not_finished",
            RotationOutcome::Unreachable => "unreachable",
        }
    }
}

/// Told how each rotation ended (the server's metrics). Rotations configured without rotating
/// (`RotateImmediately` false) run no steps and are not reported.
pub trait RotationObserver: Send + Sync {
    fn rotation_ended(&self, trigger: RotationTrigger, outcome: RotationOutcome);
}

/// Where `rotate` reports to, and what started it.
#[derive(Clone, Copy)]
pub(crate) struct Report<'a> {
    pub observer: Option<&'a Arc<dyn RotationObserver>>,
    pub trigger: RotationTrigger,
}

impl Report<'_> {
    pub fn ended(&self, outcome: RotationOutcome) {
        if let Some(observer) = self.observer {
            observer.rotation_ended(self.trigger, outcome);
        }
    }
}

pub(crate) const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];
