//! The `Condition` element: operators, the `ForAnyValue:`/`ForAllValues:` set qualifiers, the
//! `IfExists` suffix, and AWS's rules for missing and multi-valued keys. Keys AND together;
//! the values of one key OR together.

pub(crate) mod arn;
pub(crate) mod binary;
#[path = "bool.rs"]
pub(crate) mod boolean;
pub(crate) mod date;
pub(crate) mod ip;
pub(crate) mod null;
pub(crate) mod numeric;
pub(crate) mod string;

use crate::context::Context;
use numeric::Cmp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Qualifier {
    None,
    ForAnyValue,
    ForAllValues,
}

/// The operator families, before qualifiers and `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    String(string::Kind),
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

/// A parsed operator name such as `ForAllValues:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operator {
    pub family: Family,
    /// `StringNotEquals`, `NumericNotEquals`, `NotIpAddress`, `ArnNotLike`, ...: the result of
    /// the positive test is inverted for each request value.
    pub negated: bool,
    pub qualifier: Qualifier,
    pub if_exists: bool,
}

impl Operator {
    pub fn parse(name: &str) -> Option<Operator> {
        let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Qualifier::ForAnyValue, rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Qualifier::ForAllValues, rest)
        } else {
            (Qualifier::None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        use string::Kind as S;
        let (family, negated) = match base {
            "StringEquals" => (Family::String(S::Equals), false),
            "StringNotEquals" => (Family::String(S::Equals), true),
            "StringEqualsIgnoreCase" => (Family::String(S::EqualsIgnoreCase), false),
            "StringNotEqualsIgnoreCase" => (Family::String(S::EqualsIgnoreCase), true),
            "StringLike" => (Family::String(S::Like), false),
            "StringNotLike" => (Family::String(S::Like), true),
            "NumericEquals" => (Family::Numeric(Cmp::Eq), false),
            "NumericNotEquals" => (Family::Numeric(Cmp::Eq), true),
            "NumericLessThan" => (Family::Numeric(Cmp::Lt), false),
            "NumericLessThanEquals" => (Family::Numeric(Cmp::Le), false),
            "NumericGreaterThan" => (Family::Numeric(Cmp::Gt), false),
            "NumericGreaterThanEquals" => (Family::Numeric(Cmp::Ge), false),
            "DateEquals" => (Family::Date(Cmp::Eq), false),
            "DateNotEquals" => (Family::Date(Cmp::Eq), true),
            "DateLessThan" => (Family::Date(Cmp::Lt), false),
            "DateLessThanEquals" => (Family::Date(Cmp::Le), false),
            "DateGreaterThan" => (Family::Date(Cmp::Gt), false),
            "DateGreaterThanEquals" => (Family::Date(Cmp::Ge), false),
            "Bool" => (Family::Bool, false),
            "BinaryEquals" => (Family::Binary, false),
            "IpAddress" => (Family::Ip, false),
            "NotIpAddress" => (Family::Ip, true),
            "ArnEquals" | "ArnLike" => (Family::Arn, false),
            "ArnNotEquals" | "ArnNotLike" => (Family::Arn, true),
            // AWS allows IfExists on every operator except Null.
            "Null" if !if_exists => (Family::Null, false),
            _ => return None,
        };
        Some(Operator {
            family,
            negated,
            qualifier,
            if_exists,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Values {
    String(string::Matcher),
    Numeric(numeric::Matcher),
    Date(date::Matcher),
    Bool(boolean::Matcher),
    Binary(binary::Matcher),
    Ip(ip::Matcher),
    Arn(arn::Matcher),
    Null(null::Matcher),
}

/// One operator applied to one key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clause {
    operator: Operator,
    /// Lower-cased context key.
    key: Box<str>,
    /// The key as written, for `MissingContextValues` and `GetContextKeysFor*Policy`.
    pub key_name: Box<str>,
    values: Values,
    /// The operator and values as written, for explanations of a decision.
    pub operator_name: Box<str>,
    pub value_texts: Box<[Box<str>]>,
}

impl Clause {
    pub fn new(
        operator: Operator,
        operator_name: &str,
        key: &str,
        values: &[String],
        with_variables: bool,
    ) -> Clause {
        let value_texts = values.iter().map(|v| v.as_str().into()).collect();
        let values = match operator.family {
            Family::String(kind) => {
                Values::String(string::Matcher::new(kind, values, with_variables))
            }
            Family::Numeric(cmp) => Values::Numeric(numeric::Matcher::new(cmp, values)),
            Family::Date(cmp) => Values::Date(date::Matcher::new(cmp, values)),
            Family::Bool => Values::Bool(boolean::Matcher::new(values)),
            Family::Binary => Values::Binary(binary::Matcher::new(values)),
            Family::Ip => Values::Ip(ip::Matcher::new(values)),
            Family::Arn => Values::Arn(arn::Matcher::new(values, with_variables)),
            Family::Null => Values::Null(null::Matcher::new(values)),
        };
        Clause {
            operator,
            key: key.to_ascii_lowercase().into(),
            key_name: key.into(),
            values,
            operator_name: operator_name.into(),
            value_texts,
        }
    }

    /// Evaluates the clause. Keys the request lacks are reported through `missing`.
    pub fn evaluate(&self, context: &Context, missing: &mut dyn FnMut(&str)) -> bool {
        let values = context.get(&self.key).filter(|v| !v.is_empty());
        if let Values::Null(m) = &self.values {
            return m.matches(values.is_some());
        }
        let op = self.operator;
        let Some(values) = values else {
            missing(&self.key_name);
            if op.if_exists {
                return true;
            }
            return match op.qualifier {
                // "ForAllValues ... also returns true if there are no keys in the request".
                Qualifier::ForAllValues => true,
                Qualifier::ForAnyValue => false,
                // A missing key never matches; a negated operator is then true.
                Qualifier::None => op.negated,
            };
        };
        let mut positive = |v| self.matches_value(v, context, &mut *missing);
        match op.qualifier {
            Qualifier::ForAllValues => values.iter().all(|v| positive(v) != op.negated),
            Qualifier::ForAnyValue => values.iter().any(|v| positive(v) != op.negated),
            // Without a qualifier the test is "some request value matches some policy value",
            // and a negated operator is its negation.
            Qualifier::None => values.iter().any(positive) != op.negated,
        }
    }

    fn matches_value(
        &self,
        value: &crate::context::ContextValue,
        context: &Context,
        missing: &mut dyn FnMut(&str),
    ) -> bool {
        match &self.values {
            Values::String(m) => m.matches(value, context, missing),
            Values::Numeric(m) => m.matches(value),
            Values::Date(m) => m.matches(value),
            Values::Bool(m) => m.matches(value),
            Values::Binary(m) => m.matches(value),
            Values::Ip(m) => m.matches(value),
            Values::Arn(m) => m.matches(value, context, missing),
            Values::Null(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ContextValue;

    fn clause(op: &str, key: &str, values: &[&str]) -> Clause {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        Clause::new(Operator::parse(op).unwrap(), op, key, &values, true)
    }

    fn ctx(key: &str, values: &[&str]) -> Context {
        let mut c = Context::new();
        c.set(
            key,
            values.iter().map(|v| ContextValue::string(*v)).collect(),
        );
        c
    }

    #[test]
    fn operator_names() {
        assert!(Operator::parse("ForAnyValue:StringEqualsIfExists").is_some());
        assert!(Operator::parse("ForAnyValue::StringEqualsIfExists").is_none());
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("stringequals").is_none());
        assert!(Operator::parse("StringLikeIfExistsIfExists").is_none());
        let op = Operator::parse("ForAllValues:StringNotLikeIfExists").unwrap();
        assert_eq!(
            (op.qualifier, op.negated, op.if_exists),
            (Qualifier::ForAllValues, true, true)
        );
    }

    /// The multi-valued rules from the IAM User Guide's "Set operators for multivalued context
    /// keys" page, with `aws:TagKeys` as the key.
    #[test]
    fn set_operator_table() {
        let k = "aws:TagKeys";
        let policy = ["environment", "costcenter"];
        let cases: [(&str, Option<&[&str]>, bool); 16] = [
            ("ForAllValues:StringEquals", Some(&["environment"]), true),
            (
                "ForAllValues:StringEquals",
                Some(&["environment", "costcenter"]),
                true,
            ),
            (
                "ForAllValues:StringEquals",
                Some(&["environment", "dept"]),
                false,
            ),
            ("ForAllValues:StringEquals", Some(&[]), true),
            ("ForAllValues:StringEquals", None, true),
            (
                "ForAnyValue:StringEquals",
                Some(&["dept", "costcenter"]),
                true,
            ),
            ("ForAnyValue:StringEquals", Some(&["dept"]), false),
            ("ForAnyValue:StringEquals", Some(&[]), false),
            ("ForAnyValue:StringEquals", None, false),
            (
                "ForAllValues:StringNotEquals",
                Some(&["dept", "owner"]),
                true,
            ),
            (
                "ForAllValues:StringNotEquals",
                Some(&["dept", "environment"]),
                false,
            ),
            (
                "ForAnyValue:StringNotEquals",
                Some(&["dept", "environment"]),
                true,
            ),
            ("ForAnyValue:StringNotEquals", Some(&["environment"]), false),
            ("StringEquals", Some(&["dept", "environment"]), true),
            ("StringNotEquals", Some(&["dept", "environment"]), false),
            ("StringNotEquals", Some(&["dept"]), true),
        ];
        for (op, request, want) in cases {
            let c = clause(op, k, &policy);
            let context = match request {
                Some(values) => ctx(k, values),
                None => Context::new(),
            };
            assert_eq!(
                c.evaluate(&context, &mut |_| {}),
                want,
                "{op} with {request:?}"
            );
        }
    }

    #[test]
    fn missing_key_rules() {
        let empty = Context::new();
        let cases = [
            ("StringEquals", false),
            ("StringNotEquals", true),
            ("StringLike", false),
            ("StringNotLike", true),
            ("NumericLessThan", false),
            ("NumericNotEquals", true),
            ("DateGreaterThan", false),
            ("Bool", false),
            ("IpAddress", false),
            ("NotIpAddress", true),
            ("ArnLike", false),
            ("ArnNotEquals", true),
            ("StringEqualsIfExists", true),
            ("NumericLessThanIfExists", true),
            ("ForAnyValue:StringEqualsIfExists", true),
        ];
        for (op, want) in cases {
            let mut missing = Vec::new();
            let got = clause(op, "aws:Some/Key", &["x"])
                .evaluate(&empty, &mut |k| missing.push(k.to_owned()));
            assert_eq!(got, want, "{op} on a missing key");
            assert_eq!(missing, ["aws:Some/Key"], "{op} reports the missing key");
        }
    }

    #[test]
    fn if_exists_still_tests_present_keys() {
        let c = clause(
            "StringEqualsIfExists",
            "ec2:InstanceType",
            &["t2.micro", "t2.small"],
        );
        assert!(c.evaluate(&ctx("ec2:InstanceType", &["t2.small"]), &mut |_| {}));
        assert!(!c.evaluate(&ctx("ec2:InstanceType", &["m5.large"]), &mut |_| {}));
        assert!(c.evaluate(&Context::new(), &mut |_| {}));
    }

    #[test]
    fn null_checks_presence() {
        let absent = clause("Null", "aws:TokenIssueTime", &["true"]);
        assert!(absent.evaluate(&Context::new(), &mut |_| {}));
        assert!(!absent.evaluate(
            &ctx("aws:TokenIssueTime", &["2020-01-01T00:00:00Z"]),
            &mut |_| {}
        ));
        assert!(absent.evaluate(&ctx("aws:TokenIssueTime", &[]), &mut |_| {}));
        let present = clause("Null", "aws:TokenIssueTime", &["false"]);
        assert!(present.evaluate(&ctx("AWS:TOKENISSUETIME", &["x"]), &mut |_| {}));
    }
}
