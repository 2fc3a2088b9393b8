//! The request context: who is calling, what they ask for, and the context keys conditions and
//! policy variables read. Keys are case-insensitive, as on AWS.

use std::net::IpAddr;

use crate::condition::date;

/// One value of a context key. The text form serves string operators and policy variables; the
/// typed form, parsed once here, serves numeric, date, boolean, IP and binary operators.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextValue {
    text: String,
    typed: Typed,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Typed {
    Text,
    Number(f64),
    Bool(bool),
    /// Milliseconds since the epoch.
    Date(i64),
    Ip(IpAddr),
    Binary(Vec<u8>),
}

impl ContextValue {
    pub fn string(value: impl Into<String>) -> Self {
        ContextValue {
            text: value.into(),
            typed: Typed::Text,
        }
    }

    /// A numeric value; text that is not a number stays a string and never matches `Numeric*`.
    pub fn number(value: impl Into<String>) -> Self {
        let text = value.into();
        let typed = text
            .trim()
            .parse::<f64>()
            .map_or(Typed::Text, Typed::Number);
        ContextValue { text, typed }
    }

    pub fn boolean(value: bool) -> Self {
        ContextValue {
            text: if value { "true" } else { "false" }.to_owned(),
            typed: Typed::Bool(value),
        }
    }

    /// A date from ISO 8601 text or epoch seconds, the two forms AWS accepts.
    pub fn date(value: impl Into<String>) -> Self {
        let text = value.into();
        let typed = date::parse(&text).map_or(Typed::Text, Typed::Date);
        ContextValue { text, typed }
    }

    pub fn date_millis(millis: i64) -> Self {
        ContextValue {
            text: date::format_iso8601(millis),
            typed: Typed::Date(millis),
        }
    }

    pub fn ip(addr: IpAddr) -> Self {
        ContextValue {
            text: addr.to_string(),
            typed: Typed::Ip(addr),
        }
    }

    /// Binary values are compared as bytes; their text form is base64, as the simulator takes them.
    pub fn binary(bytes: Vec<u8>) -> Self {
        use base64::Engine as _;
        ContextValue {
            text: base64::engine::general_purpose::STANDARD.encode(&bytes),
            typed: Typed::Binary(bytes),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn typed(&self) -> &Typed {
        &self.typed
    }
}

/// The value types IAM's policy simulator accepts in `ContextEntries` (`ContextKeyType`,
/// without the `List` suffix, which only says that several values are given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextKeyType {
    String,
    Numeric,
    Boolean,
    Ip,
    Binary,
    Date,
}

impl ContextKeyType {
    /// Parses `string`, `stringList`, `numeric`, ... as the simulator names them; the flag says
    /// whether it was a list type.
    pub fn parse(name: &str) -> Option<(ContextKeyType, bool)> {
        let (base, list) = match name.strip_suffix("List") {
            Some(base) => (base, true),
            None => (name, false),
        };
        let kind = match base {
            "string" => ContextKeyType::String,
            "numeric" => ContextKeyType::Numeric,
            "boolean" => ContextKeyType::Boolean,
            "ip" => ContextKeyType::Ip,
            "binary" => ContextKeyType::Binary,
            "date" => ContextKeyType::Date,
            _ => return None,
        };
        Some((kind, list))
    }
}

impl ContextValue {
    /// A value of `kind` from the simulator's text form; `None` when the text is not a value of
    /// that type (a number, `true`/`false`, an IPv4/IPv6 address, base64, an ISO 8601 date or
    /// epoch seconds).
    pub fn parse_typed(kind: ContextKeyType, text: &str) -> Option<ContextValue> {
        match kind {
            ContextKeyType::String => Some(ContextValue::string(text)),
            ContextKeyType::Numeric => {
                let v = ContextValue::number(text);
                matches!(v.typed, Typed::Number(n) if n.is_finite()).then_some(v)
            }
            ContextKeyType::Boolean => {
                if text.eq_ignore_ascii_case("true") {
                    Some(ContextValue::boolean(true))
                } else if text.eq_ignore_ascii_case("false") {
                    Some(ContextValue::boolean(false))
                } else {
                    None
                }
            }
            ContextKeyType::Ip => text.trim().parse::<IpAddr>().ok().map(ContextValue::ip),
            ContextKeyType::Binary => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .ok()
                    .map(ContextValue::binary)
            }
            ContextKeyType::Date => {
                let v = ContextValue::date(text);
                matches!(v.typed, Typed::Date(_)).then_some(v)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    key_lower: Box<str>,
    /// The key as first set, for explanations that show the request's context.
    key_name: Box<str>,
    values: Vec<ContextValue>,
}

/// Context keys and their values. A key with an empty list is present but empty, which the set
/// operators treat like a missing key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    entries: Vec<Entry>,
}

impl Context {
    pub fn new() -> Self {
        Context::default()
    }

