//! AWS's evaluation logic, table-driven from the IAM User Guide's policy evaluation pages
//! (single account, cross-account, boundaries, session policies, the root user, NotPrincipal).

use coffer_policy::{
    evaluate, explain, AttachedPolicy, ContextValue, DenyReason, EvalDecision, PolicySet,
    PolicyType, Principal, Request,
};

use super::{boundary, identity, resource, session, statement, trust, ACCOUNT, OTHER_ACCOUNT};

const BUCKET: &str = "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs";

fn carlos() -> Principal {
    Principal::user(ACCOUNT, "carlossalazar", "AIDACARLOS")
}

struct Case<'a> {
    name: &'a str,
    principal: Principal,
    action: &'a str,
    resource: Option<&'a str>,
    identity: Vec<AttachedPolicy>,
    resource_policy: Option<AttachedPolicy>,
    trust_policy: Option<AttachedPolicy>,
    resource_account: Option<&'a str>,
    boundary: Option<AttachedPolicy>,
    session: Vec<AttachedPolicy>,
    want: EvalDecision,
    reason: Option<DenyReason>,
}

impl<'a> Case<'a> {
    fn new(
        name: &'a str,
        principal: Principal,
        action: &'a str,
        resource: Option<&'a str>,
    ) -> Self {
        Case {
            name,
            principal,
            action,
            resource,
            identity: Vec::new(),
            resource_policy: None,
            trust_policy: None,
            resource_account: None,
            boundary: None,
            session: Vec::new(),
            want: EvalDecision::ImplicitDeny,
            reason: None,
        }
    }
    fn id(mut self, json: &str) -> Self {
        self.identity.push(identity(json));
        self
    }
    fn rbp(mut self, json: &str) -> Self {
        self.resource_policy = Some(resource(json));
        self
    }
    fn trust(mut self, json: &str) -> Self {
        self.trust_policy = Some(trust(json));
        self
    }
    fn owner(mut self, account: &'a str) -> Self {
        self.resource_account = Some(account);
        self
    }
    fn boundary(mut self, json: &str) -> Self {
        self.boundary = Some(boundary(json));
        self
    }
    fn session(mut self, json: &str) -> Self {
        self.session.push(session(json));
        self
    }
    fn allowed(mut self) -> Self {
        self.want = EvalDecision::Allowed;
        self
    }
    fn explicit(mut self, t: PolicyType) -> Self {
        self.want = EvalDecision::ExplicitDeny;
        self.reason = Some(DenyReason::Explicit(t));
        self
    }
    fn implicit(mut self, t: PolicyType) -> Self {
        self.want = EvalDecision::ImplicitDeny;
        self.reason = Some(DenyReason::Implicit(t));
        self
    }
    fn check(&self) {
        let request = Request::new(self.principal.clone(), self.action, self.resource);
        let set = PolicySet {
            identity: &self.identity,
            resource: self.resource_policy.as_ref(),
            trust: self.trust_policy.as_ref(),
            resource_account: self.resource_account,
            boundary: self.boundary.as_ref(),
            session: &self.session,
        };
        let d = evaluate(&request, &set);
        assert_eq!(d.decision, self.want, "{}", self.name);
        assert_eq!(d.reason, self.reason, "{}", self.name);
    }
}

fn allow(action: &str, resource: &str) -> String {
    statement(&format!(
        r#"{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}"#
    ))
}

fn deny(action: &str, resource: &str) -> String {
    statement(&format!(
        r#"{{"Effect":"Deny","Action":"{action}","Resource":"{resource}"}}"#
    ))
}

fn rbp_allow(principal: &str, action: &str) -> String {
    statement(&format!(
        r#"{{"Effect":"Allow","Principal":{principal},"Action":"{action}","Resource":"*"}}"#
    ))
}

fn rbp_deny(principal: &str, action: &str) -> String {
    statement(&format!(
        r#"{{"Effect":"Deny","Principal":{principal},"Action":"{action}","Resource":"*"}}"#
    ))
}

