//! Starts the real `coffer` binary on port 0 and waits for its "listening on" line.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const ROOT_KEY: &str = "AKIACOFFERTESTROOT01";
pub const ROOT_SECRET: &str = "cOfFeRtEsTsEcReTkEy0123456789abcdefGHIJ";
pub const ACCOUNT: &str = "123456789012";

pub struct Server {
    pub url: String,
    pub data_dir: tempfile::TempDir,
    child: Child,
}

impl Server {
    /// Production configuration: HTTPS with the generated CA and a preset root key.
    pub fn start(extra: &[&str]) -> Server {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_coffer"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--account-id",
                ACCOUNT,
                "--data-dir",
            ])
            .arg(data_dir.path())
            .args(extra)
            .env("COFFER_ROOT_ACCESS_KEY_ID", ROOT_KEY)
            .env("COFFER_ROOT_SECRET_ACCESS_KEY", ROOT_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn coffer");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        reader.read_line(&mut first).expect("read first line");
        let url = first
            .trim()
            .strip_prefix("coffer listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        Server {
            url,
            data_dir,
            child,
        }
    }

    pub fn ca_path(&self) -> PathBuf {
        self.data_dir.path().join("tls").join("ca.pem")
    }

    /// An SDK config trusting the server's generated CA, signing with `key`/`secret`.
    pub fn sdk_config(
        &self,
        key: &str,
        secret: &str,
        region: &'static str,
    ) -> aws_config::SdkConfig {
        use aws_smithy_http_client::tls::{
            self, rustls_provider::CryptoMode, TlsContext, TrustStore,
        };
        let pem = std::fs::read(self.ca_path()).expect("read CA");
        let trust = TrustStore::empty().with_pem_certificate(pem.as_slice());
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(
                TlsContext::builder()
                    .with_trust_store(trust)
                    .build()
                    .expect("tls context"),
            )
            .build_https();
        let creds = aws_credential_types::Credentials::from_keys(key, secret, None);
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(aws_config::Region::new(region))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(creds),
            )
            .http_client(http_client)
            .build()
    }

    pub fn root_config(&self) -> aws_config::SdkConfig {
        self.sdk_config(ROOT_KEY, ROOT_SECRET, "us-east-1")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
