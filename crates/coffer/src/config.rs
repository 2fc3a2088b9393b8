//! `coffer serve`'s settings from three places besides the defaults, with one precedence:
//! command-line flag > environment variable (`COFFER_<FLAG>`) > configuration file
//! (`--config FILE`, TOML) > default.
//!
//! The file's keys are the flags' long names (`data-dir = "/var/lib/coffer"`); a flag that takes
//! no value is a boolean (`dev = true`), a repeatable one an array (`tls-name = ["a", "b"]`).
//! The file's settings are handed to the same command-line parser as flags, so a value is
//! checked exactly as on the command line, and a key that names no flag is an error.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command};

/// The flag that names the configuration file (and `COFFER_CONFIG`); not a key of the file.
pub const CONFIG_FLAG: &str = "config";

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Environment,
    File,
    Default,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Flag => "flag",
            Origin::Environment => "environment",
            Origin::File => "file",
            Origin::Default => "default",
        }
    }
}

/// The command line once the configuration file's settings are in it, and which settings came
/// from the file.
pub struct Resolved {
    pub matches: ArgMatches,
    /// Flag ids (`data_dir`) whose value the file gave.
    pub from_file: Vec<String>,
    /// The file read, if any.
    pub file: Option<PathBuf>,
}

/// Parses `argv` with `cli`; when the chosen subcommand (`serve`, `config check`) has a
/// `--config FILE`, adds the file's settings for every flag that neither the command line nor
/// the environment set, and parses again. Clap's own errors (`--help` included) exit here, as
/// they would in `Cli::parse`.
pub fn resolve(cli: Command, argv: Vec<OsString>) -> anyhow::Result<Resolved> {
    // Global flags (`--log-format`) become settings of each subcommand once built.
    let mut cli = cli;
    cli.build();
    let first = cli
        .clone()
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| e.exit());
    let Some((path, settings)) = subcommand_settings(&first) else {
        return Ok(Resolved {
            matches: first,
            from_file: Vec::new(),
            file: None,
        });
    };
    let Some(file) = settings.get_one::<PathBuf>(CONFIG_FLAG).cloned() else {
        return Ok(Resolved {
            matches: first,
            from_file: Vec::new(),
            file: None,
        });
    };
    let command = find_subcommand(&cli, &path).context("the subcommand disappeared")?;
    let table = read_table(&file)?;
    let (extra, from_file) =
        file_arguments(command, settings, &table).with_context(|| format!("{}", file.display()))?;
    let mut argv = argv;
    argv.extend(extra);
    let matches = cli.try_get_matches_from(&argv).map_err(|e| {
        let rendered = e.render().to_string();
        let first_line = rendered
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string();
        anyhow::anyhow!(
            "{first_line} (the settings of {} count as their flags)",
            file.display()
        )
    })?;
    Ok(Resolved {
        matches,
        from_file,
        file: Some(file),
    })
}

/// The subcommand path (`["serve"]`, `["config", "check"]`) and its matches, when it takes
/// `--config`.
fn subcommand_settings(matches: &ArgMatches) -> Option<(Vec<String>, &ArgMatches)> {
    let mut path = Vec::new();
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        path.push(name.to_string());
        current = sub;
    }
    let takes_config = current.ids().any(|id| id.as_str() == CONFIG_FLAG)
        || current.try_contains_id(CONFIG_FLAG).is_ok();
    takes_config.then_some((path, current))
}

fn find_subcommand<'a>(cli: &'a Command, path: &[String]) -> Option<&'a Command> {
    let mut command = cli;
    for name in path {
        command = command.find_subcommand(name)?;
    }
    Some(command)
}

fn read_table(file: &Path) -> anyhow::Result<toml::Table> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the configuration file {}", file.display()))?;
    text.parse::<toml::Table>()
        .map_err(|e| anyhow::anyhow!("{}: not valid TOML: {}", file.display(), e.message()))
}