    /// Sets (or replaces) a key with several values.
    pub fn set(&mut self, key: &str, values: Vec<ContextValue>) {
        let key_lower: Box<str> = key.to_ascii_lowercase().into();
        match self.entries.iter_mut().find(|e| e.key_lower == key_lower) {
            Some(entry) => entry.values = values,
            None => self.entries.push(Entry {
                key_lower,
                key_name: key.into(),
                values,
            }),
        }
    }

    pub fn set_one(&mut self, key: &str, value: ContextValue) {
        self.set(key, vec![value]);
    }

    pub fn remove(&mut self, key: &str) {
        self.entries
            .retain(|e| !e.key_lower.eq_ignore_ascii_case(key));
    }

    /// The values of `key`, looked up case-insensitively.
    pub fn get(&self, key: &str) -> Option<&[ContextValue]> {
        self.entries
            .iter()
            .find(|e| e.key_lower.eq_ignore_ascii_case(key))
            .map(|e| e.values.as_slice())
    }

    /// The key names present, lower-cased.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| &*e.key_lower)
    }

    /// Each key as first set, with its values, in the order set.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &[ContextValue])> {
        self.entries
            .iter()
            .map(|e| (&*e.key_name, e.values.as_slice()))
    }

    /// A single-valued key's text, as policy variables need it.
    pub(crate) fn single_text(&self, key_lower: &str) -> Option<&str> {
        match self.get(key_lower)? {
            [one] => Some(one.as_str()),
            _ => None,
        }
    }
}

/// The kind of caller, which decides how resource-based policies and `Principal` apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalType {
    /// The account root user (`aws:PrincipalType` = `Account`).
    Root,
    User,
    /// A role session from `AssumeRole*`.
    AssumedRole,
    /// A session from `GetFederationToken`.
    FederatedUser,
    /// An AWS service principal such as `ec2.amazonaws.com`.
    Service,
    /// A web identity or SAML provider calling `AssumeRoleWith*`; `Principal::provider` names it.
    Federated,
    Anonymous,
}

impl PrincipalType {
    /// The value of `aws:PrincipalType`.
    pub fn context_value(self) -> &'static str {
        match self {
            PrincipalType::Root => "Account",
            PrincipalType::User => "User",
            PrincipalType::AssumedRole => "AssumedRole",
            PrincipalType::FederatedUser => "FederatedUser",
            PrincipalType::Service => "Service",
            PrincipalType::Federated => "WebIdentityUser",
            PrincipalType::Anonymous => "Anonymous",
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub kind: PrincipalType,
    /// The caller's ARN: `arn:aws:iam::A:root`, `arn:aws:iam::A:user/path/name`,
    /// `arn:aws:sts::A:assumed-role/R/session`, `arn:aws:sts::A:federated-user/name`.
    pub arn: String,
    pub account: String,
    /// `aws:userid`: the account id for root, `AIDA...` for users, `AROA...:session` for roles.
    pub user_id: String,
    /// `aws:username`, set for IAM users only.
    pub username: Option<String>,
    /// For role sessions: the role's ARN including its path, which resource policies may name.
    pub role_arn: Option<String>,
    /// For federated-user sessions: the IAM user that called `GetFederationToken`.
    pub source_user_arn: Option<String>,
    /// For `Service` and `Federated` callers: the service or provider name.
    pub provider: Option<String>,
    /// `aws:PrincipalTag/*`.
    pub tags: Vec<(String, String)>,
}

impl Principal {
    pub fn root(account: &str) -> Self {
        Principal::new(
            PrincipalType::Root,
            format!("arn:aws:iam::{account}:root"),
            account,
            account,
        )
    }

