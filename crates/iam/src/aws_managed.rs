//! AWS managed policies present in every account (`arn:aws:iam::aws:policy/<name>`), with the
//! documents, default versions and dates AWS publishes. Only the current default version is
//! served. Policy ids are Coffer's own (stable per name): AWS does not publish them.
//!
//! Each account counts its own attachments of these policies in `AWS_POLICY_USAGE`.

use coffer_store::Txn;
use serde::{Deserialize, Serialize};

use crate::error::TxResult;
use crate::policies::{PolicyDoc, VersionDoc};
use crate::records;

pub const AWS_POLICY_USAGE: &str = "iam_aws_policy_usage";

pub(crate) struct AwsManaged {
    pub name: &'static str,
    pub description: &'static str,
    /// Seconds since the epoch.
    pub created: i64,
    pub version: u32,
    /// When the default version was published, which IAM reports as the policy's `UpdateDate`.
    pub version_created: i64,
    pub document: &'static str,
}

pub(crate) const POLICIES: &[AwsManaged] = &[
    AwsManaged {
        name: "AdministratorAccess",
        description: "Provides full access to AWS services and resources.",
        created: 1_423_247_986, // 2015-02-06T18:39:46Z
        version: 1,
        version_created: 1_423_247_986,
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}"#,
    },
    AwsManaged {
        name: "PowerUserAccess",
        description: "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
        created: 1_423_247_987, // 2015-02-06T18:39:47Z
        version: 12,
        version_created: 1_770_919_154, // 2026-02-12T17:59:14Z
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "NotAction": [
        "iam:*",
        "organizations:*",
        "account:*"
      ],
      "Resource": "*"
    },
    {
      "Effect": "Allow",
      "Action": [
        "account:GetAccountInformation",
        "account:GetGovCloudAccountInformation",
        "account:GetPrimaryEmail",
        "account:ListRegions",
        "iam:CreateServiceLinkedRole",
        "iam:DeleteServiceLinkedRole",
        "iam:ListRoles",
        "organizations:DescribeEffectivePolicy",
        "organizations:DescribeOrganization"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
    AwsManaged {
        name: "IAMFullAccess",
        description: "Provides full access to IAM via the AWS Management Console.",
        created: 1_423_248_038, // 2015-02-06T18:40:38Z
        version: 2,
        version_created: 1_561_146_000, // 2019-06-21T19:40:00Z
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iam:*",
        "organizations:DescribeAccount",
        "organizations:DescribeOrganization",
        "organizations:DescribeOrganizationalUnit",
        "organizations:DescribePolicy",
        "organizations:ListChildren",
        "organizations:ListParents",
        "organizations:ListPoliciesForTarget",
        "organizations:ListRoots",
        "organizations:ListPolicies",
        "organizations:ListTargetsForPolicy"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
    AwsManaged {
        name: "IAMReadOnlyAccess",
        description: "Provides read only access to IAM via the AWS Management Console.",
        created: 1_423_248_039, // 2015-02-06T18:40:39Z
        version: 4,
        version_created: 1_516_907_487, // 2018-01-25T19:11:27Z
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iam:GenerateCredentialReport",
        "iam:GenerateServiceLastAccessedDetails",
        "iam:Get*",
        "iam:List*",
        "iam:SimulateCustomPolicy",
        "iam:SimulatePrincipalPolicy"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
    AwsManaged {
        name: "IAMUserChangePassword",
        description: "Provides the ability for an IAM user to change their own password.",
        created: 1_479_169_516, // 2016-11-15T00:25:16Z
        version: 2,
        version_created: 1_479_251_935, // 2016-11-15T23:18:55Z
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iam:ChangePassword"
      ],
      "Resource": [
        "arn:aws:iam::*:user/${aws:username}"
      ]
    },
    {
      "Effect": "Allow",
      "Action": [
        "iam:GetAccountPasswordPolicy"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
    AwsManaged {
        name: "SecretsManagerReadWrite",
        description: "Provides read/write access to AWS Secrets Manager via the AWS Management Console. Note: this exludes IAM actions, so combine with IAMFullAccess if rotation configuration is required.",
        created: 1_522_865_129, // 2018-04-04T18:05:29Z
        version: 6,
        version_created: 1_787_701_030, // 2026-08-25T23:37:10Z
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "BasePermissions",
      "Effect": "Allow",
      "Action": [
        "secretsmanager:*",
        "cloudformation:CreateChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:DescribeStackResource",
        "cloudformation:DescribeStacks",
        "cloudformation:ExecuteChangeSet",
        "docdb-elastic:GetCluster",
        "docdb-elastic:ListClusters",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "kms:DescribeKey",
        "kms:ListAliases",
        "kms:ListKeys",
        "lambda:ListFunctions",
        "rds:DescribeDBClusters",
        "rds:DescribeDBInstances",
        "redshift:DescribeClusters",
        "redshift-serverless:ListWorkgroups",
        "redshift-serverless:GetNamespace",
        "tag:GetResources"
      ],
      "Resource": "*"
    },
    {
      "Sid": "LambdaPermissions",
      "Effect": "Allow",
      "Action": [
        "lambda:AddPermission",
        "lambda:CreateFunction",
        "lambda:GetFunction",
        "lambda:InvokeFunction",
        "lambda:UpdateFunctionConfiguration"
      ],
      "Resource": "arn:aws:lambda:*:*:function:SecretsManager*"
    },
    {
      "Sid": "SARPermissions",
      "Effect": "Allow",
      "Action": [
        "serverlessrepo:CreateCloudFormationChangeSet",
        "serverlessrepo:GetApplication"
      ],
      "Resource": "arn:aws:serverlessrepo:*:*:applications/SecretsManager*"
    },
    {
      "Sid": "S3Permissions",
      "Effect": "Allow",
      "Action": [
        "s3:GetObject"
      ],
      "Resource": [
        "arn:aws:s3:::awsserverlessrepo-changesets*",
        "arn:aws:s3:::secrets-manager-rotation-apps-*/*"
      ]
    },
    {
      "Sid": "CloudFormationTagOnCreate",
      "Effect": "Allow",
      "Action": [
        "cloudformation:TagResource",
        "cloudformation:UntagResource"
      ],
      "Resource": "*",
      "Condition": {
        "StringEquals": {
          "cloudformation:CreateAction": [
            "CreateChangeSet",
            "ExecuteChangeSet"
          ]
        }
      }
    }
  ]
}"#,
    },
    // ReadOnlyAccess: AWS's document lists some 3,000 read actions of every AWS service (about
    // 70 KB). Coffer serves a faithful subset: AWS's own entries for the services Coffer implements
    // (IAM, STS needs none, Secrets Manager) and KMS, which Secrets Manager clients consult. The
    // version number and its date are not AWS's (AWS revises this policy every few weeks).
    AwsManaged {
        name: "ReadOnlyAccess",
        description: "Provides read-only access to AWS services and resources.",
        created: 1_423_247_988, // 2015-02-06T18:39:48Z
        version: 1,
        version_created: 1_423_247_988,
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iam:Generate*",
        "iam:Get*",
        "iam:List*",
        "iam:Simulate*",
        "kms:Describe*",
        "kms:Get*",
        "kms:List*",
        "secretsmanager:Describe*",
        "secretsmanager:GetResourcePolicy",
        "secretsmanager:List*"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
];

/// How often one account uses an AWS managed policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Usage {
    pub attachment_count: u32,
    pub boundary_count: u32,
}

/// All of these policies live at path `/`.
pub(crate) fn find(path: &str, name: &str) -> Option<&'static AwsManaged> {
    (path == "/")
        .then(|| POLICIES.iter().find(|p| p.name == name))
        .flatten()
}

