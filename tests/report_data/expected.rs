//! The expected report, computed independently of kt: plain Rust over the fixture (no SQL),
//! re-implementing the README's definitions ("lower" percentiles, the seeded
//! bootstrap, the Wilson interval) and building the JSON each group should contain.

use serde_json::{Map, Value, json};

use super::{Fixture, HOUR, Pair, Side, stamp};

/// The README's percentile: the value at 0-based position floor(p/100 * (n - 1)) of the
/// ascending values (SQLite's percentile_disc, numpy's method="lower").
pub fn pct(sorted: &[f64], p: usize) -> f64 {
    let n = sorted.len();
    sorted[(p as f64 / 100.0 * (n - 1) as f64).floor() as usize]
}

pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn dist(values: &[f64]) -> Value {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return json!({"count": 0, "mean": null, "p50": null, "p90": null, "p99": null});
    }
    json!({"count": s.len(), "mean": mean(&s), "p50": pct(&s, 50), "p90": pct(&s, 90), "p99": pct(&s, 99)})
}

/// The README's bootstrap, re-implemented: SplitMix64 seeded with 0x6b745f6d6972726f,
/// 1000 resamples of n indices (next % n), the 25th and 975th smallest statistics.
pub fn bootstrap(n: usize, stat: impl Fn(&[usize]) -> Option<f64>) -> Option<[f64; 2]> {
    if n == 0 {
        return None;
    }
    let mut state: u64 = 0x6b74_5f6d_6972_726f;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut stats = Vec::new();
    for _ in 0..1000 {
        let idx: Vec<usize> = (0..n).map(|_| (next() % n as u64) as usize).collect();
        if let Some(s) = stat(&idx).filter(|s| s.is_finite()) {
            stats.push(s);
        }
    }
    if stats.is_empty() {
        return None;
    }
    stats.sort_by(f64::total_cmp);
    let m = stats.len();
    let at = |q: f64| stats[(q * (m - 1) as f64).floor() as usize];
    Some([at(0.025), at(0.975)])
}

fn boot_mean(v: &[f64]) -> Option<[f64; 2]> {
    bootstrap(v.len(), |idx| {
        mean(&idx.iter().map(|&i| v[i]).collect::<Vec<_>>())
    })
}

fn boot_change(a: &[f64], b: &[f64], median: bool) -> Option<[f64; 2]> {
    bootstrap(a.len(), |idx| {
        let mut ra: Vec<f64> = idx.iter().map(|&i| a[i]).collect();
        let mut rb: Vec<f64> = idx.iter().map(|&i| b[i]).collect();
        let (x, y) = if median {
            ra.sort_by(f64::total_cmp);
            rb.sort_by(f64::total_cmp);
            (pct(&ra, 50), pct(&rb, 50))
        } else {
            (mean(&ra)?, mean(&rb)?)
        };
        (x != 0.0).then(|| (y / x - 1.0) * 100.0)
    })
}

/// Wilson score 95% interval, z = 1.959964.
pub fn wilson(k: u64, n: u64) -> Option<[f64; 2]> {
    if n == 0 {
        return None;
    }
    let (z, n, p) = (1.959_964_f64, n as f64, k as f64 / n as f64);
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    Some([(c - h).max(0.0), (c + h).min(1.0)])
}

fn rate(hits: usize, of: usize) -> Value {
    if of == 0 {
        Value::Null
    } else {
        json!(hits as f64 / of as f64)
    }
}

// ---- The expected report ---------------------------------------------------------------

/// A failure class: status, error class, HTTP status.
type ClassKey<'a> = (&'a str, Option<&'a str>, Option<i64>);

/// How the expected groups are keyed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum By {
    Mapping,
    Model,
    Hour,
    Day,
    All,
}

fn hour_of(ts: i64) -> String {
    stamp(ts - ts.rem_euclid(HOUR)).replace(".000Z", "Z")
}

fn day_of(ts: i64) -> String {
    hour_of(ts)[..10].to_owned()
}

