//! Times single ListSecrets pages over many secrets in a SQLite store (a measurement, not a
//! test): `cargo run -p coffer-secretsmanager --example list_page_timing -- [count]`.
//!
//! `SortBy=LastChangedDate` still reads and sorts every secret, as every order did before the
//! creation-date index, so it stands for the old cost of a page.

use std::time::Instant;

use coffer_model::context::{Principal, PrincipalKind, RequestContext};
use coffer_model::secretsmanager::*;
use coffer_model::Sensitive;
use coffer_secretsmanager::SecretsManagerService;
use coffer_store::{Store, StoreConfig};

const T0: i64 = 1_700_000_000_000;

fn ctx(now: i64) -> RequestContext {
    RequestContext {
        request_id: "req".into(),
        principal: Principal {
            account_id: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:root".into(),
            user_id: "123456789012".into(),
            kind: PrincipalKind::Root,
            access_key_id: "AKIATEST".into(),
        },
        region: "us-east-1".into(),
        source_ip: None,
        secure_transport: true,
        now_millis: now,
        mfa_authenticated_at_millis: None,
    }
}

async fn time_page(svc: &SecretsManagerService, what: &str, req: ListSecretsRequest) {
    let mut best = f64::MAX;
    let mut listed = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let r = svc
            .list_secrets(&ctx(T0 + 10_000_000), req.clone())
            .await
            .unwrap();
        best = best.min(start.elapsed().as_secs_f64() * 1000.0);
        listed = r.secret_list.map_or(0, |l| l.len());
    }
    println!("{what:<48} {listed:>4} secrets  best of 5: {best:8.2} ms");
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let dir = std::env::temp_dir().join(format!("coffer-list-timing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(StoreConfig::data_dir(&dir)).await.unwrap();
    let svc = SecretsManagerService::new(store);

    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let svc = svc.clone();
        tasks.spawn(async move {
            let req = CreateSecretRequest {
                name: format!("app{}/secret-{i:06}", i % 10),
                description: Some(format!("secret number {i}")),
                secret_string: Some(Sensitive::from("v")),
                client_request_token: Some(format!("00000000-0000-4000-8000-{i:012}")),
                ..Default::default()
            };
            svc.create_secret(&ctx(T0 + i as i64), req).await.unwrap();
        });
        if tasks.len() >= 16 {
            tasks.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    println!(
        "created {count} secrets in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    svc.list_secrets(&ctx(T0 + 10_000_000), ListSecretsRequest::default())
        .await
        .unwrap();
    println!(
        "first CreatedDate page (marks the region indexed): {:.2} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );

    let page = |sort_by, desc: bool, filters: Option<Vec<Filter>>| ListSecretsRequest {
        sort_by: Some(sort_by),
        sort_order: desc.then_some(SortOrderType::Desc),
        filters,
        max_results: Some(100),
        ..Default::default()
    };
    let app3 = Some(vec![Filter {
        key: Some(FilterNameStringType::Name),
        values: Some(vec!["app3/".into()]),
    }]);
    time_page(
        &svc,
        "CreatedDate asc, page of 100",
        page(SortByType::CreatedDate, false, None),
    )
    .await;
    time_page(
        &svc,
        "CreatedDate desc, page of 100",
        page(SortByType::CreatedDate, true, None),
    )
    .await;
    time_page(
        &svc,
        "CreatedDate asc, name filter (1 in 10)",
        page(SortByType::CreatedDate, false, app3.clone()),
    )
    .await;
    time_page(
        &svc,
        "Name asc, page of 100",
        page(SortByType::Name, false, None),
    )
    .await;
    time_page(
        &svc,
        "LastChangedDate asc (full scan, as before)",
        page(SortByType::LastChangedDate, false, None),
    )
    .await;
    time_page(
        &svc,
        "LastChangedDate asc, name filter (full scan)",
        page(SortByType::LastChangedDate, false, app3),
    )
    .await;
    drop(svc);
    let _ = std::fs::remove_dir_all(&dir);
}
