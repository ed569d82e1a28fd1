//! What operations watch: counts and timings through the `metrics` facade,
//! named here. `serve` keeps them in the Prometheus exporter's recorder and
//! renders them at `/metrics` (`prometheus`); on Lambda a recorder of our
//! own (`Emf`) prints what each invocation recorded as CloudWatch Embedded
//! Metric Format lines, which CloudWatch turns into metrics. Without either
//! installed, recording costs nothing.

use metrics::{
    Counter, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Requests answered, by `route` (the pattern) and `status`.
pub const HTTP_REQUESTS: &str = "afureko_http_requests_total";
/// Time to answer, by `route`, in seconds.
pub const HTTP_DURATION: &str = "afureko_http_request_duration_seconds";
/// Twilio's webhooks by `outcome`: answered, forged (a missing or wrong
/// signature), unknown_tenant, refused (another 4xx), failed (5xx).
pub const WEBHOOKS: &str = "afureko_webhooks_total";
/// Recording copy jobs worked, by `outcome` (`Worked::name`): stored,
/// copy_failed and gave_up among them.
pub const COPIES: &str = "afureko_recording_copies_total";
/// Jobs in the copy queue, by `state`: waiting, in_flight, dead.
pub const COPY_QUEUE: &str = "afureko_copy_queue_jobs";

/// Latency buckets in seconds: webhooks answer in milliseconds, and Twilio
/// gives up on one after 15 s.
pub const DURATION_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0,
];

/// The namespace of the CloudWatch metrics.
pub const NAMESPACE: &str = "afureko";

/// Gives every metric its help text and unit, in the recorder installed.
fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        Unit::Count,
        "Requests answered, by route and status"
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer a request, by route"
    );
    metrics::describe_counter!(
        WEBHOOKS,
        Unit::Count,
        "Twilio webhooks by outcome: answered, forged, unknown_tenant, refused, failed"
    );
    metrics::describe_counter!(
        COPIES,
        Unit::Count,
        "Recording copy jobs worked, by outcome"
    );
    metrics::describe_gauge!(
        COPY_QUEUE,
        Unit::Count,
        "Jobs in the recording copy queue, by state: waiting, in_flight, dead"
    );
}

/// A request answered on `route` (its pattern) with `status` after
/// `seconds`.
pub fn request(route: &str, status: u16, seconds: f64) {
    metrics::counter!(HTTP_REQUESTS, "route" => route.to_owned(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route.to_owned()).record(seconds);
    if route.starts_with("/twilio/") {
        metrics::counter!(WEBHOOKS, "outcome" => webhook_outcome(status)).increment(1);
    }
}

/// What a webhook's status says: the extractor answers 403 for a missing
/// or wrong signature and 404 for an unknown tenant.
fn webhook_outcome(status: u16) -> &'static str {
    match status {
        200..=399 => "answered",
        403 => "forged",
        404 => "unknown_tenant",
        400..=499 => "refused",
        _ => "failed",
    }
}

/// A copy job worked, by its outcome's name.
pub fn copy_worked(outcome: &'static str) {
    metrics::counter!(COPIES, "outcome" => outcome).increment(1);
}

/// What the copy queue holds now.
pub fn copy_queue(waiting: usize, in_flight: usize, dead: usize) {
    for (state, jobs) in [
        ("waiting", waiting),
        ("in_flight", in_flight),
        ("dead", dead),
    ] {
        metrics::gauge!(COPY_QUEUE, "state" => state).set(jobs as f64);
    }
}

#[cfg(feature = "cli")]
static PROMETHEUS: OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
    OnceLock::new();

/// The Prometheus recorder, installed as the process's recorder on the
/// first call; `None` when another recorder was installed first.
#[cfg(feature = "cli")]
pub fn prometheus() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &DURATION_BUCKETS)
                .ok()?
                .install_recorder()
                .ok()?;
            describe();
            Some(handle)
        })
        .clone()
}