    pub fn user(account: &str, path_and_name: &str, user_id: &str) -> Self {
        let path_and_name = path_and_name.trim_start_matches('/');
        let name = path_and_name.rsplit('/').next().unwrap_or(path_and_name);
        let mut p = Principal::new(
            PrincipalType::User,
            format!("arn:aws:iam::{account}:user/{path_and_name}"),
            account,
            user_id,
        );
        p.username = Some(name.to_owned());
        p
    }

    /// A role session; `role_path_and_name` is e.g. `service/MyRole` and `role_id` the `AROA...` id.
    pub fn assumed_role(
        account: &str,
        role_path_and_name: &str,
        session: &str,
        role_id: &str,
    ) -> Self {
        let role_path_and_name = role_path_and_name.trim_start_matches('/');
        let role_name = role_path_and_name
            .rsplit('/')
            .next()
            .unwrap_or(role_path_and_name);
        let mut p = Principal::new(
            PrincipalType::AssumedRole,
            format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session}"),
            account,
            &format!("{role_id}:{session}"),
        );
        p.role_arn = Some(format!("arn:aws:iam::{account}:role/{role_path_and_name}"));
        p
    }

    pub fn federated_user(account: &str, name: &str, source_user_arn: &str) -> Self {
        let mut p = Principal::new(
            PrincipalType::FederatedUser,
            format!("arn:aws:sts::{account}:federated-user/{name}"),
            account,
            &format!("{account}:{name}"),
        );
        p.source_user_arn = Some(source_user_arn.to_owned());
        p
    }

    pub fn new(kind: PrincipalType, arn: String, account: &str, user_id: &str) -> Self {
        Principal {
            kind,
            arn,
            account: account.to_owned(),
            user_id: user_id.to_owned(),
            username: None,
            role_arn: None,
            source_user_arn: None,
            provider: None,
            tags: Vec::new(),
        }
    }

    pub fn with_tag(mut self, key: &str, value: &str) -> Self {
        self.tags.push((key.to_owned(), value.to_owned()));
        self
    }
}

/// What is being authorized: one action on one resource (or none) by one principal.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub principal: Principal,
    pub action: String,
    /// The resource ARN; `None` for actions that take no resource, which only `"*"` matches.
    pub resource: Option<String>,
    pub context: Context,
}

impl Request {
    /// A request whose context already holds the keys derived from the principal
    /// (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:userid`,
    /// `aws:username`, `aws:PrincipalTag/*`) and `aws:ViaAWSService` = false.
    pub fn new(principal: Principal, action: &str, resource: Option<&str>) -> Self {
        let mut context = Context::new();
        if principal.kind != PrincipalType::Anonymous {
            context.set_one(
                "aws:PrincipalArn",
                ContextValue::string(principal.arn.clone()),
            );
            context.set_one(
                "aws:PrincipalAccount",
                ContextValue::string(principal.account.clone()),
            );
            context.set_one(
                "aws:userid",
                ContextValue::string(principal.user_id.clone()),
            );
        }
        context.set_one(
            "aws:PrincipalType",
            ContextValue::string(principal.kind.context_value()),
        );
        if let Some(name) = &principal.username {
            context.set_one("aws:username", ContextValue::string(name.clone()));
        }
        for (k, v) in &principal.tags {
            context.set_one(
                &format!("aws:PrincipalTag/{k}"),
                ContextValue::string(v.clone()),
            );
        }
        if !principal.tags.is_empty() {
            let keys = principal
                .tags
                .iter()
                .map(|(k, _)| ContextValue::string(k.clone()))
                .collect();
            context.set("aws:PrincipalTagKeys", keys);
        }
        context.set_one("aws:ViaAWSService", ContextValue::boolean(false));
        Request {
            principal,
            action: action.to_owned(),
            resource: resource.map(str::to_owned),
            context,
        }
    }

