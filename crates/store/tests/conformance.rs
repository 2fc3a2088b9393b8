//! One storage conformance suite, instantiated for every backend. PostgreSQL tests start a private
//! server (see `support/pg.rs`) and fail if PostgreSQL is not installed.

mod suite;
mod support;

macro_rules! checks {
    ($harness:expr; $($check:ident => $path:path),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let h = $harness;
                $path(&h).await;
            }
        )*
    };
}

macro_rules! common_checks {
    ($harness:expr) => {
        checks!($harness;
            crud => crate::suite::txns::crud,
            insert_conflict => crate::suite::txns::insert_conflict,
            scan => crate::suite::txns::scan,
            atomicity => crate::suite::txns::atomicity,
            concurrency => crate::suite::txns::concurrency,
            cached_get => crate::suite::txns::cached_get,
            table_generations => crate::suite::txns::table_generations,
            decoded_get => crate::suite::txns::decoded_get,
            reset => crate::suite::txns::reset,
            observed => crate::suite::txns::observed,
            aad_swap => crate::suite::crypto::aad_swap,
            rotation => crate::suite::crypto::rotation,
            backup_restore => crate::suite::durability::backup_restore,
        );
    };
}

macro_rules! durable_checks {
    ($harness:expr) => {
        checks!($harness;
            persistence => crate::suite::durability::persistence,
            schema_too_new => crate::suite::durability::schema_too_new,
            wrong_master_key => crate::suite::crypto::wrong_master_key,
            plaintext_not_on_disk => crate::suite::crypto::plaintext_not_on_disk,
            backup_portable => crate::suite::durability::backup_portable,
        );
    };
}

mod memory {
    common_checks!(crate::support::Harness::memory());
}

mod sqlite {
    common_checks!(crate::support::Harness::sqlite());
    durable_checks!(crate::support::Harness::sqlite());
    checks!(crate::support::Harness::sqlite();
        aad_swap_in_sqlite_file => crate::suite::crypto::aad_swap_in_sqlite_file,
        generated_key_file => crate::suite::crypto::generated_key_file,
    );

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn kill_9() {
        crate::suite::crash::kill_9().await;
    }
}

mod postgres {
    common_checks!(crate::support::Harness::postgres());
    durable_checks!(crate::support::Harness::postgres());
    checks!(crate::support::Harness::postgres();
        two_nodes => crate::suite::nodes::two_nodes,
        table_generations_across_nodes => crate::suite::nodes::table_generations_across_nodes,
        decoded_across_nodes => crate::suite::nodes::decoded_across_nodes,
        rotation_across_nodes => crate::suite::nodes::rotation_across_nodes,
    );

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn server_restart() {
        crate::suite::nodes::server_restart().await;
    }
}
