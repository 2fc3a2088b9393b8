//! A server inside the test process, on a free port over plain HTTP, with the production authorizer:
//! for tests that need to reach behind the binary (a directory of their own, sessions stored with a
//! short life, a clock they move).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use coffer_server::{
    App, AppConfig, Clock, Directory, ListenerLimits, ServiceHandler, SystemClock,
};
use coffer_store::Store;

/// A clock that moves only when the test moves it: tests make time pass instead of sleeping.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(now))
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// The server's URL, and the sender that stops it when sent to or dropped.
#[allow(dead_code)]
pub async fn serve(
    store: &Store,
    directory: Arc<dyn Directory>,
    handlers: Vec<Arc<dyn ServiceHandler>>,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    serve_with_clock(store, directory, handlers, Arc::new(SystemClock)).await
}

/// As [`serve`], reading time from `clock`.
#[allow(dead_code)]
pub async fn serve_with_clock(
    store: &Store,
    directory: Arc<dyn Directory>,
    handlers: Vec<Arc<dyn ServiceHandler>>,
    clock: Arc<dyn Clock>,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    serve_with(store, directory, handlers, AppConfig::default(), clock).await
}

/// [`serve`] with the test's own configuration and clock.
#[allow(dead_code)]
pub async fn serve_with(
    store: &Store,
    directory: Arc<dyn Directory>,
    handlers: Vec<Arc<dyn ServiceHandler>>,
    config: AppConfig,
    clock: Arc<dyn Clock>,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Arc::new(App::new(
        config,
        directory,
        Arc::new(coffer_authz::PolicyAuthorizer::new(store.clone())),
        handlers,
        clock,
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(coffer_server::serve(
        listener,
        None,
        app,
        ListenerLimits::default(),
        async {
            let _ = stopped.await;
        },
    ));
    (url, stop)
}