/// The command-line arguments that stand for the file's settings, leaving out those the
/// command line or the environment set; and the ids of the flags they set.
pub fn file_arguments(
    command: &Command,
    matches: &ArgMatches,
    table: &toml::Table,
) -> anyhow::Result<(Vec<OsString>, Vec<String>)> {
    let mut extra = Vec::new();
    let mut applied = Vec::new();
    let known: BTreeMap<&str, &clap::Arg> = command
        .get_arguments()
        .filter_map(|a| a.get_long().map(|long| (long, a)))
        .filter(|(long, _)| !matches!(*long, CONFIG_FLAG | "help" | "version"))
        .collect();
    for (key, value) in table {
        let Some(arg) = known.get(key.as_str()) else {
            bail!("{}", unknown_key(key, known.keys().copied()));
        };
        let id = arg.get_id().as_str();
        if matches!(
            matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let flag = format!("--{key}");
        match arg.get_action() {
            ArgAction::SetTrue => match value {
                toml::Value::Boolean(true) => extra.push(OsString::from(&flag)),
                toml::Value::Boolean(false) => {}
                _ => bail!("`{key}` is a switch: true or false"),
            },
            ArgAction::Append => {
                let items = match value {
                    toml::Value::Array(items) => items.iter().collect(),
                    single => vec![single],
                };
                for item in items {
                    extra.push(OsString::from(&flag));
                    extra.push(OsString::from(scalar(key, item)?));
                }
            }
            _ => {
                extra.push(OsString::from(&flag));
                extra.push(OsString::from(scalar(key, value)?));
            }
        }
        applied.push(id.to_string());
    }
    Ok((extra, applied))
}

/// A value as the command line would spell it.
fn scalar(key: &str, value: &toml::Value) -> anyhow::Result<String> {
    Ok(match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(_) => bail!("`{key}` takes a value, not true or false"),
        toml::Value::Array(_) => bail!("`{key}` takes one value, not an array"),
        toml::Value::Table(_) => bail!("`{key}` takes a value, not a table"),
        toml::Value::Datetime(d) => d.to_string(),
    })
}

fn unknown_key<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> String {
    let known: Vec<&str> = known.collect();
    // A likely slip: snake case, or a flag's name with its dashes.
    let normalized = key.trim_start_matches('-').replace('_', "-");
    if normalized != key && known.contains(&normalized.as_str()) {
        return format!("unknown key `{key}`: did you mean `{normalized}`?");
    }
    format!(
        "unknown key `{key}`: the keys are the long names of `coffer serve`'s flags ({})",
        known.join(", ")
    )
}

/// Where the value of flag `id` came from.
pub fn origin(resolved: &Resolved, settings: &ArgMatches, id: &str) -> Option<Origin> {
    if resolved.from_file.iter().any(|f| f == id) {
        return Some(Origin::File);
    }
    match settings.value_source(id)? {
        ValueSource::CommandLine => Some(Origin::Flag),
        ValueSource::EnvVariable => Some(Origin::Environment),
        _ => Some(Origin::Default),
    }
}

/// The settings of `settings` as a TOML document that `--config` reads back, each line
/// commented with where its value came from. `redact` hides values that may carry secrets.
pub fn render(
    command: &Command,
    resolved: &Resolved,
    settings: &ArgMatches,
    redact: impl Fn(&str, &str) -> Option<String>,
) -> String {
    let mut out = String::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, CONFIG_FLAG | "help" | "version") {
            continue;
        }
        let id = arg.get_id().as_str();
        let Some(origin) = origin(resolved, settings, id) else {
            continue;
        };
        let Ok(Some(raw)) = settings.try_get_raw(id) else {
            continue;
        };
        let values: Vec<String> = raw
            .map(|v| {
                let text = v.to_string_lossy();
                redact(long, &text).unwrap_or_else(|| text.into_owned())
            })
            .collect();
        let value = match arg.get_action() {
            // The parsed value: the environment may spell it `1`, `yes` or `on`.
            ArgAction::SetTrue => match settings.try_get_one::<bool>(id) {
                Ok(Some(true)) => "true".to_string(),
                _ => continue,
            },
            ArgAction::Append => {
                let items: Vec<String> = values.iter().map(|v| toml_value(v)).collect();
                format!("[{}]", items.join(", "))
            }
            _ => match values.first() {
                Some(v) => toml_value(v),
                None => continue,
            },
        };
        out.push_str(&format!("{long} = {value}  # {}\n", origin.as_str()));
    }
    out
}