/// `ANPA` and 17 characters derived from the name (FNV-1a), so ids are stable across restarts
/// and nodes.
fn policy_id(name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in name.bytes() {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    let mut id = String::from("ANPA");
    for _ in 0..17 {
        id.push(char::from(ALPHABET[(hash % 32) as usize]));
        hash /= 32;
    }
    id
}

pub(crate) fn usage_key(account: &str, name: &str) -> String {
    records::key(account, name)
}

/// The policy as one account sees it, with that account's usage counts.
pub(crate) fn doc(txn: &mut dyn Txn, account: &str, p: &AwsManaged) -> TxResult<PolicyDoc> {
    let usage: Usage =
        records::get(txn, AWS_POLICY_USAGE, &usage_key(account, p.name))?.unwrap_or_default();
    Ok(PolicyDoc {
        name: p.name.to_string(),
        policy_id: policy_id(p.name),
        path: "/".to_string(),
        description: Some(p.description.to_string()),
        created: p.created,
        updated: p.version_created,
        default_version: p.version,
        next_version: p.version + 1,
        versions: vec![VersionDoc {
            id: p.version,
            document: p.document.to_string(),
            created: p.version_created,
        }],
        attachment_count: usage.attachment_count,
        boundary_count: usage.boundary_count,
        tags: Vec::new(),
        aws_managed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_valid_managed_policies() {
        for p in POLICIES {
            assert!(
                crate::documents::check_managed(p.document).is_ok(),
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let ids: Vec<String> = POLICIES.iter().map(|p| policy_id(p.name)).collect();
        assert!(ids
            .iter()
            .all(|id| id.len() == 21 && id.starts_with("ANPA")));
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        assert_eq!(policy_id("AdministratorAccess"), ids[0]);
    }
}