static EMF: OnceLock<Arc<Emf>> = OnceLock::new();

/// Installs the EMF recorder as the process's recorder (Lambda).
pub fn install_emf() {
    let emf = EMF.get_or_init(|| Arc::new(Emf::default()));
    if metrics::set_global_recorder(EmfRecorder(emf.clone())).is_ok() {
        describe();
    }
}

/// Prints what was recorded since the last flush, one EMF document a line
/// on stdout (Lambda sends it to CloudWatch Logs); nothing without
/// `install_emf`.
pub fn flush_emf() {
    let Some(emf) = EMF.get() else {
        return;
    };
    let lines = emf.drain(jiff::Timestamp::now().as_millisecond());
    if lines.is_empty() {
        return;
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for line in lines {
        // A lost line is a lost figure, never a failed request.
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}

/// What happened since the last `drain`: counters as increments, gauges
/// as set, histograms as their samples.
#[derive(Default)]
pub struct Emf {
    units: Mutex<HashMap<String, Unit>>,
    counters: Mutex<HashMap<Key, Arc<AtomicU64>>>,
    gauges: Mutex<HashMap<Key, Arc<EmfGauge>>>,
    histograms: Mutex<HashMap<Key, Arc<Samples>>>,
}

/// A gauge's value (f64 bits) and whether it was set since the last drain.
#[derive(Default)]
pub struct EmfGauge {
    bits: AtomicU64,
    changed: AtomicBool,
}

impl EmfGauge {
    fn update(&self, change: impl Fn(f64) -> f64) {
        let _ = self
            .bits
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| {
                Some(change(f64::from_bits(bits)).to_bits())
            });
        self.changed.store(true, Ordering::Release);
    }
}

impl GaugeFn for EmfGauge {
    fn increment(&self, value: f64) {
        self.update(|v| v + value);
    }

    fn decrement(&self, value: f64) {
        self.update(|v| v - value);
    }

    fn set(&self, value: f64) {
        self.update(|_| value);
    }
}

#[derive(Default)]
pub struct Samples(Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        lock(&self.0).push(value);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One metric's value in a document.
enum Reading {
    Number(f64),
    /// Distinct values and how often each came.
    Spread(Vec<(f64, u64)>),
}

/// EMF's limits: 100 metrics a directive, 100 values a metric.
const MAX_PER_DOCUMENT: usize = 100;

impl Emf {
    /// The documents of what was recorded since the last drain, one per
    /// set of label values (EMF's dimensions: the label names); an empty
    /// list when nothing was.
    pub fn drain(&self, now_ms: i64) -> Vec<String> {
        // By labels (sorted), then by metric name.
        let mut groups: BTreeMap<Vec<(String, String)>, BTreeMap<String, Reading>> =
            BTreeMap::new();
        let mut put = |key: &Key, reading: Reading| {
            let mut labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            groups
                .entry(labels)
                .or_default()
                .insert(key.name().to_owned(), reading);
        };
        for (key, counter) in lock(&self.counters).iter() {
            let n = counter.swap(0, Ordering::AcqRel);
            if n > 0 {
                put(key, Reading::Number(n as f64));
            }
        }
        for (key, gauge) in lock(&self.gauges).iter() {
            if gauge.changed.swap(false, Ordering::AcqRel) {
                put(
                    key,
                    Reading::Number(f64::from_bits(gauge.bits.load(Ordering::Acquire))),
                );
            }
        }
        for (key, samples) in lock(&self.histograms).iter() {
            let values = std::mem::take(&mut *lock(&samples.0));
            if values.is_empty() {
                continue;
            }
            let mut counted: Vec<(f64, u64)> = Vec::new();
            for v in values {
                match counted.iter_mut().find(|(seen, _)| *seen == v) {
                    Some((_, n)) => *n += 1,
                    None => counted.push((v, 1)),
                }
            }
            put(key, Reading::Spread(counted));
        }
        let units = lock(&self.units);
        let mut lines = Vec::new();
        for (labels, readings) in groups {
            // Spreads of more than 100 values go on in documents of their own.
            let mut documents: Vec<Vec<(String, Value)>> = vec![Vec::new()];
            for (name, reading) in readings {
                match reading {
                    Reading::Number(n) => documents[0].push((name, json!(n))),
                    Reading::Spread(counted) => {
                        for (i, chunk) in counted.chunks(MAX_PER_DOCUMENT).enumerate() {
                            let (values, counts): (Vec<f64>, Vec<u64>) =
                                chunk.iter().copied().unzip();
                            let value = json!({ "Values": values, "Counts": counts });
                            if i == 0 {
                                documents[0].push((name.clone(), value));
                            } else {
                                documents.push(vec![(name.clone(), value)]);
                            }
                        }
                    }
                }
            }
            for metrics in documents {
                for chunk in metrics.chunks(MAX_PER_DOCUMENT) {
                    lines.push(document(&labels, chunk, &units, now_ms).to_string());
                }
            }
        }
        lines
    }
}

fn unit_name(unit: Option<&Unit>) -> &'static str {
    match unit {
        Some(Unit::Seconds) => "Seconds",
        Some(Unit::Milliseconds) => "Milliseconds",
        Some(Unit::Bytes) => "Bytes",
        Some(Unit::Count) | None => "Count",
        Some(_) => "None",
    }
}

/// One EMF document: the directive naming the metrics and the dimensions,
/// then the dimensions' values and the metrics' values as members.
fn document(
    labels: &[(String, String)],
    metrics: &[(String, Value)],
    units: &HashMap<String, Unit>,
    now_ms: i64,
) -> Value {
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, _)| json!({ "Name": name, "Unit": unit_name(units.get(name)) }))
        .collect();
    let dimensions: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions],
                "Metrics": definitions,
            }],
        }),
    );
    for (k, v) in labels {
        root.insert(k.clone(), json!(v));
    }
    for (name, value) in metrics {
        root.insert(name.clone(), value.clone());
    }
    Value::Object(root)
}