/// A value as TOML: a number written as TOML writes numbers stays a number (the file hands it
/// back as the same text), anything else is a string (`000000000000` included).
fn toml_value(v: &str) -> String {
    let canonical_integer = v.parse::<i64>().is_ok_and(|n| n.to_string() == v);
    let canonical_float = v.contains('.')
        && v.parse::<f64>()
            .is_ok_and(|f| f.is_finite() && f.to_string() == v);
    if canonical_integer || canonical_float {
        v.to_string()
    } else {
        toml::Value::String(v.to_string()).to_string()
    }
}

/// Checks a region name's shape: lower-case words and a final number, joined by dashes
/// (`us-east-1`, `us-gov-west-1`, `eusc-de-east-1`).
pub fn check_region(region: &str) -> anyhow::Result<()> {
    let parts: Vec<&str> = region.split('-').collect();
    let word = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let valid = region.len() <= 50
        && parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(word)
        && parts.last().is_some_and(|n| {
            !n.is_empty() && n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit())
        });
    if !valid {
        bail!("--region {region:?} is not a region name such as us-east-1");
    }
    Ok(())
}

/// Checks `HOST:PORT` (`127.0.0.1:4566`, `localhost:4566`, `[::1]:0`) without resolving it.
pub fn parse_listen(text: &str) -> Result<String, String> {
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("{text:?} is not HOST:PORT"));
    };
    if port.parse::<u16>().is_err() {
        return Err(format!("{text:?}: {port:?} is not a port number (0-65535)"));
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if bare.is_empty() || (bare.contains(':') && !host.starts_with('[')) {
        return Err(format!(
            "{text:?} is not HOST:PORT (an IPv6 address goes in brackets: [::1]:4566)"
        ));
    }
    Ok(text.to_string())
}

/// The addresses `HOST:PORT` names, IPv4 first (a host name such as `localhost` may resolve to
/// both; the first that can be bound is used).
pub async fn resolve_listen(text: &str) -> anyhow::Result<Vec<std::net::SocketAddr>> {
    let mut addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(text)
        .await
        .with_context(|| format!("resolving {text}"))?
        .collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    addrs.dedup();
    if addrs.is_empty() {
        bail!("{text} resolves to no address");
    }
    Ok(addrs)
}

