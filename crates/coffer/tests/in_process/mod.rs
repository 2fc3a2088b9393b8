//! A server inside the test process, on a free port over plain HTTP, with the production authorizer:
//! for tests that need to reach behind the binary (a directory of their own, sessions stored with a
//! short life).

use std::sync::Arc;

use coffer_server::{App, AppConfig, Directory, ListenerLimits, ServiceHandler, SystemClock};
use coffer_store::Store;

/// The server's URL, and the sender that stops it when sent to or dropped.
pub async fn serve(
    store: &Store,
    directory: Arc<dyn Directory>,
    handlers: Vec<Arc<dyn ServiceHandler>>,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Arc::new(App::new(
        AppConfig::default(),
        directory,
        Arc::new(coffer::authorizer::PolicyAuthorizer::new(store.clone())),
        handlers,
        Arc::new(SystemClock),
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
