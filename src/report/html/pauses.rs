//! The spend guard's pauses on the HTML page: per shadow target how often and how long it
//! was paused, then every pause and resume with its reason. Shown only when the window
//! has any.

use serde_json::Value;

use super::fmt::{fmt_num, opt};
use super::{arr, at, esc, num, scalar};

/// The `pauses` section, or nothing when the report has none.
pub(super) fn section(h: &mut String, report: &Value) {
    let targets = arr(report, &["pauses"]);
    if targets.is_empty() {
        return;
    }
    h.push_str(
        "<section id=\"pauses\"><h2>Spend guard pauses</h2>\
         <table class=\"small\"><thead><tr><th>shadow target</th><th class=\"n\">pauses</th>\
         <th class=\"n\">resumes</th><th class=\"n\">paused time</th><th>paused at end</th>\
         </tr></thead><tbody>",
    );
    for t in targets {
        let paused_s = num(t, &["paused_ms"]).map(|ms| ms / 1000.0);
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} s</td><td>{}</td></tr>",
            esc(&text(t, "shadow_target")),
            opt(num(t, &["pauses"]), fmt_num),
            opt(num(t, &["resumes"]), fmt_num),
            opt(paused_s, fmt_num),
            if at(t, &["paused_at_end"]).and_then(Value::as_bool) == Some(true) {
                "yes"
            } else {
                "no"
            }
        ));
    }
    h.push_str(
        "</tbody></table><table class=\"small\"><thead><tr><th>ts</th><th>shadow target</th>\
         <th>event</th><th>reason</th><th>detail</th></tr></thead><tbody>",
    );
    for t in targets {
        for e in arr(t, &["events"]) {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"msg\">{}</td></tr>",
                esc(&text(e, "ts")),
                esc(&text(t, "shadow_target")),
                esc(&text(e, "event")),
                esc(&text(e, "reason")),
                esc(&text(e, "detail")),
            ));
        }
    }
    h.push_str("</tbody></table></section>");
}

fn text(v: &Value, key: &str) -> String {
    at(v, &[key]).and_then(scalar).unwrap_or_default()
}