/// Binds the first address of `text` that can be bound.
pub async fn bind(text: &str) -> anyhow::Result<tokio::net::TcpListener> {
    let mut last = None;
    for addr in resolve_listen(text).await? {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some((addr, e)),
        }
    }
    match last {
        Some((addr, e)) => Err(anyhow::anyhow!("binding {text} ({addr}): {e}")),
        None => bail!("{text} resolves to no address"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn command() -> Command {
        Command::new("serve")
            .arg(
                Arg::new("config")
                    .long("config")
                    .value_parser(clap::value_parser!(PathBuf)),
            )
            .arg(
                Arg::new("listen")
                    .long("listen")
                    .env("COFFER_TEST_CONFIG_LISTEN")
                    .default_value("127.0.0.1:4566"),
            )
            .arg(Arg::new("data_dir").long("data-dir"))
            .arg(Arg::new("http").long("http").action(ArgAction::SetTrue))
            .arg(
                Arg::new("tls_names")
                    .long("tls-name")
                    .action(ArgAction::Append),
            )
            .arg(
                Arg::new("max")
                    .long("max")
                    .value_parser(clap::value_parser!(u64)),
            )
    }

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    fn args(command: &Command, argv: &[&str], file: &str) -> anyhow::Result<Vec<String>> {
        let matches = command.clone().try_get_matches_from(argv).unwrap();
        let (extra, _) = file_arguments(command, &matches, &table(file))?;
        Ok(extra
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect())
    }

    #[test]
    fn the_file_fills_in_what_flags_leave_out() {
        let c = command();
        let file = r#"
            listen = "0.0.0.0:4566"
            data-dir = "/var/lib/coffer"
            http = true
            tls-name = ["a.internal", "10.0.0.1"]
            max = 5
        "#;
        assert_eq!(
            args(&c, &["serve"], file).unwrap(),
            [
                "--data-dir",
                "/var/lib/coffer",
                "--http",
                "--listen",
                "0.0.0.0:4566",
                "--max",
                "5",
                "--tls-name",
                "a.internal",
                "--tls-name",
                "10.0.0.1"
            ]
        );
        // A flag wins over the file.
        assert_eq!(
            args(&c, &["serve", "--listen", "127.0.0.1:1", "--http"], file).unwrap(),
            [
                "--data-dir",
                "/var/lib/coffer",
                "--max",
                "5",
                "--tls-name",
                "a.internal",
                "--tls-name",
                "10.0.0.1"
            ]
        );
        // A switch set to false adds nothing.
        assert!(args(&c, &["serve"], "http = false").unwrap().is_empty());
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_errors() {
        let c = command();
        let e = args(&c, &["serve"], "lissen = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key `lissen`"), "{e}");
        assert!(e.contains("data-dir"), "{e}");
        let e = args(&c, &["serve"], "data_dir = \"x\"")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "unknown key `data_dir`: did you mean `data-dir`?");
        let e = args(&c, &["serve"], "config = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key `config`"), "{e}");
        let e = args(&c, &["serve"], "http = \"yes\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("switch"), "{e}");
        let e = args(&c, &["serve"], "listen = true")
            .unwrap_err()
            .to_string();
        assert!(e.contains("takes a value"), "{e}");
        let e = args(&c, &["serve"], "listen = [\"a:1\"]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an array"), "{e}");
        let e = args(&c, &["serve"], "[listen]\nx = 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a table"), "{e}");
    }

    #[test]
    fn regions_and_listen_addresses() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "eusc-de-east-1",
            "ap-southeast-2",
        ] {
            check_region(ok).unwrap();
        }
        for bad in [
            "",
            "us",
            "us-east",
            "US-EAST-1",
            "us-east-1a",
            "us--1",
            "us east 1",
            "-us-east-1",
        ] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
        for ok in ["127.0.0.1:4566", "localhost:0", "[::1]:4566", "0.0.0.0:1"] {
            assert_eq!(parse_listen(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "4566",
            "localhost",
            ":4566",
            "host:99999",
            "::1:4566",
            "[]:1",
        ] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn host_names_resolve_ipv4_first() {
        let addrs = resolve_listen("localhost:0").await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
        let listener = bind("localhost:0").await.unwrap();
        assert!(listener.local_addr().unwrap().ip().is_loopback());
        assert!(resolve_listen("no-such-host.invalid:1").await.is_err());
    }

    #[test]
    fn rendered_settings_read_back_as_toml() {
        let c = command();
        let matches = c
            .clone()
            .try_get_matches_from([
                "serve",
                "--tls-name",
                "a",
                "--tls-name",
                "b",
                "--http",
                "--max",
                "3",
            ])
            .unwrap();
        let resolved = Resolved {
            matches: matches.clone(),
            from_file: vec!["max".to_string()],
            file: None,
        };
        let text = render(&c, &resolved, &matches, |_, _| None);
        let parsed = table(&text);
        assert_eq!(parsed["listen"].as_str(), Some("127.0.0.1:4566"));
        assert_eq!(parsed["max"].as_integer(), Some(3));
        assert_eq!(parsed["http"].as_bool(), Some(true));
        assert_eq!(parsed["tls-name"].as_array().unwrap().len(), 2);
        assert_eq!(toml_value("000000000000"), "\"000000000000\"");
        assert_eq!(toml_value("123456789012"), "123456789012");
        assert_eq!(toml_value("0.5"), "0.5");
        assert_eq!(toml_value("1e3"), "\"1e3\"");
        assert!(
            text.contains("listen = \"127.0.0.1:4566\"  # default"),
            "{text}"
        );
        assert!(text.contains("max = 3  # file"), "{text}");
        assert!(
            text.contains("--http") || text.contains("http = true  # flag"),
            "{text}"
        );
    }
}