/// The IAM User Guide's example: Carlos's user policy allows listing and reading; the bucket
/// policy allows him to put objects. Within one account, either allowing is enough.
#[test]
fn user_guide_carlos_example() {
    let user_policy = statement(
        r#"{"Sid":"AllowS3ListRead","Effect":"Allow","Action":["s3:GetBucketLocation","s3:GetObjectVersion","s3:ListAllMyBuckets"],"Resource":"arn:aws:s3:::*"},
           {"Sid":"AllowS3Self","Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/*","arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar"]},
           {"Sid":"DenyS3Logs","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::*log*"}"#,
    );
    let bucket_policy = statement(
        r#"{"Sid":"AllowS3PutObject","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/carlossalazar"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/*"}"#,
    );
    let logs = "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/a.log";
    Case::new(
        "explicit deny in the user policy beats the bucket policy",
        carlos(),
        "s3:PutObject",
        Some(logs),
    )
    .id(&user_policy)
    .rbp(&bucket_policy)
    .explicit(PolicyType::IdentityBased)
    .check();
    Case::new(
        "own bucket allowed",
        carlos(),
        "s3:PutObject",
        Some("arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/x"),
    )
    .id(&user_policy)
    .rbp(&bucket_policy)
    .allowed()
    .check();
    Case::new(
        "read allowed anywhere",
        carlos(),
        "s3:GetObjectVersion",
        Some("arn:aws:s3:::other/x"),
    )
    .id(&user_policy)
    .allowed()
    .check();
    let without_deny = allow("s3:GetBucketLocation", "arn:aws:s3:::*");
    Case::new(
        "bucket policy alone grants within the account",
        carlos(),
        "s3:PutObject",
        Some(&format!("{BUCKET}/x")),
    )
    .id(&without_deny)
    .rbp(&bucket_policy)
    .allowed()
    .check();
    Case::new(
        "nothing allows",
        carlos(),
        "s3:DeleteObject",
        Some(&format!("{BUCKET}/x")),
    )
    .id(&without_deny)
    .rbp(&bucket_policy)
    .implicit(PolicyType::IdentityBased)
    .check();
}