/// The process's recorder on Lambda: hands out `Emf`'s cells.
struct EmfRecorder(Arc<Emf>);

impl EmfRecorder {
    fn unit(&self, key: KeyName, unit: Option<Unit>) {
        if let Some(unit) = unit {
            lock(&self.0.units).insert(key.as_str().to_owned(), unit);
        }
    }
}

impl Recorder for EmfRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.unit(key, unit);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.unit(key, unit);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.unit(key, unit);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let cell = lock(&self.0.counters)
            .entry(key.clone())
            .or_default()
            .clone();
        Counter::from_arc(cell)
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let cell = lock(&self.0.gauges).entry(key.clone()).or_default().clone();
        Gauge::from_arc(cell)
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let cell = lock(&self.0.histograms)
            .entry(key.clone())
            .or_default()
            .clone();
        Histogram::from_arc(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks a document against the EMF specification's MUSTs: a JSON
    /// object with `_aws.Timestamp` and `_aws.CloudWatchMetrics`, each
    /// directive with a namespace, dimension sets of at most 30 names, at
    /// most 100 metrics; every name referenced is a member of the root,
    /// dimensions strings, metrics numbers or Values/Counts of equal length
    /// (at most 100).
    fn check(line: &str) -> Value {
        let doc: Value = serde_json::from_str(line).expect("one JSON object a line");
        let aws = &doc["_aws"];
        assert!(aws["Timestamp"].is_i64(), "{line}");
        for directive in aws["CloudWatchMetrics"].as_array().expect("directives") {
            assert!(directive["Namespace"].is_string());
            for set in directive["Dimensions"].as_array().expect("dimension sets") {
                let set = set.as_array().expect("a dimension set");
                assert!(set.len() <= 30);
                for name in set {
                    assert!(doc[name.as_str().unwrap()].is_string(), "dimension {name}");
                }
            }
            let metrics = directive["Metrics"].as_array().expect("metrics");
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for m in metrics {
                let value = &doc[m["Name"].as_str().expect("a name")];
                assert!(m["Unit"].is_string());
                if let Some(values) = value["Values"].as_array() {
                    let counts = value["Counts"].as_array().expect("counts");
                    assert!(values.len() == counts.len() && values.len() <= 100);
                } else {
                    assert!(value.is_number(), "{m}: {value}");
                }
            }
        }
        doc
    }

    #[test]
    fn what_was_recorded_leaves_as_emf_once() {
        let emf = Arc::new(Emf::default());
        let recorder = EmfRecorder(emf.clone());
        metrics::with_local_recorder(&recorder, || {
            describe();
            request("/twilio/{tenant}/voice", 200, 0.004);
            request("/twilio/{tenant}/voice", 200, 0.004);
            request("/twilio/{tenant}/voice", 403, 0.001);
            copy_queue(3, 1, 0);
        });
        let lines = emf.drain(1_795_568_400_000);
        let docs: Vec<Value> = lines.iter().map(|l| check(l)).collect();
        let find = |pairs: &[(&str, &str)]| {
            docs.iter()
                .find(|d| pairs.iter().all(|(k, v)| d[*k] == *v))
                .unwrap_or_else(|| panic!("no document with {pairs:?} in {lines:#?}"))
        };
        let ok = find(&[("route", "/twilio/{tenant}/voice"), ("status", "200")]);
        assert_eq!(ok[HTTP_REQUESTS], 2.0);
        assert_eq!(
            ok["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["route", "status"]])
        );
        assert_eq!(ok["_aws"]["Timestamp"], 1_795_568_400_000i64);
        let timing = find(&[("route", "/twilio/{tenant}/voice")]);
        let timing = docs
            .iter()
            .find(|d| d.get("status").is_none() && d["route"] == timing["route"])
            .unwrap();
        assert_eq!(
            timing[HTTP_DURATION],
            json!({"Values": [0.004, 0.001], "Counts": [2, 1]})
        );
        assert_eq!(
            timing["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": HTTP_DURATION, "Unit": "Seconds"}])
        );
        assert_eq!(find(&[("outcome", "answered")])[WEBHOOKS], 2.0);
        assert_eq!(find(&[("outcome", "forged")])[WEBHOOKS], 1.0);
        assert_eq!(find(&[("state", "waiting")])[COPY_QUEUE], 3.0);
        assert_eq!(find(&[("state", "dead")])[COPY_QUEUE], 0.0);
        assert_eq!(docs.len(), 8, "{lines:#?}");
        // Sent once: nothing new, nothing again.
        assert_eq!(emf.drain(1_795_568_401_000), Vec::<String>::new());
    }

    #[test]
    fn a_spread_of_many_values_goes_on_in_documents_of_its_own() {
        let emf = Arc::new(Emf::default());
        let recorder = EmfRecorder(emf.clone());
        metrics::with_local_recorder(&recorder, || {
            for i in 0..250 {
                metrics::histogram!(HTTP_DURATION, "route" => "/healthz").record(f64::from(i));
            }
        });
        let lines = emf.drain(0);
        assert_eq!(lines.len(), 3);
        let total: usize = lines
            .iter()
            .map(|l| check(l)[HTTP_DURATION]["Values"].as_array().unwrap().len())
            .sum();
        assert_eq!(total, 250);
    }

    #[test]
    fn webhook_outcomes_follow_the_status() {
        let got: Vec<&str> = [204, 400, 403, 404, 413, 500]
            .into_iter()
            .map(webhook_outcome)
            .collect();
        assert_eq!(
            got,
            [
                "answered",
                "refused",
                "forged",
                "unknown_tenant",
                "refused",
                "failed"
            ]
        );
    }
}
