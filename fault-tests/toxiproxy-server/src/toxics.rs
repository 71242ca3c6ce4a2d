//! Toxics as Toxiproxy's API spells them, converted to and from noxious's `Toxic`.
//!
//! Toxiproxy's JSON: `{"name", "type", "stream": "upstream"|"downstream", "toxicity",
//! "attributes": {...}}`. Missing attributes default to 0 (as Go's zero values do in
//! Toxiproxy); a missing name is `<type>_<stream>`, a missing stream `downstream`, a missing
//! toxicity 1.0.
//!
//! Types: Toxiproxy's, as noxious implements them (`noop`, `latency`, `timeout`, `bandwidth`,
//! `slow_close`, `slicer`, `limit_data`, and `reset_peer`, which the vendored copy adds). Any
//! other type is refused (400 "invalid toxic type").

use crate::api::ApiError;
use noxious::toxic::{StreamDirection, Toxic, ToxicKind};
use serde_json::{json, Map, Value};

/// The attributes of each supported type with their defaults.
fn default_attributes(kind: &str) -> Option<Value> {
    Some(match kind {
        "noop" => json!({}),
        "latency" => json!({"latency": 0, "jitter": 0}),
        "timeout" => json!({"timeout": 0}),
        "bandwidth" => json!({"rate": 0}),
        "slow_close" => json!({"delay": 0}),
        "slicer" => json!({"average_size": 0, "size_variation": 0, "delay": 0}),
        "limit_data" => json!({"bytes": 0}),
        "reset_peer" => json!({"timeout": 0}),
        _ => return None,
    })
}

fn bad_body(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(format!("bad request body: {why}"), 400)
}

/// Parses `stream` the way Toxiproxy does (case-insensitive).
fn parse_stream(s: &str) -> Result<StreamDirection, ApiError> {
    match s.to_ascii_lowercase().as_str() {
        "upstream" => Ok(StreamDirection::Upstream),
        "downstream" => Ok(StreamDirection::Downstream),
        _ => Err(ApiError::new(
            "stream was invalid, can be either upstream or downstream",
            400,
        )),
    }
}

/// Builds the noxious kind of `kind_name` from `attributes` laid over the defaults, and checks
/// the values noxious would otherwise panic or spin on.
fn build_kind(kind_name: &str, attributes: &Map<String, Value>) -> Result<ToxicKind, ApiError> {
    let mut attrs =
        default_attributes(kind_name).ok_or_else(|| ApiError::new("invalid toxic type", 400))?;
    let target = attrs.as_object_mut().expect("defaults are objects");
    for (k, v) in attributes {
        // Unknown attributes are ignored, as Go's JSON decoder does.
        if target.contains_key(k) {
            target.insert(k.clone(), v.clone());
        }
    }
    let tagged = if kind_name == "noop" {
        json!({ "type": kind_name })
    } else {
        json!({ "type": kind_name, "attributes": attrs })
    };
    let kind: ToxicKind = serde_json::from_value(tagged).map_err(bad_body)?;
    match kind {
        // noxious computes `latency + r - jitter` in u64 with r in [0, 2 * jitter).
        ToxicKind::Latency { latency, jitter } if jitter > latency => Err(bad_body(
            "jitter larger than latency is not supported by this server",
        )),
        // A zero slice size would never make progress; a variation of at least the average
        // underflows noxious's slice size (Toxiproxy documents it must be smaller).
        ToxicKind::Slicer {
            average_size: 0, ..
        } => Err(bad_body("slicer average_size must be at least 1")),
        ToxicKind::Slicer {
            average_size,
            size_variation,
            ..
        } if size_variation >= average_size => Err(bad_body(
            "slicer size_variation must be less than average_size",
        )),
        kind => Ok(kind),
    }
}

/// A toxic from the body of `POST /proxies/{proxy}/toxics`.
pub fn parse_new(body: &[u8]) -> Result<Toxic, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(bad_body)?;
    let obj = v.as_object().ok_or_else(|| bad_body("not a JSON object"))?;
    let str_field = |name: &str| -> Result<Option<String>, ApiError> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(bad_body(format!("{name} must be a string, got {other}"))),
        }
    };
    let stream = str_field("stream")?.unwrap_or_else(|| "downstream".to_string());
    let direction = parse_stream(&stream)?;
    let kind_name = str_field("type")?.unwrap_or_default();
    let name = str_field("name")?
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("{kind_name}_{}", direction));
    let toxicity = match obj.get("toxicity") {
        None | Some(Value::Null) => 1.0,
        Some(t) => t
            .as_f64()
            .ok_or_else(|| bad_body("toxicity must be a number"))? as f32,
    };
    let empty = Map::new();
    let attributes = match obj.get("attributes") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err(bad_body("attributes must be an object")),
    };
    let kind = build_kind(&kind_name, attributes)?;
    Ok(Toxic {
        kind,
        name,
        toxicity,
        direction,
    })
}