#[test]
fn single_account_table() {
    let secret = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf";
    let gsv = "secretsmanager:GetSecretValue";
    let alice = || Principal::user(ACCOUNT, "alice", "AIDAALICE");
    let session = || Principal::assumed_role(ACCOUNT, "app/Reader", "s1", "AROAREADER");
    let all = allow("secretsmanager:*", "*");
    Case::new("no policy at all", alice(), gsv, Some(secret))
        .implicit(PolicyType::IdentityBased)
        .check();
    Case::new("identity allows", alice(), gsv, Some(secret))
        .id(&all)
        .allowed()
        .check();
    Case::new(
        "action glob is case-insensitive",
        alice(),
        "SecretsManager:getsecretvalue",
        Some(secret),
    )
    .id(&allow("secretsmanager:Get*", "*"))
    .allowed()
    .check();
    Case::new("identity allows another action", alice(), gsv, Some(secret))
        .id(&allow("secretsmanager:List*", "*"))
        .implicit(PolicyType::IdentityBased)
        .check();
    Case::new(
        "identity allows another resource",
        alice(),
        gsv,
        Some(secret),
    )
    .id(&allow(
        gsv,
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:other-*",
    ))
    .implicit(PolicyType::IdentityBased)
    .check();
    Case::new(
        "deny in a second identity policy",
        alice(),
        gsv,
        Some(secret),
    )
    .id(&all)
    .id(&deny(gsv, "*"))
    .explicit(PolicyType::IdentityBased)
    .check();
    Case::new("resource policy deny overrides", alice(), gsv, Some(secret))
        .id(&all)
        .rbp(&rbp_deny(
            r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
            gsv,
        ))
        .explicit(PolicyType::ResourceBased)
        .check();
    Case::new(
        "resource policy deny to everyone",
        alice(),
        gsv,
        Some(secret),
    )
    .id(&all)
    .rbp(&rbp_deny(r#""*""#, "*"))
    .explicit(PolicyType::ResourceBased)
    .check();
    Case::new("resource policy names the user", alice(), gsv, Some(secret))
        .rbp(&rbp_allow(
            r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
            gsv,
        ))
        .allowed()
        .check();
    Case::new(
        "resource policy names the account: identity must allow",
        alice(),
        gsv,
        Some(secret),
    )
    .rbp(&rbp_allow(r#"{"AWS":"111122223333"}"#, gsv))
    .implicit(PolicyType::IdentityBased)
    .check();
    Case::new(
        "resource policy names the account and identity allows",
        alice(),
        gsv,
        Some(secret),
    )
    .id(&all)
    .rbp(&rbp_allow(
        r#"{"AWS":"arn:aws:iam::111122223333:root"}"#,
        gsv,
    ))
    .allowed()
    .check();
    Case::new(
        "resource policy names someone else",
        alice(),
        gsv,
        Some(secret),
    )
    .rbp(&rbp_allow(
        r#"{"AWS":"arn:aws:iam::111122223333:user/bob"}"#,
        gsv,
    ))
    .implicit(PolicyType::IdentityBased)
    .check();
    Case::new(
        "resource policy allows everyone",
        alice(),
        gsv,
        Some(secret),
    )
    .rbp(&rbp_allow(r#""*""#, gsv))
    .allowed()
    .check();
    Case::new(
        "role session named through its role",
        session(),
        gsv,
        Some(secret),
    )
    .rbp(&rbp_allow(
        r#"{"AWS":"arn:aws:iam::111122223333:role/app/Reader"}"#,
        gsv,
    ))
    .allowed()
    .check();
    Case::new("role session named directly", session(), gsv, Some(secret))
        .rbp(&rbp_allow(
            r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/Reader/s1"}"#,
            gsv,
        ))
        .allowed()
        .check();
    Case::new("another session of the role", session(), gsv, Some(secret))
        .rbp(&rbp_allow(
            r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/Reader/s2"}"#,
            gsv,
        ))
        .implicit(PolicyType::IdentityBased)
        .check();
}

/// Permissions boundaries and session policies intersect with identity-based permissions; the
/// documented exceptions for resource-based policies that name the caller directly.
#[test]
fn boundaries_and_sessions_table() {
    let secret = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf";
    let gsv = "secretsmanager:GetSecretValue";
    let alice = || Principal::user(ACCOUNT, "alice", "AIDAALICE");
    let session = || Principal::assumed_role(ACCOUNT, "Reader", "s1", "AROAREADER");
    let all = allow("secretsmanager:*", "*");
    let s3_only = allow("s3:*", "*");
    Case::new("boundary allows too", alice(), gsv, Some(secret))
        .id(&all)
        .boundary(&all)
        .allowed()
        .check();
    Case::new("boundary does not allow", alice(), gsv, Some(secret))
        .id(&all)
        .boundary(&s3_only)
        .implicit(PolicyType::PermissionsBoundary)
        .check();
    Case::new("boundary alone grants nothing", alice(), gsv, Some(secret))
        .boundary(&all)
        .implicit(PolicyType::IdentityBased)
        .check();
    Case::new("boundary deny", alice(), gsv, Some(secret))
        .id(&all)
        .boundary(&deny("*", "*"))
        .explicit(PolicyType::PermissionsBoundary)
        .check();
    Case::new(
        "resource policy naming the user is not limited by the boundary",
        alice(),
        gsv,
        Some(secret),
    )
    .boundary(&s3_only)
    .rbp(&rbp_allow(
        r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
        gsv,
    ))
    .allowed()
    .check();
    Case::new(
        "resource policy naming the role is limited by the boundary",
        session(),
        gsv,
        Some(secret),
    )
    .boundary(&s3_only)
    .rbp(&rbp_allow(
        r#"{"AWS":"arn:aws:iam::111122223333:role/Reader"}"#,
        gsv,
    ))
    .implicit(PolicyType::PermissionsBoundary)
    .check();
    Case::new(
        "resource policy naming the role is limited by the session policy",
        session(),
        gsv,
        Some(secret),
    )
    .session(&s3_only)
    .rbp(&rbp_allow(
        r#"{"AWS":"arn:aws:iam::111122223333:role/Reader"}"#,
        gsv,
    ))
    .implicit(PolicyType::SessionPolicy)
    .check();
    Case::new(
        "resource policy naming the session is not limited",
        session(),
        gsv,
        Some(secret),
    )
    .boundary(&s3_only)
    .session(&s3_only)
    .rbp(&rbp_allow(
        r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/Reader/s1"}"#,
        gsv,
    ))
    .allowed()
    .check();
    // A wildcard names nobody in particular: only the session's own ARN escapes session
    // policies, so scoped-down credentials stay scoped down before a public resource policy.
    for principal in [r#""*""#, r#"{"AWS":"*"}"#] {
        Case::new(
            "resource policy for everyone is limited by the session policy",
            session(),
            gsv,
            Some(secret),
        )
        .session(&s3_only)
        .rbp(&rbp_allow(principal, gsv))
        .implicit(PolicyType::SessionPolicy)
        .check();
        Case::new(
            "resource policy for everyone, session policy allows",
            session(),
            gsv,
            Some(secret),
        )
        .session(&all)
        .rbp(&rbp_allow(principal, gsv))
        .allowed()
        .check();
        Case::new(
            "resource policy for everyone is limited by the boundary",
            alice(),
            gsv,
            Some(secret),
        )
        .boundary(&s3_only)
        .rbp(&rbp_allow(principal, gsv))
        .implicit(PolicyType::PermissionsBoundary)
        .check();
        Case::new(
            "resource policy for everyone needs no identity-based policy",
            alice(),
            gsv,
            Some(secret),
        )
        .rbp(&rbp_allow(principal, gsv))
        .allowed()
        .check();
    }
    Case::new("session policy intersects", session(), gsv, Some(secret))
        .id(&all)
        .session(&all)
        .allowed()
        .check();
    Case::new(
        "session policy does not allow",
        session(),
        gsv,
        Some(secret),
    )
    .id(&all)
    .session(&s3_only)
    .implicit(PolicyType::SessionPolicy)
    .check();
    Case::new("session policy cannot add", session(), gsv, Some(secret))
        .id(&s3_only)
        .session(&all)
        .implicit(PolicyType::IdentityBased)
        .check();
    Case::new("session policy deny", session(), gsv, Some(secret))
        .id(&all)
        .session(&deny(gsv, "*"))
        .explicit(PolicyType::SessionPolicy)
        .check();
    let fed = Principal::federated_user(ACCOUNT, "partner", "arn:aws:iam::111122223333:user/alice");
    Case::new(
        "federated session: policy naming the IAM user is limited",
        fed.clone(),
        gsv,
        Some(secret),
    )
    .session(&s3_only)
    .rbp(&rbp_allow(
        r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
        gsv,
    ))
    .implicit(PolicyType::SessionPolicy)
    .check();
    Case::new("federated session named directly", fed, gsv, Some(secret))
        .session(&s3_only)
        .rbp(&rbp_allow(
            r#"{"AWS":"arn:aws:sts::111122223333:federated-user/partner"}"#,
            gsv,
        ))
        .allowed()
        .check();
}

#[test]
fn cross_account_table() {
    let secret = "arn:aws:secretsmanager:us-east-1:444455556666:secret:shared-AbCdEf";
    let gsv = "secretsmanager:GetSecretValue";
    let alice = || Principal::user(ACCOUNT, "alice", "AIDAALICE");
    let all = allow("secretsmanager:*", "*");
    let grant_account = rbp_allow(r#"{"AWS":"arn:aws:iam::111122223333:root"}"#, gsv);
    Case::new("identity only", alice(), gsv, Some(secret))
        .id(&all)
        .owner(OTHER_ACCOUNT)
        .implicit(PolicyType::ResourceBased)
        .check();
    Case::new("resource policy only", alice(), gsv, Some(secret))
        .rbp(&rbp_allow(
            r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
            gsv,
        ))
        .owner(OTHER_ACCOUNT)
        .implicit(PolicyType::IdentityBased)
        .check();
    Case::new("both sides", alice(), gsv, Some(secret))
        .id(&all)
        .rbp(&grant_account)
        .owner(OTHER_ACCOUNT)
        .allowed()
        .check();
    Case::new(
        "resource policy for a third account",
        alice(),
        gsv,
        Some(secret),
    )
    .id(&all)
    .rbp(&rbp_allow(r#"{"AWS":"999988887777"}"#, gsv))
    .owner(OTHER_ACCOUNT)
    .implicit(PolicyType::ResourceBased)
    .check();
    Case::new("both sides, boundary refuses", alice(), gsv, Some(secret))
        .id(&all)
        .rbp(&grant_account)
        .boundary(&allow("s3:*", "*"))
        .owner(OTHER_ACCOUNT)
        .implicit(PolicyType::PermissionsBoundary)
        .check();
    Case::new(
        "root of the other account still needs the resource policy",
        Principal::root(ACCOUNT),
        gsv,
        Some(secret),
    )
    .owner(OTHER_ACCOUNT)
    .implicit(PolicyType::ResourceBased)
    .check();
    Case::new(
        "root with the resource policy",
        Principal::root(ACCOUNT),
        gsv,
        Some(secret),
    )
    .rbp(&grant_account)
    .owner(OTHER_ACCOUNT)
    .allowed()
    .check();
}

#[test]
fn root_user_table() {
    let secret = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf";
    let gsv = "secretsmanager:GetSecretValue";
    Case::new(
        "root may do anything in its account",
        Principal::root(ACCOUNT),
        gsv,
        Some(secret),
    )
    .allowed()
    .check();
    Case::new(
        "unless a resource policy denies",
        Principal::root(ACCOUNT),
        gsv,
        Some(secret),
    )
    .rbp(&rbp_deny(r#"{"AWS":"111122223333"}"#, gsv))
    .explicit(PolicyType::ResourceBased)
    .check();
}

#[test]
fn not_elements_table() {
    let alice = || Principal::user(ACCOUNT, "alice", "AIDAALICE");
    let not_iam = statement(r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#);
    Case::new(
        "NotAction allows what it does not list",
        alice(),
        "s3:GetObject",
        Some("arn:aws:s3:::b/k"),
    )
    .id(&not_iam)
    .allowed()
    .check();
    Case::new(
        "NotAction does not allow what it lists",
        alice(),
        "iam:CreateUser",
        None,
    )
    .id(&not_iam)
    .implicit(PolicyType::IdentityBased)
    .check();
    let payroll = statement(
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}"#,
    );
    Case::new(
        "NotResource deny spares the listed resources",
        alice(),
        "s3:GetObject",
        Some("arn:aws:s3:::HRBucket/Payroll/jan"),
    )
    .id(&payroll)
    .allowed()
    .check();
    Case::new(
        "NotResource deny hits everything else",
        alice(),
        "s3:GetObject",
        Some("arn:aws:s3:::HRBucket/Other"),
    )
    .id(&payroll)
    .explicit(PolicyType::IdentityBased)
    .check();

    // The guide's NotPrincipal example: deny everyone except the listed account and user.
    let bucket = statement(
        r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"},
           {"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/Bob","arn:aws:iam::111122223333:root"]},"Action":"s3:*","Resource":"*"}"#,
    );
    let bob = Principal::user(ACCOUNT, "Bob", "AIDABOB");
    Case::new(
        "NotPrincipal spares Bob",
        bob.clone(),
        "s3:GetObject",
        Some("arn:aws:s3:::b/k"),
    )
    .rbp(&bucket)
    .allowed()
    .check();
    Case::new(
        "NotPrincipal denies others",
        alice(),
        "s3:GetObject",
        Some("arn:aws:s3:::b/k"),
    )
    .rbp(&bucket)
    .explicit(PolicyType::ResourceBased)
    .check();
    Case::new(
        "NotPrincipal deny always applies to a caller with a boundary",
        bob,
        "s3:GetObject",
        Some("arn:aws:s3:::b/k"),
    )
    .rbp(&bucket)
    .boundary(&allow("s3:*", "*"))
    .explicit(PolicyType::ResourceBased)
    .check();
    let role_only = statement(
        r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"},
           {"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:sts::111122223333:assumed-role/R/s1"]},"Action":"s3:*","Resource":"*"}"#,
    );
    Case::new(
        "NotPrincipal naming only the session still denies it",
        Principal::assumed_role(ACCOUNT, "R", "s1", "AROAR"),
        "s3:GetObject",
        Some("arn:aws:s3:::b/k"),
    )
    .rbp(&role_only)
    .explicit(PolicyType::ResourceBased)
    .check();
}

#[test]
fn decision_reports_statements_and_missing_keys() {
    let alice = Principal::user(ACCOUNT, "alice", "AIDAALICE");
    let policies = [identity(&statement(
        r#"{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
           {"Sid":"NeedsTag","Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"blue"}}},
           {"Sid":"NoMfaNoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}"#,
    ))];
    let set = PolicySet {
        identity: &policies,
        ..PolicySet::default()
    };
    let request = Request::new(alice.clone(), "s3:GetObject", Some("arn:aws:s3:::b/k"));
    let d = evaluate(&request, &set);
    assert!(d.is_allowed());
    assert_eq!(
        d.matched
            .iter()
            .map(|m| m.statement.sid())
            .collect::<Vec<_>>(),
        [Some("Read")]
    );
    assert_eq!(d.matched[0].policy.id, "identity");
    assert_eq!(d.missing_context_values, ["aws:ResourceTag/team"]);
    assert_eq!(d.identity, Some(EvalDecision::Allowed));
    assert_eq!(d.resource, None);
    assert_eq!(d.access_denied_message(&request), None);

    let delete = Request::new(alice, "s3:DeleteObject", Some("arn:aws:s3:::b/k"));
    let d = evaluate(&delete, &set);
    assert_eq!(d.decision, EvalDecision::ExplicitDeny);
    assert_eq!(
        d.matched
            .iter()
            .map(|m| m.statement.sid())
            .collect::<Vec<_>>(),
        [Some("NoMfaNoDelete")]
    );
    assert_eq!(d.missing_context_values, ["aws:MultiFactorAuthPresent"]);
    assert_eq!(
        d.access_denied_message(&delete).as_deref(),
        Some("User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:DeleteObject on resource: arn:aws:s3:::b/k with an explicit deny in an identity-based policy")
    );
}

#[test]
fn explain_reports_the_allows_that_fell_short_and_their_failing_conditions() {
    let alice = Principal::user(ACCOUNT, "alice", "AIDAALICE");
    let policies = [identity(&statement(
        r#"{"Sid":"OtherBucket","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"},
           {"Sid":"FromOffice","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringEquals":{"aws:PrincipalTag/team":"blue"}}},
           {"Sid":"Unrelated","Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}"#,
    ))];
    let set = PolicySet {
        identity: &policies,
        ..PolicySet::default()
    };
    let request = Request::new(alice, "s3:GetObject", Some("arn:aws:s3:::b/k")).with_value(
        "aws:SourceIp",
        ContextValue::ip("192.0.2.1".parse().unwrap()),
    );
    let plain = evaluate(&request, &set);
    assert!(plain.unmet.is_empty(), "only explain() records them");
    let d = explain(&request, &set);
    assert_eq!(d.decision, plain.decision);
    assert_eq!(
        d.reason,
        Some(DenyReason::Implicit(PolicyType::IdentityBased))
    );
    let unmet: Vec<_> = d
        .unmet
        .iter()
        .map(|u| {
            (
                u.statement.sid(),
                u.resource_matched,
                u.failing_conditions
                    .iter()
                    .map(|c| (c.operator, c.key, c.values.iter().map(|v| &**v).collect()))
                    .collect::<Vec<(&str, &str, Vec<&str>)>>(),
            )
        })
        .collect();
    assert_eq!(
        unmet,
        [
            (Some("OtherBucket"), false, vec![]),
            (
                Some("FromOffice"),
                true,
                vec![
                    ("IpAddress", "aws:SourceIp", vec!["10.0.0.0/8"]),
                    ("StringEquals", "aws:PrincipalTag/team", vec!["blue"]),
                ]
            ),
        ]
    );
    let from_office = d.unmet[1].statement;
    assert_eq!(
        from_office.action_texts().collect::<Vec<_>>(),
        ["s3:GetObject", "s3:PutObject"]
    );
    assert_eq!(from_office.resource_texts().collect::<Vec<_>>(), ["*"]);
    assert_eq!(d.missing_context_values, ["aws:PrincipalTag/team"]);
    // An allowed request has nothing unmet to report.
    let allowed = Request::new(
        Principal::user(ACCOUNT, "alice", "AIDAALICE"),
        "s3:ListBucket",
        Some("arn:aws:s3:::b"),
    );
    assert!(explain(&allowed, &set).unmet.is_empty());
}

fn trust_allow(principal: &str, extra: &str) -> String {
    statement(&format!(
        r#"{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"{extra}}}"#
    ))
}

/// A role's trust policy must always allow (IAM User Guide: "How IAM roles differ from
/// resource-based policies" and the role trust policy pages); what else must allow depends on
/// how it names the caller.
#[test]
fn trust_policies_must_always_allow() {
    const ROLE: &str = "arn:aws:iam::111122223333:role/Admin";
    let alice = || Principal::user(ACCOUNT, "alice", "AIDAALICE");
    let session = || Principal::assumed_role(ACCOUNT, "Ops", "s1", "AROAOPS");
    let outsider = || Principal::user(OTHER_ACCOUNT, "eve", "AIDAEVE");
    let assume_all = allow("sts:AssumeRole", "*");
    let names_bob = trust_allow(r#"{"AWS":"arn:aws:iam::111122223333:user/bob"}"#, "");
    let names_alice = trust_allow(r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#, "");
    let names_account = trust_allow(r#"{"AWS":"arn:aws:iam::111122223333:root"}"#, "");
    let names_ops = trust_allow(r#"{"AWS":"arn:aws:iam::111122223333:role/Ops"}"#, "");
    let external_id = trust_allow(
        r#"{"AWS":"111122223333"}"#,
        r#","Condition":{"StringEquals":{"sts:ExternalId":"x-123"}}"#,
    );
    let mfa = trust_allow(
        r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
        r#","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#,
    );
    let cases = [
        // The critical hole: an identity policy allowing sts:AssumeRole on * is not enough.
        Case::new("identity alone", alice(), "sts:AssumeRole", Some(ROLE))
            .id(&assume_all)
            .trust(&names_bob)
            .implicit(PolicyType::TrustPolicy),
        Case::new(
            "session identity alone",
            session(),
            "sts:AssumeRole",
            Some(ROLE),
        )
        .id(&assume_all)
        .trust(&names_bob)
        .implicit(PolicyType::TrustPolicy),
        Case::new(
            "trust names the caller",
            alice(),
            "sts:AssumeRole",
            Some(ROLE),
        )
        .trust(&names_alice)
        .allowed(),
        Case::new(
            "trust names the account, no identity",
            alice(),
            "sts:AssumeRole",
            Some(ROLE),
        )
        .trust(&names_account)
        .implicit(PolicyType::IdentityBased),
        Case::new(
            "trust names the account, identity",
            alice(),
            "sts:AssumeRole",
            Some(ROLE),
        )
        .id(&assume_all)
        .trust(&names_account)
        .allowed(),
        Case::new(
            "boundary limits a direct trust",
            alice(),
            "sts:AssumeRole",
            Some(ROLE),
        )
        .trust(&names_alice)
        .boundary(&allow("s3:*", "*"))
        .implicit(PolicyType::PermissionsBoundary),
        Case::new("boundary allowing", alice(), "sts:AssumeRole", Some(ROLE))
            .trust(&names_alice)
            .boundary(&allow("sts:*", "*"))
            .allowed(),
        Case::new(
            "trust names the session's role",
            session(),
            "sts:AssumeRole",
            Some(ROLE),
        )
        .trust(&names_ops)
        .allowed(),
        Case::new(
            "session policy limits a role grant",
            session(),
            "sts:AssumeRole",
            Some(ROLE),
        )
        .trust(&names_ops)
        .session(&allow("s3:*", "*"))
        .implicit(PolicyType::SessionPolicy),
        Case::new("external id missing", alice(), "sts:AssumeRole", Some(ROLE))
            .id(&assume_all)
            .trust(&external_id)
            .implicit(PolicyType::TrustPolicy),
        Case::new("mfa missing", alice(), "sts:AssumeRole", Some(ROLE))
            .trust(&mfa)
            .implicit(PolicyType::TrustPolicy),
        Case::new(
            "explicit deny in trust",
            alice(),
            "sts:AssumeRole",
            Some(ROLE),
        )
        .id(&assume_all)
        .trust(&statement(
            r#"{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}"#,
        ))
        .explicit(PolicyType::TrustPolicy),
        Case::new(
            "cross-account trust only",
            outsider(),
            "sts:AssumeRole",
            Some(ROLE),
        )
        .trust(&trust_allow(r#"{"AWS":"444455556666"}"#, ""))
        .owner(ACCOUNT)
        .implicit(PolicyType::IdentityBased),
        Case::new(
            "cross-account identity only",
            outsider(),
            "sts:AssumeRole",
            Some(ROLE),
        )
        .id(&assume_all)
        .trust(&names_bob)
        .owner(ACCOUNT)
        .implicit(PolicyType::TrustPolicy),
        Case::new(
            "cross-account both",
            outsider(),
            "sts:AssumeRole",
            Some(ROLE),
        )
        .id(&assume_all)
        .trust(&trust_allow(
            r#"{"AWS":"arn:aws:iam::444455556666:user/eve"}"#,
            "",
        ))
        .owner(ACCOUNT)
        .allowed(),
        // A trust policy is not consulted as a resource policy: TagSession needs its own grant.
        Case::new(
            "tag session not in trust",
            alice(),
            "sts:TagSession",
            Some(ROLE),
        )
        .id(&allow("sts:*", "*"))
        .trust(&names_alice)
        .implicit(PolicyType::TrustPolicy),
    ];
    for case in &cases {
        case.check();
    }
}

#[test]
fn trust_denial_message_ends_at_the_resource() {
    let reason = DenyReason::Implicit(PolicyType::TrustPolicy);
    assert_eq!(
        coffer_policy::access_denied(
            "arn:aws:iam::111122223333:user/alice",
            "sts:AssumeRole",
            Some("arn:aws:iam::111122223333:role/Admin"),
            reason
        ),
        "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/Admin"
    );
}

/// A user (or root) acting under session policies — delegated credentials act as the identity
/// that accepted the delegation — is a session of itself: a resource or trust policy naming the
/// user is a grant to the session's parent, limited by the session policies (AWS: session
/// policies limit what a resource-based policy grants to the user's or role's ARN).
#[test]
fn a_user_under_session_policies_is_limited_by_them_even_when_named() {
    let named = r#"{"AWS":"arn:aws:iam::111122223333:user/carlossalazar"}"#;
    let secret = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf";
    let narrow = allow("s3:GetObject", "*");
    let role = "arn:aws:iam::111122223333:role/admin";
    let cases = [
        // Without session policies, naming the user grants outright.
        Case::new(
            "named, no session",
            carlos(),
            "secretsmanager:GetSecretValue",
            Some(secret),
        )
        .rbp(&rbp_allow(named, "secretsmanager:GetSecretValue"))
        .allowed(),
        // Under a session policy that does not allow it: refused.
        Case::new(
            "named, session narrows",
            carlos(),
            "secretsmanager:GetSecretValue",
            Some(secret),
        )
        .rbp(&rbp_allow(named, "secretsmanager:GetSecretValue"))
        .session(&narrow)
        .implicit(PolicyType::SessionPolicy),
        Case::new(
            "named by unique id, session narrows",
            Principal::user(ACCOUNT, "carlossalazar", "AIDAEXAMPLECARLOS12"),
            "secretsmanager:GetSecretValue",
            Some(secret),
        )
        .rbp(&rbp_allow(
            r#"{"AWS":"AIDAEXAMPLECARLOS12"}"#,
            "secretsmanager:GetSecretValue",
        ))
        .session(&narrow)
        .implicit(PolicyType::SessionPolicy),
        // The session policy allowing it too: allowed.
        Case::new(
            "named, session allows",
            carlos(),
            "secretsmanager:GetSecretValue",
            Some(secret),
        )
        .rbp(&rbp_allow(named, "secretsmanager:GetSecretValue"))
        .session(&allow("secretsmanager:GetSecretValue", "*"))
        .allowed(),
        // A trust policy naming the user: the session policy must allow sts:AssumeRole.
        Case::new(
            "trust names the user, session narrows",
            carlos(),
            "sts:AssumeRole",
            Some(role),
        )
        .trust(&trust_allow(named, ""))
        .session(&narrow)
        .implicit(PolicyType::SessionPolicy),
        Case::new(
            "trust names the user, session allows",
            carlos(),
            "sts:AssumeRole",
            Some(role),
        )
        .trust(&trust_allow(named, ""))
        .session(&allow("sts:AssumeRole", "*"))
        .allowed(),
        // The root user under session policies likewise.
        Case::new(
            "root named, session narrows",
            Principal::root(ACCOUNT),
            "secretsmanager:GetSecretValue",
            Some(secret),
        )
        .rbp(&rbp_allow(
            r#"{"AWS":"arn:aws:iam::111122223333:root"}"#,
            "secretsmanager:GetSecretValue",
        ))
        .session(&narrow)
        .implicit(PolicyType::SessionPolicy),
    ];
    for case in cases {
        case.check();
    }
}
