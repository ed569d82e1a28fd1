//! The incoming-call webhook's parts, and the whole handler through the
//! Router on the embedded store. `cargo bench --bench webhook`; the load
//! test of the running server is `scripts/bench`.

use afureko::clock::SystemClock;
use afureko::domain::due::Due;
use afureko::domain::ids::{AccountSid, TenantId};
use afureko::domain::ivr::{Ivr, IvrContext, Links, after_recording};
use afureko::domain::phone::{CallerId, E164, Region};
use afureko::domain::prompts::Language;
use afureko::domain::reason::Reason;
use afureko::domain::speech::Answer;
use afureko::domain::tenant::{AuthToken, Tenant, TenantSettings, TwilioCredentials};
use afureko::settings::BaseUrl;
use afureko::settings::RateLimits;
use afureko::startup;
use afureko::twilio::api::{MediaHosts, TwilioApi};
use afureko::twilio::signature::{self, Algorithm};
use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://calls.example.test";
const TOKEN: &str = "peer-token";

/// Twilio's incoming-call form for call `n`: a distinct CallSid and From.
fn form(n: u64) -> Vec<(String, String)> {
    [
        ("CallSid", format!("CA{n:032x}")),
        ("AccountSid", format!("AC{:032x}", 1)),
        ("From", format!("+8190{:08}", n % 100_000_000)),
        ("To", "+81312345678".to_owned()),
        ("CallStatus", "ringing".to_owned()),
        ("Direction", "inbound".to_owned()),
        ("ApiVersion", "2010-04-01".to_owned()),
        ("Caller", format!("+8190{:08}", n % 100_000_000)),
        ("Called", "+81312345678".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn encode(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

fn parts(c: &mut Criterion) {
    let url = format!("{PUBLIC_URL}/twilio/acme/voice");
    let params = form(7);
    let body = encode(&params);
    let sig = signature::sign(TOKEN, &url, &params, Algorithm::Sha1);
    c.bench_function("signature check", |b| {
        b.iter(|| signature::verify(TOKEN, &url, black_box(&params), &sig, Algorithm::Sha1))
    });
    c.bench_function("form parse", |b| {
        b.iter(|| {
            form_urlencoded::parse(black_box(body.as_bytes()))
                .into_owned()
                .collect::<Vec<(String, String)>>()
        })
    });
    c.bench_function("caller id parse", |b| {
        b.iter(|| CallerId::from_twilio(black_box("+819012345678"), Region::JP))
    });
    let number = E164::parse("+819012345678", Region::JP).unwrap();
    c.bench_function("read-back", |b| {
        b.iter(|| black_box(&number).read_back(Region::JP, Language::JaJp))
    });
}

struct BenchLinks;

impl Links for BenchLinks {
    fn offer(&self, _: &IvrContext, attempt: u32) -> String {
        format!("{PUBLIC_URL}/twilio/acme/ivr/offer/overflow/1764032400/{attempt}")
    }
    fn enter(&self, _: &IvrContext, attempt: u32) -> String {
        format!("{PUBLIC_URL}/twilio/acme/ivr/enter/overflow/1764032400/{attempt}")
    }
    fn confirm(&self, _: &IvrContext, attempt: u32, typed: &str) -> String {
        format!("{PUBLIC_URL}/twilio/acme/ivr/confirm/overflow/1764032400/{attempt}/{typed}")
    }
    fn window(&self, _: &IvrContext, attempt: u32) -> String {
        format!("{PUBLIC_URL}/twilio/acme/ivr/window/overflow/1764032400/{attempt}")
    }
    fn recorded(&self) -> String {
        format!("{PUBLIC_URL}/twilio/acme/ivr/recorded")
    }
    fn recording_status(&self) -> String {
        format!("{PUBLIC_URL}/twilio/acme/recording-status")
    }
}

fn twiml(c: &mut Criterion) {
    let settings = TenantSettings::default();
    let ctx = IvrContext {
        reason: Reason::Overflow,
        arrived: "2026-11-25T01:00:00Z".parse().unwrap(),
    };
    let caller = CallerId::from_twilio("+819012345678", Region::JP);
    let ivr = Ivr::new(&settings, &BenchLinks, caller.clone(), ctx, ctx.arrived);
    let withheld = Ivr::new(&settings, &BenchLinks, CallerId::Withheld, ctx, ctx.arrived);
    let mut group = c.benchmark_group("twiml");
    group.bench_function("start", |b| b.iter(|| ivr.start(false, None).render()));
    group.bench_function("start, repeat caller", |b| {
        b.iter(|| ivr.start(true, None).render())
    });
    group.bench_function("start, withheld", |b| {
        b.iter(|| withheld.start(false, None).render())
    });
    group.bench_function("offer accepted", |b| {
        b.iter(|| ivr.on_offer(&Answer::Keys("1".into()), 1).twiml.render())
    });
    group.bench_function("number entered", |b| {
        b.iter(|| {
            ivr.on_entry(&Answer::Keys("0312345678".into()), 1)
                .twiml
                .render()
        })
    });
    group.bench_function("number confirmed", |b| {
        b.iter(|| {
            ivr.on_confirm("0312345678", &Answer::Keys("1".into()), 1)
                .twiml
                .render()
        })
    });
    let due = Due::at("2026-11-25T05:00:00Z".parse().unwrap());
    group.bench_function("thanks, with the due time", |b| {
        b.iter(|| after_recording(&settings, Some(&due), ctx.arrived).render())
    });
    group.finish();
}

fn handler(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let router = rt.block_on(async {
        let backend = startup::embedded(dir.path(), &Default::default(), Arc::new(SystemClock))
            .await
            .unwrap();
        let tenant = Tenant {
            id: TenantId::parse("acme").unwrap(),
            twilio: TwilioCredentials::new(
                AccountSid::parse(&format!("AC{:032x}", 1)).unwrap(),
                AuthToken::new(TOKEN).unwrap(),
            ),
            settings: TenantSettings::default(),
            created_at: "2026-11-25T00:00:00Z".parse().unwrap(),
        };
        backend.store.create_tenant(&tenant).await.unwrap();
        let url = BaseUrl::parse("AFUREKO_PUBLIC_URL", PUBLIC_URL).unwrap();
        // Nothing is fetched: the bench plays the incoming call only.
        let api = TwilioApi::new("http://127.0.0.1:9", MediaHosts::default()).unwrap();
        let state = startup::state(
            &backend,
            url,
            api,
            Arc::new(SystemClock),
            RateLimits::default(),
        );
        afureko::http::app(state)
    });
    let url = format!("{PUBLIC_URL}/twilio/acme/voice");
    let next = AtomicU64::new(1);
    c.bench_function("incoming call through the Router (embedded store)", |b| {
        b.to_async(&rt).iter(|| {
            let params = form(next.fetch_add(1, Ordering::Relaxed));
            let sig = signature::sign(TOKEN, &url, &params, Algorithm::Sha1);
            let request = Request::post("/twilio/acme/voice")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-twilio-signature", sig)
                .body(Body::from(encode(&params)))
                .unwrap();
            let router = router.clone();
            async move {
                let reply = router.oneshot(request).await.unwrap();
                assert_eq!(reply.status(), 200);
            }
        })
    });
}

criterion_group!(benches, parts, twiml, handler);
criterion_main!(benches);