/// Key parts of a request under `by` (the report's `gkey`).
fn key_parts(by: By, model: &str, target: &str, shadow_model: &str, ts: i64) -> Vec<String> {
    match by {
        By::Mapping => vec![model.into(), target.into(), shadow_model.into()],
        By::Model => vec![model.into()],
        By::Hour => vec![hour_of(ts)],
        By::Day => vec![day_of(ts)],
        By::All => vec![],
    }
}

fn price_of(model: &str, prices: &[(&str, f64, f64)]) -> Option<(f64, f64)> {
    prices.iter().find(|p| p.0 == model).map(|p| (p.1, p.2))
}

/// The expected `groups` (busiest first, ties by key) for the fixture under `by`, with the
/// projection window `days` (whole window) and `prices`.
pub fn expected_groups(
    f: &Fixture,
    by: By,
    prices: &[(&str, f64, f64)],
    window_days: f64,
) -> Vec<Value> {
    let mut keys: Vec<Vec<String>> = Vec::new();
    for p in &f.pairs {
        let k = key_parts(by, p.model, p.shadow_target, p.shadow_model, p.ts);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut groups: Vec<(usize, String, Value)> = keys
        .iter()
        .map(|k| {
            let mut members: Vec<&Pair> = f
                .pairs
                .iter()
                .filter(|p| &key_parts(by, p.model, p.shadow_target, p.shadow_model, p.ts) == k)
                .collect();
            members.sort_by(|a, b| (a.ts, &a.id).cmp(&(b.ts, &b.id)));
            let gkey = serde_json::to_string(k).unwrap();
            (
                members.len(),
                gkey,
                expected_group(f, by, k, &members, prices, window_days),
            )
        })
        .collect();
    groups.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    groups.into_iter().map(|g| g.2).collect()
}

fn expected_group(
    f: &Fixture,
    by: By,
    key: &[String],
    ps: &[&Pair],
    prices: &[(&str, f64, f64)],
    window_days: f64,
) -> Value {
    let names: &[&str] = match by {
        By::Mapping => &["primary_model", "shadow_target", "shadow_model"],
        By::Model => &["primary_model"],
        By::Hour => &["hour"],
        By::Day => &["day"],
        By::All => &[],
    };
    let key_obj: Map<String, Value> = names
        .iter()
        .zip(key)
        .map(|(n, v)| ((*n).to_owned(), json!(v)))
        .collect();
    let sh = |p: &Pair| p.shadow.clone();
    let ok = |p: &&&Pair| {
        p.primary.status == "success" && p.shadow.as_ref().is_some_and(|s| s.status == "success")
    };
    let cmp: Vec<&Pair> = ps.iter().filter(ok).copied().collect();
    let pending = ps.iter().filter(|p| p.shadow.is_none()).count();
    let completed = ps
        .iter()
        .filter(|p| sh(p).is_some_and(|s| s.status == "success"))
        .count();

    // Latency and TTFT.
    let lat = |sel: &dyn Fn(&Pair) -> Option<(f64, f64)>, rows: &[&Pair]| -> Value {
        let v: Vec<(f64, f64)> = rows.iter().filter_map(|p| sel(p)).collect();
        let a: Vec<f64> = v.iter().map(|x| x.0).collect();
        let b: Vec<f64> = v.iter().map(|x| x.1).collect();
        let d: Vec<f64> = v.iter().map(|x| x.1 - x.0).collect();
        let (pa, pb) = (dist(&a), dist(&b));
        let change = match (pa["p50"].as_f64(), pb["p50"].as_f64()) {
            (Some(x), Some(y)) if x != 0.0 => Some((y / x - 1.0) * 100.0),
            _ => None,
        };
        json!({"primary": pa, "shadow": pb, "diff": dist(&d), "p50_change_pct": change,
               "p50_change_pct_ci95": change.and_then(|_| boot_change(&a, &b, true))})
    };
    let latency = lat(
        &|p| Some((p.primary.latency as f64, p.shadow.as_ref()?.latency as f64)),
        &cmp,
    );
    let streamed: Vec<&Pair> = cmp.iter().filter(|p| p.stream).copied().collect();
    let ttft = if streamed.is_empty() {
        Value::Null
    } else {
        lat(
            &|p| Some((p.primary.ttft? as f64, p.shadow.as_ref()?.ttft? as f64)),
            &streamed,
        )
    };

    // Tokens and cost.
    let tok: Vec<(&Pair, [f64; 4])> = cmp
        .iter()
        .filter_map(|p| {
            let s = p.shadow.as_ref()?;
            Some((
                *p,
                [
                    p.primary.input? as f64,
                    p.primary.output? as f64,
                    s.input? as f64,
                    s.output? as f64,
                ],
            ))
        })
        .collect();
    let col = |i: usize| tok.iter().map(|t| t.1[i]).collect::<Vec<f64>>();
    let diff = |i: usize, j: usize| tok.iter().map(|t| t.1[j] - t.1[i]).collect::<Vec<f64>>();
    let total = |i: usize| col(i).iter().sum::<f64>() as u64;
    let tokens = json!({
        "n": tok.len(),
        "primary": {"input_mean": mean(&col(0)), "output_mean": mean(&col(1)), "input_total": total(0), "output_total": total(1)},
        "shadow": {"input_mean": mean(&col(2)), "output_mean": mean(&col(3)), "input_total": total(2), "output_total": total(3)},
        "diff": {"input_mean": mean(&diff(0, 2)), "output_mean": mean(&diff(1, 3))},
    });
    let cost_of = |model: &str, i: f64, o: f64| {
        price_of(model, prices).map(|(pi, po)| (i * pi + o * po) / 1e6)
    };
    let pc: Option<Vec<f64>> = tok
        .iter()
        .map(|(p, t)| cost_of(p.model, t[0], t[1]))
        .collect();
    let sc: Option<Vec<f64>> = tok
        .iter()
        .map(|(p, t)| cost_of(p.shadow_model, t[2], t[3]))
        .collect();
    let single = |models: Vec<&str>| {
        let mut m = models;
        m.sort_unstable();
        m.dedup();
        (m.len() == 1).then(|| m[0].to_owned())
    };
    let pm = single(tok.iter().map(|t| t.0.model).collect());
    let sm = single(tok.iter().map(|t| t.0.shadow_model).collect());
    let price_json = |m: &Option<String>| {
        m.as_deref()
            .and_then(|m| price_of(m, prices))
            .map(|(i, o)| json!({"input_per_mtok": i, "output_per_mtok": o}))
    };
    let (pmean, smean) = (pc.as_deref().and_then(mean), sc.as_deref().and_then(mean));
    let change = match (pmean, smean) {
        (Some(a), Some(b)) if a != 0.0 => Some((b / a - 1.0) * 100.0),
        _ => None,
    };
    let change_ci = match (&pc, &sc, change) {
        (Some(a), Some(b), Some(_)) => boot_change(a, b, false),
        _ => None,
    };
    // Traffic: mirrored, not sampled or dropped requests of the group's primary model, or
    // of its hour/day bucket (their rows name no shadow).
    let movable = |model: &str, ts: i64| match by {
        By::Mapping | By::Model => model == key[0],
        By::Hour => hour_of(ts) == key[0],
        By::Day => day_of(ts) == key[0],
        By::All => true,
    };
    let traffic = f.pairs.iter().filter(|p| movable(p.model, p.ts)).count()
        + f.others
            .iter()
            .filter(|o| o.mirror_state != "no_model_mapping" && movable(o.model, o.ts))
            .count();
    let dropped = f
        .others
        .iter()
        .filter(|o| o.mirror_state == "dropped" && movable(o.model, o.ts))
        .count();
    let days = match by {
        By::Hour => 1.0 / 24.0,
        By::Day => 1.0,
        _ => window_days,
    };
    let per_month = traffic as f64 / days * 30.0;
    let projection = match (pmean, smean) {
        (Some(a), Some(b)) => json!({
            "window_days": days, "traffic": traffic, "requests_per_month": per_month,
            "primary_monthly_usd": a * per_month, "shadow_monthly_usd": b * per_month,
            "shadow_monthly_usd_ci95": boot_mean(sc.as_deref().unwrap()).map(|[l, h]| [l * per_month, h * per_month]),
            "change_pct": change, "change_pct_ci95": change_ci,
        }),
        _ => Value::Null,
    };
    let mut unpriced: Vec<&str> = tok
        .iter()
        .flat_map(|t| [t.0.model, t.0.shadow_model])
        .filter(|m| price_of(m, prices).is_none())
        .collect();
    unpriced.sort_unstable();
    unpriced.dedup();
    let cost = json!({
        "primary_model": pm, "shadow_model": sm,
        "primary_price": price_json(&pm), "shadow_price": price_json(&sm),
        "unpriced_models": unpriced,
        "primary_per_request_usd": pmean, "shadow_per_request_usd": smean,
        "primary_per_1k_usd": pmean.map(|c| c * 1000.0), "shadow_per_1k_usd": smean.map(|c| c * 1000.0),
        "change_pct": change, "change_pct_ci95": change_ci, "projection": projection,
    });

    // Quality.
    let sims: Vec<f64> = cmp.iter().filter_map(|p| p.similarity).collect();
    let mut sorted = sims.clone();
    sorted.sort_by(f64::total_cmp);
    let mut hist = [0u64; 10];
    for s in &sims {
        hist[((s * 10.0) as usize).min(9)] += 1;
    }
    let sim_mean = mean(&sims);
    let similarity = json!({
        "n": sims.len(), "mean": sim_mean, "ci95": boot_mean(&sims),
        "p10": (!sorted.is_empty()).then(|| pct(&sorted, 10)),
        "p50": (!sorted.is_empty()).then(|| pct(&sorted, 50)),
        "p90": (!sorted.is_empty()).then(|| pct(&sorted, 90)),
        "histogram": hist,
    });
    let mut low: Vec<&Pair> = cmp
        .iter()
        .filter(|p| p.similarity.is_some())
        .copied()
        .collect();
    low.sort_by(|a, b| {
        a.similarity
            .unwrap()
            .total_cmp(&b.similarity.unwrap())
            .then((a.ts, &a.id).cmp(&(b.ts, &b.id)))
    });
    let preview = |t: &Option<String>| {
        t.as_ref().map(|t| {
            let head: String = t.chars().take(120).collect();
            if t.chars().count() > 120 {
                format!("{head}…")
            } else {
                head
            }
        })
    };
    let lowest: Vec<Value> = low
        .iter()
        .take(5)
        .map(|p| {
            json!({"request_id": p.id, "similarity": p.similarity,
                         "primary_preview": preview(&p.primary.text),
                         "shadow_preview": preview(&p.shadow.as_ref().unwrap().text)})
        })
        .collect();
    let share = |pred: &dyn Fn(&Pair) -> Option<bool>| {
        let v: Vec<bool> = cmp.iter().filter_map(|p| pred(p)).collect();
        rate(v.iter().filter(|b| **b).count(), v.len())
    };
    let empty = |s: &Side| match (s.chars, s.output) {
        (Some(c), _) => Some(c == 0 && s.tool_calls.is_none()),
        (None, Some(o)) => Some(o == 0),
        _ => None,
    };
    let tools: Vec<bool> = cmp
        .iter()
        .filter(|p| p.has_tools)
        .filter_map(|p| p.tool_agree)
        .collect();
    let json_rows: Vec<&Pair> = cmp.iter().filter(|p| p.json_mode).copied().collect();
    let json_rate = |side: &dyn Fn(&Pair) -> Option<bool>| {
        let v: Vec<bool> = json_rows.iter().filter_map(|p| side(p)).collect();
        rate(v.iter().filter(|b| **b).count(), v.len())
    };
    let quality = json!({
        "similarity": similarity,
        "lowest": lowest,
        "finish_reason_agreement": share(&|p| Some(p.primary.finish? == p.shadow.as_ref()?.finish?)),
        "shadow_empty_rate": share(&|p| empty(p.shadow.as_ref()?)),
        "primary_empty_rate": share(&|p| empty(&p.primary)),
        "shadow_truncation_rate": share(&|p| Some(p.shadow.as_ref()?.finish? == "length")),
        "primary_truncation_rate": share(&|p| Some(p.primary.finish? == "length")),
        "tool_call_agreement": if tools.is_empty() { Value::Null } else {
            json!({"n": tools.len(), "rate": tools.iter().filter(|b| **b).count() as f64 / tools.len() as f64})
        },
        "json_valid": if json_rows.is_empty() { Value::Null } else {
            json!({"n": json_rows.len(), "primary_rate": json_rate(&|p| p.primary.json_valid),
                   "shadow_rate": json_rate(&|p| p.shadow.as_ref()?.json_valid)})
        },
    });

    // Noise floor.
    let floor: Vec<f64> = ps
        .iter()
        .filter_map(|p| match p.noise {
            Some(("success", s)) => s,
            _ => None,
        })
        .collect();
    let noise_floor = mean(&floor).map_or(Value::Null, |m| {
        json!({"n": floor.len(), "similarity_mean": m, "ci95": boot_mean(&floor),
               "shadow_relative": sim_mean.map(|s| s / m)})
    });

    // Failures.
    let classes = |rows: Vec<&Side>| -> Vec<Value> {
        let mut keys: Vec<ClassKey<'_>> = Vec::new();
        for s in &rows {
            let k = (s.status, s.error_class, s.http_status);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        let mut out: Vec<(usize, ClassKey<'_>, Value)> = keys
            .into_iter()
            .map(|k| {
                let of: Vec<&&Side> = rows
                    .iter()
                    .filter(|s| (s.status, s.error_class, s.http_status) == k)
                    .collect();
                let mut msgs: Vec<(&str, usize)> = Vec::new();
                for s in &of {
                    let m = s.error_message.unwrap();
                    match msgs.iter_mut().find(|x| x.0 == m) {
                        Some(x) => x.1 += 1,
                        None => msgs.push((m, 1)),
                    }
                }
                msgs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                (
                    of.len(),
                    k,
                    json!({"status": k.0, "class": k.1, "http_status": k.2, "count": of.len(),
                                     "example": msgs[0].0, "example_count": msgs[0].1}),
                )
            })
            .collect();
        out.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        out.into_iter().map(|x| x.2).collect()
    };
    let p_failed: Vec<&Side> = ps
        .iter()
        .map(|p| &p.primary)
        .filter(|s| s.status != "success")
        .collect();
    let s_failed: Vec<&Side> = ps
        .iter()
        .filter_map(|p| p.shadow.as_ref())
        .filter(|s| s.status != "success")
        .collect();
    let finished = ps.len() - pending;
    let mut shadow_classes = classes(s_failed.clone());
    if dropped > 0 {
        shadow_classes.push(json!({"status": "dropped", "class": "dropped", "http_status": null, "count": dropped, "example_count": dropped}));
    }
    let failures = json!({
        "primary": {"count": p_failed.len(), "rate": rate(p_failed.len(), ps.len()),
                    "rate_ci95": wilson(p_failed.len() as u64, ps.len() as u64), "by_class": classes(p_failed)},
        "shadow": {"count": s_failed.len(), "rate": rate(s_failed.len(), finished),
                   "rate_ci95": wilson(s_failed.len() as u64, finished as u64), "dropped": dropped,
                   "by_class": shadow_classes},
    });

    json!({
        "key": key_obj, "pairs": ps.len(), "completed": completed, "pending": pending,
        "compared": cmp.len(), "latency": latency, "ttft": ttft, "tokens": tokens, "cost": cost,
        "quality": quality, "noise_floor": noise_floor, "failures": failures,
    })
}

/// Asserts `actual` has every value of `expected` (numbers within 1e-9, relative for large
/// ones); keys of `actual` that `expected` does not name are not checked.
pub fn assert_matches(actual: &Value, expected: &Value, path: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k} missing in {actual:#}"));
                assert_matches(av, ev, &format!("{path}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(
                a.len(),
                e.len(),
                "{path}: length differs\nactual {actual:#}\nexpected {expected:#}"
            );
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                assert_matches(av, ev, &format!("{path}[{i}]"));
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap(), a.as_f64().unwrap());
            assert!(
                (e - a).abs() <= 1e-9 * e.abs().max(1.0),
                "{path}: {a} != expected {e}"
            );
        }
        _ => assert_eq!(actual, expected, "{path}"),
    }
}
