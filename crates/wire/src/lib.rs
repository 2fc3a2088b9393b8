//! coffer-wire: translation between the HTTP bodies of AWS Query and AWS JSON 1.1 and the
//! canonical value of an operation's input or output.
//!
//! The canonical value is the operation's AWS JSON 1.1 form as a `serde_json::Value`:
//! timestamps are epoch-second numbers, blobs base64 strings, lists arrays, maps objects. Both
//! protocols decode into it and encode from it, driven by the runtime schema in
//! `coffer_model::schema`; [`validate`] checks the model's constraints on it.

mod error;
mod json;
mod limits;
mod query;
mod timestamp;
mod typed;
mod validate;
mod xml;

pub use error::{validation_message, ShownValue, ValidationStyle, Violation, WireError};
pub use json::{decode_json_input, encode_json_error, encode_json_response};
pub use limits::{MAX_COLLECTION_ITEMS, MAX_DEPTH, MAX_KEY_SEGMENTS, MAX_QUERY_PARAMS};
pub use query::{
    decode_query_input, encode_query_error, encode_query_response, parse_query_params,
};
pub use typed::{decode_json_typed, is_flat, satisfies};
pub use validate::validate;
