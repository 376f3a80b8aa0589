//! Places as the simulation sees it: one behaviour shared by every server
//! (changed by `places` steps), and the answers a healthy Places gives.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// How Places answers right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    Ok,
    /// Unreachable: connecting fails.
    Down,
    /// Answers normally, `delay_ms` late.
    Slow {
        delay_ms: u64,
    },
    /// HTTP 200 with this legacy error `status`.
    Status(String),
    /// This HTTP error code.
    Http(u16),
    /// Answers normally, quoting the request (and so the API key) in it.
    EchoKey,
}

/// The switch the driver flips and the transport reads.
#[derive(Clone)]
pub struct PlacesSwitch(Arc<Mutex<Behaviour>>);

impl Default for PlacesSwitch {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Behaviour::Ok)))
    }
}

impl PlacesSwitch {
    pub fn set(&self, behaviour: Behaviour) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = behaviour;
    }

    pub fn get(&self) -> Behaviour {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Twenty made-up places around a location, in the legacy answer shape
/// (with a `next_page_token`, as Google sends for full pages); a pure
/// function of the location, so answers are the same on every run.
pub fn nearby_answer(latitude: f64, longitude: f64) -> Value {
    let results: Vec<Value> = (0..20)
        .map(|i| {
            let offset = f64::from(i) * 0.0001;
            json!({
                "geometry": {"location": {"lat": latitude + offset, "lng": longitude - offset}},
                "name": format!("Place {i}"),
                "place_id": format!("sim-{i}"),
                "vicinity": format!("{i} Simulated Street"),
            })
        })
        .collect();
    json!({"html_attributions": [], "next_page_token": "sim-next-page", "results": results, "status": "OK"})
}