    pub fn with_source_ip(mut self, ip: IpAddr) -> Self {
        self.context.set_one("aws:SourceIp", ContextValue::ip(ip));
        self
    }

    pub fn with_secure_transport(mut self, secure: bool) -> Self {
        self.context
            .set_one("aws:SecureTransport", ContextValue::boolean(secure));
        self
    }

    /// Sets `aws:CurrentTime` and `aws:EpochTime` from the request time.
    pub fn with_time_millis(mut self, millis: i64) -> Self {
        self.context
            .set_one("aws:CurrentTime", ContextValue::date_millis(millis));
        let seconds = millis.div_euclid(1000);
        let epoch = ContextValue {
            text: seconds.to_string(),
            typed: Typed::Date(seconds * 1000),
        };
        self.context.set_one("aws:EpochTime", epoch);
        self
    }

    pub fn with_region(mut self, region: &str) -> Self {
        self.context
            .set_one("aws:RequestedRegion", ContextValue::string(region));
        self
    }

    pub fn with_value(mut self, key: &str, value: ContextValue) -> Self {
        self.context.set_one(key, value);
        self
    }

    pub fn with_values(mut self, key: &str, values: Vec<ContextValue>) -> Self {
        self.context.set(key, values);
        self
    }

    /// The resource as matched against `Resource`: a request without one is the resource `*`.
    pub(crate) fn resource_str(&self) -> &str {
        self.resource.as_deref().unwrap_or("*")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive() {
        let mut c = Context::new();
        c.set_one("aws:PrincipalTag/Team", ContextValue::string("blue"));
        assert_eq!(c.get("AWS:principaltag/team").unwrap()[0].as_str(), "blue");
        c.set_one("AWS:PRINCIPALTAG/TEAM", ContextValue::string("red"));
        assert_eq!(c.get("aws:principaltag/team").unwrap().len(), 1);
        assert_eq!(c.get("aws:principaltag/team").unwrap()[0].as_str(), "red");
        c.remove("Aws:PrincipalTag/Team");
        assert!(c.get("aws:principaltag/team").is_none());
    }

    #[test]
    fn principal_keys_are_derived() {
        let r = Request::new(
            Principal::user("111122223333", "/dev/alice", "AIDAEXAMPLE"),
            "s3:GetObject",
            None,
        )
        .with_time_millis(1_700_000_000_123);
        assert_eq!(r.context.single_text("aws:username"), Some("alice"));
        assert_eq!(
            r.context.single_text("aws:principalarn"),
            Some("arn:aws:iam::111122223333:user/dev/alice")
        );
        assert_eq!(r.context.single_text("aws:principaltype"), Some("User"));
        assert_eq!(r.context.single_text("aws:epochtime"), Some("1700000000"));
        assert_eq!(
            r.context.single_text("aws:currenttime"),
            Some("2023-11-14T22:13:20Z")
        );
        let role = Principal::assumed_role("111122223333", "svc/Deploy", "s1", "AROAEXAMPLE");
        assert_eq!(role.arn, "arn:aws:sts::111122223333:assumed-role/Deploy/s1");
        assert_eq!(
            role.role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/svc/Deploy")
        );
        assert_eq!(role.user_id, "AROAEXAMPLE:s1");
    }
}
