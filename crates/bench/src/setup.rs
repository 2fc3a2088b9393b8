//! State a workload needs beyond the seeded secrets, created through the target's own API: for
//! `sts:AssumeRole`, an IAM user with an access key, and a role whose trust policy names that user.

use anyhow::{bail, Context};

use crate::client::{error_code, Conn, Endpoint};
use crate::load::{build_request, Credentials};
use crate::sigv4::Signer;
use crate::workload::query;

pub const USER: &str = "bench-assumer";
pub const ROLE: &str = "bench-role";

/// The caller of AssumeRole: its credentials and the role it may assume.
pub struct Assumer {
    pub credentials: Credentials,
    pub role_arn: String,
}

/// Creates the user, its key, the role and the user's permission to assume it, signed with `admin`.
pub async fn assume_role(endpoint: &Endpoint, admin: &Credentials) -> anyhow::Result<Assumer> {
    let mut signer = Signer::new(
        &admin.access_key_id,
        &admin.secret_access_key,
        &admin.region,
    );
    let v = "2010-05-08";
    let user = call(
        endpoint,
        &mut signer,
        &[("Action", "CreateUser"), ("Version", v), ("UserName", USER)],
    )
    .await?;
    let user_arn = xml_field(&user, "Arn").context("CreateUser returned no Arn")?;
    let key = call(
        endpoint,
        &mut signer,
        &[
            ("Action", "CreateAccessKey"),
            ("Version", v),
            ("UserName", USER),
        ],
    )
    .await?;
    let access_key_id = xml_field(&key, "AccessKeyId").context("no AccessKeyId")?;
    let secret_access_key = xml_field(&key, "SecretAccessKey").context("no SecretAccessKey")?;
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": user_arn },
            "Action": "sts:AssumeRole",
        }],
    })
    .to_string();
    let role = call(
        endpoint,
        &mut signer,
        &[
            ("Action", "CreateRole"),
            ("Version", v),
            ("RoleName", ROLE),
            ("AssumeRolePolicyDocument", &trust),
        ],
    )
    .await?;
    let role_arn = xml_field(&role, "Arn").context("CreateRole returned no Arn")?;
    // Same account: the trust policy alone would do; the identity policy makes the grant explicit
    // for implementations that want both.
    let allow = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn }],
    })
    .to_string();
    call(
        endpoint,
        &mut signer,
        &[
            ("Action", "PutUserPolicy"),
            ("Version", v),
            ("UserName", USER),
            ("PolicyName", "assume-bench-role"),
            ("PolicyDocument", &allow),
        ],
    )
    .await?;
    Ok(Assumer {
        credentials: Credentials {
            access_key_id,
            secret_access_key,
            region: admin.region.clone(),
        },
        role_arn,
    })
}

/// One IAM call on a fresh connection (moto closes after every response anyway); its XML body.
async fn call(
    endpoint: &Endpoint,
    signer: &mut Signer,
    params: &[(&str, &str)],
) -> anyhow::Result<String> {
    let op = query("iam", params);
    let req = build_request(endpoint, signer, &op)?;
    let mut conn = Conn::connect(endpoint).await?;
    let resp = conn.send(req).await?;
    if !resp.status.is_success() {
        bail!(
            "iam:{} answered HTTP {} {}",
            params[0].1,
            resp.status.as_u16(),
            error_code(&resp)
        );
    }
    Ok(String::from_utf8_lossy(&resp.body).into_owned())
}

/// The text of the first `<name>` element: the IAM answers we read are flat enough for this.
fn xml_field(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(
        xml[start..end]
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_out_of_iam_xml_unescaped() {
        let xml = "<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey>\
                   <UserName>u</UserName><AccessKeyId>AKIAEXAMPLE</AccessKeyId>\
                   <SecretAccessKey>a+b/c&amp;d</SecretAccessKey></AccessKey>\
                   </CreateAccessKeyResult></CreateAccessKeyResponse>";
        assert_eq!(xml_field(xml, "AccessKeyId").unwrap(), "AKIAEXAMPLE");
        assert_eq!(xml_field(xml, "SecretAccessKey").unwrap(), "a+b/c&d");
        assert_eq!(xml_field(xml, "Arn"), None);
    }
}