/// `old` changed by the body of `POST /proxies/{proxy}/toxics/{toxic}`: attributes given are
/// replaced, the others kept; `toxicity` if given. Name, type and stream never change.
pub fn parse_update(old: &Toxic, body: &[u8]) -> Result<Toxic, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(bad_body)?;
    let obj = v.as_object().ok_or_else(|| bad_body("not a JSON object"))?;
    let mut attrs = attributes_of(&old.kind);
    if let Some(given) = obj.get("attributes") {
        let given = given
            .as_object()
            .ok_or_else(|| bad_body("attributes must be an object"))?;
        for (k, v) in given {
            attrs.insert(k.clone(), v.clone());
        }
    }
    let toxicity = match obj.get("toxicity") {
        None | Some(Value::Null) => old.toxicity,
        Some(t) => t
            .as_f64()
            .ok_or_else(|| bad_body("toxicity must be a number"))? as f32,
    };
    Ok(Toxic {
        kind: build_kind(old.kind.get_name(), &attrs)?,
        name: old.name.clone(),
        toxicity,
        direction: old.direction,
    })
}

fn attributes_of(kind: &ToxicKind) -> Map<String, Value> {
    match serde_json::to_value(kind) {
        Ok(Value::Object(mut m)) => match m.remove("attributes") {
            Some(Value::Object(a)) => a,
            _ => Map::new(),
        },
        _ => Map::new(),
    }
}

/// Toxiproxy's JSON for a toxic.
pub fn to_json(t: &Toxic) -> Value {
    json!({
        "attributes": Value::Object(attributes_of(&t.kind)),
        "name": t.name,
        "type": t.kind.get_name(),
        "stream": t.direction.to_string(),
        "toxicity": t.toxicity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_toxiproxy() {
        let t = parse_new(br#"{"type":"latency","attributes":{"latency":250}}"#).unwrap();
        assert_eq!(t.name, "latency_downstream");
        assert_eq!(t.direction, StreamDirection::Downstream);
        assert_eq!(t.toxicity, 1.0);
        assert_eq!(
            t.kind,
            ToxicKind::Latency {
                latency: 250,
                jitter: 0
            }
        );
        let t = parse_new(br#"{"type":"timeout","stream":"UPSTREAM","name":"t"}"#).unwrap();
        assert_eq!(t.kind, ToxicKind::Timeout { timeout: 0 });
        assert_eq!(t.direction, StreamDirection::Upstream);
        assert_eq!(t.name, "t");
        let t = parse_new(br#"{"type":"reset_peer"}"#).unwrap();
        assert_eq!(t.kind, ToxicKind::ResetPeer { timeout: 0 });
        assert_eq!(t.name, "reset_peer_downstream");
        let t = parse_new(br#"{"type":"reset_peer","attributes":{"timeout":1500}}"#).unwrap();
        assert_eq!(to_json(&t)["attributes"], json!({"timeout": 1500}));
    }

    #[test]
    fn the_toxiproxy_rust_client_body_parses() {
        // What toxiproxy_rust 0.1 sends for with_slicer("downstream", 1, 0, 0, 1.0).
        let body = br#"{"name":"slicer_downstream","type":"slicer","stream":"downstream","toxicity":1.0,"attributes":{"average_size":1,"size_variation":0,"delay":0}}"#;
        let t = parse_new(body).unwrap();
        assert_eq!(
            t.kind,
            ToxicKind::Slicer {
                average_size: 1,
                size_variation: 0,
                delay: 0
            }
        );
        let back = to_json(&t);
        assert_eq!(back["type"], "slicer");
        assert_eq!(back["stream"], "downstream");
        assert_eq!(back["attributes"]["average_size"], 1);
        assert_eq!(back["toxicity"], 1.0);
    }

    #[test]
    fn refused_bodies() {
        for (body, status) in [
            (&br#"{"type":"bogus"}"#[..], 400),
            (br#"{"type":"latency","stream":"sideways"}"#, 400),
            (br#"{"type":"latency","attributes":{"latency":-1}}"#, 400),
            (
                br#"{"type":"latency","attributes":{"latency":1,"jitter":5}}"#,
                400,
            ),
            (br#"{"type":"slicer","attributes":{"average_size":0}}"#, 400),
            (
                br#"{"type":"slicer","attributes":{"average_size":4,"size_variation":4}}"#,
                400,
            ),
            (br#"[1]"#, 400),
            (b"not json", 400),
        ] {
            let e = parse_new(body).expect_err(std::str::from_utf8(body).unwrap());
            assert_eq!(e.status, status, "{}", std::str::from_utf8(body).unwrap());
        }
    }

    #[test]
    fn update_keeps_what_is_not_given() {
        let old =
            parse_new(br#"{"type":"latency","attributes":{"latency":100,"jitter":10}}"#).unwrap();
        let new = parse_update(&old, br#"{"attributes":{"latency":300}}"#).unwrap();
        assert_eq!(
            new.kind,
            ToxicKind::Latency {
                latency: 300,
                jitter: 10
            }
        );
        assert_eq!(new.name, old.name);
        let new = parse_update(&old, br#"{"toxicity":0.5}"#).unwrap();
        assert_eq!(new.toxicity, 0.5);
        assert_eq!(new.kind, old.kind);
    }
}
