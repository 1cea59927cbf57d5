//! Studio integration tests: the HTTP API against `toongan cartoonize` (byte-identical PNGs),
//! upload limits and errors, the runs index's protections, the job queue, and an end-to-end
//! run in headless Chromium on a phone-sized and a desktop viewport (screenshots in
//! target/test-artifacts/studio/).
//!
//! The browser test needs Debian's `chromium` and `chromium-driver`; without them it skips
//! with a message, except when `CI=true` or `TOONGAN_REQUIRE_BROWSER=1`, where it fails.

mod common;

use std::io::{Cursor, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use toongan::cartoonize::TileOptions;
use toongan::studio::{JobQueue, JobState, StudioError, StudioOptions, router, serve};
use toongan::survey::AdminToken;

/// The studio in a thread of its own, on an ephemeral loopback port.
struct TestServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    fn start(options: StudioOptions) -> Self {
        let job_timeout = options.request_timeout;
        let app = router(options).expect("router");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send");
                serve(listener, app, job_timeout, async {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
            });
        });
        let addr = addr_rx.recv().expect("server address");
        TestServer {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn options(runs: Option<&Path>) -> StudioOptions {
    StudioOptions {
        runs: runs.map(Path::to_path_buf),
        weights_dir: Some(common::weights_dir()),
        ..StudioOptions::default()
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(120))
        .build()
}

/// (status, headers we look at, body bytes).
fn send(req: ureq::Request, body: Option<&[u8]>) -> (u16, ureq::Response) {
    let res = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    match res {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(c, r)) => (c, r),
        Err(e) => panic!("request failed: {e}"),
    }
}

fn bytes_of(r: ureq::Response) -> Vec<u8> {
    let mut v = Vec::new();
    r.into_reader().read_to_end(&mut v).expect("body");
    v
}

fn json_of(r: ureq::Response) -> Value {
    serde_json::from_slice(&bytes_of(r)).expect("json body")
}

/// The `error` text of an answer (the whole body when it is not JSON).
fn error_of(r: ureq::Response) -> String {
    let body = bytes_of(r);
    serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned())
}

/// A shared photo downscaled (Catmull-Rom) to `width`, saved as PNG.
fn small_photo(name: &str, width: u32, out: &Path) -> PathBuf {
    let img = image::open(common::photo(name))
        .expect("shared photo")
        .to_rgb8();
    let h = (img.height() as f64 * width as f64 / img.width() as f64).round() as u32;
    let small = image::imageops::resize(&img, width, h, image::imageops::FilterType::CatmullRom);
    small.save(out).expect("save photo");
    out.to_path_buf()
}

/// The API's PNG equals, byte for byte, what `toongan cartoonize --output x.png` writes for
/// the same photo and style: one photo that fits one tile and one cut into 64-pixel tiles.
#[test]
fn api_png_is_identical_to_the_cli() {
    let tmp = tempfile::tempdir().expect("tmp");
    let weights = common::weights_dir();
    let tiles = TileOptions {
        tile: 64,
        overlap: 8,
    };
    let s = TestServer::start(StudioOptions {
        tiles,
        ..options(None)
    });
    let a = agent();
    for (photo, width, style) in [("cat.png", 60, "hayao"), ("castle.jpg", 150, "shinkai")] {
        let input = small_photo(photo, width, &tmp.path().join(format!("{style}-in.png")));
        let cli_out = tmp.path().join(format!("{style}-cli.png"));
        let out = common::toongan(
            &[
                "cartoonize",
                input.to_str().expect("utf-8"),
                "--style",
                style,
                "--weights-dir",
                weights.to_str().expect("utf-8"),
                "--offline",
                "--tile",
                "64",
                "--tile-overlap",
                "8",
                "--output",
                cli_out.to_str().expect("utf-8"),
            ],
            tmp.path(),
        );
        assert!(out.status.success(), "{}", common::stderr(&out));
        let body = std::fs::read(&input).expect("read photo");
        let (status, res) = send(
            a.post(&s.url(&format!("/api/cartoonize?style={style}&name=photo")))
                .set("Content-Type", "image/png"),
            Some(&body),
        );
        assert_eq!(status, 200);
        assert_eq!(res.header("content-type"), Some("image/png"));
        assert!(
            res.header("x-toongan-result")
                .is_some_and(|id| id.len() == 32)
        );
        assert_eq!(
            res.header("x-toongan-name"),
            Some(format!("photo_{style}.png").as_str())
        );
        let api = bytes_of(res);
        let cli = std::fs::read(&cli_out).expect("cli output");
        assert!(
            api == cli,
            "{photo} ({style}): the API's PNG ({} bytes) differs from the CLI's ({} bytes)",
            api.len(),
            cli.len()
        );
    }
}

#[test]
fn oversized_and_corrupt_uploads_get_clear_errors() {
    let max = 64 * 1024;
    let s = TestServer::start(StudioOptions {
        max_upload_bytes: max,
        max_pixels: 1_000_000,
        ..options(None)
    });
    let a = agent();
    let post = |style: &str, body: &[u8]| {
        let (status, r) = send(
            a.post(&s.url(&format!("/api/cartoonize?style={style}"))),
            Some(body),
        );
        (status, error_of(r))
    };
    // Over the byte limit (just over: the server answers before reading it all).
    let (status, _) = post("hayao", &vec![0u8; max + 1024]);
    assert_eq!(status, 413);
    // Small file, too many pixels: refused from the header, before decoding.
    let mut big = Vec::new();
    image::RgbImage::new(1200, 1000)
        .write_to(&mut Cursor::new(&mut big), image::ImageFormat::Png)
        .expect("encode");
    assert!(big.len() < max, "{} bytes", big.len());
    let (status, msg) = post("hayao", &big);
    assert_eq!(status, 413, "{msg}");
    assert!(
        msg.contains("1200x1000") && msg.contains("1000000"),
        "{msg}"
    );
    // Not an image at all, and a truncated PNG.
    let (status, msg) = post(
        "hayao",
        b"these bytes are not an image, they are a sentence",
    );
    assert_eq!(status, 422, "{msg}");
    assert!(msg.contains("not a decodable image"), "{msg}");
    let mut png = Vec::new();
    image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 3, y as u8 * 5, 77]))
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode");
    let (status, msg) = post("hayao", &png[..png.len() / 2]);
    assert_eq!(status, 422, "{msg}");
    assert!(msg.contains("not a decodable image"), "{msg}");
    let (status, _) = post("hayao", b"");
    assert_eq!(status, 422);
    // Unknown style, or both style and model.
    assert_eq!(post("picasso", &png).0, 404);
    let (status, _) = send(
        a.post(&s.url("/api/cartoonize?style=hayao&model=abc")),
        Some(&png),
    );
    assert_eq!(status, 400);
    // The headers every answer carries.
    let (status, r) = send(a.get(&s.url("/")), None);
    assert_eq!(status, 200);
    let csp = r
        .header("content-security-policy")
        .expect("csp")
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
}

fn write_metrics(run: &Path, steps: std::ops::Range<usize>) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.join("metrics.jsonl"))
        .expect("metrics");
    for step in steps {
        let x = step as f64;
        writeln!(
            f,
            "{}",
            json!({"step": step, "epoch": step / 10, "phase": if step < 6 { "init" } else { "adversarial" },
                   "losses": {"content": 2.0 / (1.0 + 0.3 * x), "d_loss": 0.7 + 0.2 * (x * 0.7).sin(), "g_adv": 0.5 + 0.01 * x},
                   "seconds_per_step": 0.42})
        )
        .expect("write");
        f.flush().expect("flush");
    }
}

fn grid_png(path: &Path, w: u32, h: u32, seed: u8) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x as u8).wrapping_mul(3).wrapping_add(seed),
            (y as u8).wrapping_mul(4),
            seed.wrapping_mul(40),
        ])
    })
    .save(path)
    .expect("png");
}

/// A runs folder: a training run `try` with samples and metrics, an experiment `exp` with a
/// report and one run, and a secret file beside them.
fn make_runs(root: &Path) -> PathBuf {
    let run = root.join("try");
    std::fs::create_dir_all(&run).expect("mkdir");
    std::fs::write(
        run.join("config.toml"),
        "model = \"cartoongan\"\n\n[train]\nepochs = 2\nseed = 0\n",
    )
    .expect("config");
    write_metrics(&run, 0..3);
    grid_png(
        &run.join("samples/epoch-001_step-000000002.png"),
        128,
        192,
        10,
    );
    let exp = root.join("exp");
    let seed = exp.join("runs/base/seed-0");
    std::fs::create_dir_all(&seed).expect("mkdir");
    std::fs::write(seed.join("config.toml"), "model = \"cartoongan\"\n").expect("config");
    write_metrics(&seed, 0..4);
    std::fs::create_dir_all(exp.join("report/curves")).expect("mkdir");
    std::fs::write(
        exp.join("report/results.csv"),
        "variant,metric,seeds,mean,ci95\nbase,fid,2,123.4,5.6\nimproved,fid,2,101.2,4.1\n",
    )
    .expect("csv");
    std::fs::write(
        exp.join("report/report.md"),
        "# exp\n\nA tiny experiment.\n",
    )
    .expect("md");
    grid_png(&exp.join("report/grid.png"), 192, 128, 50);
    grid_png(&exp.join("report/curves/base.png"), 160, 100, 90);
    std::fs::create_dir_all(exp.join("outputs")).expect("mkdir");
    std::fs::write(root.join("secret.png"), "TOP-SECRET").expect("secret");
    run
}

#[test]
fn runs_api_lists_runs_and_serves_only_their_images() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("runs");
    let run = make_runs(&root);
    let s = TestServer::start(options(Some(&root)));
    let a = agent();
    let (status, r) = send(a.get(&s.url("/api/runs")), None);
    assert_eq!(status, 200);
    let runs = json_of(r)["runs"].as_array().expect("runs").clone();
    let names: Vec<&str> = runs
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["exp", "exp/runs/base/seed-0", "try"]);
    assert!(
        runs.iter().all(|r| r.get("dir").is_none()),
        "no server paths"
    );
    let id = runs[2]["id"].as_str().expect("id").to_string();
    let (status, r) = send(a.get(&s.url(&format!("/api/runs/{id}/metrics"))), None);
    assert_eq!(status, 200);
    assert_eq!(json_of(r)["records"].as_array().expect("records").len(), 3);
    write_metrics(&run, 3..5);
    let (_, r) = send(
        a.get(&s.url(&format!("/api/runs/{id}/metrics?after=2"))),
        None,
    );
    let steps: Vec<u64> = json_of(r)["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["step"].as_u64().expect("step"))
        .collect();
    assert_eq!(steps, [3, 4]);
    let (status, r) = send(
        a.get(&s.url(&format!(
            "/api/runs/{id}/image?path=samples/epoch-001_step-000000002.png"
        ))),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(&bytes_of(r)[1..4], b"PNG");
    for bad in [
        "../secret.png",
        "samples/../../secret.png",
        "samples%2F..%2F..%2Fsecret.png",
        "config.toml",
        "/etc/passwd",
    ] {
        let (status, r) = send(
            a.get(&s.url(&format!("/api/runs/{id}/image?path={bad}"))),
            None,
        );
        assert_eq!(status, 404, "{bad}");
        assert!(!String::from_utf8_lossy(&bytes_of(r)).contains("TOP-SECRET"));
    }
    for bad_id in ["..", "0000000000000000", "try"] {
        let (status, _) = send(a.get(&s.url(&format!("/api/runs/{bad_id}"))), None);
        assert_eq!(status, 404, "{bad_id}");
    }
    let exp = runs[0]["id"].as_str().expect("id");
    let (status, r) = send(a.get(&s.url(&format!("/api/runs/{exp}"))), None);
    assert_eq!(status, 200);
    let d = json_of(r);
    assert_eq!(d["results"].as_array().expect("rows").len(), 3);
    assert_eq!(d["runs"], json!([runs[1]["id"]]));
}

#[test]
fn a_token_is_needed_when_set() {
    let token = "studio-token-0123456";
    let s = TestServer::start(StudioOptions {
        token: AdminToken::from_text(token),
        ..options(None)
    });
    let a = agent();
    assert_eq!(send(a.get(&s.url("/api/styles")), None).0, 401);
    assert_eq!(
        send(
            a.get(&s.url("/api/styles"))
                .set("Authorization", "Bearer wrong-token-000000"),
            None
        )
        .0,
        403
    );
    let (status, r) = send(
        a.get(&s.url("/api/styles"))
            .set("Authorization", &format!("Bearer {token}")),
        None,
    );
    assert_eq!(status, 200);
    let styles = json_of(r);
    assert_eq!(styles["styles"].as_array().expect("styles").len(), 4);
    // The link with the token sets a cookie and leaves the address bar clean.
    let (status, r) = send(a.get(&s.url(&format!("/?token={token}"))), None);
    assert_eq!(status, 303);
    let cookie = r.header("set-cookie").expect("cookie").to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let pair = cookie.split(';').next().expect("pair");
    assert_eq!(send(a.get(&s.url("/")).set("Cookie", pair), None).0, 200);
}

/// One worker: the second job waits behind the first, the third is refused when the queue
/// holds one waiting job at most, and progress is reported by the client's id.
#[test]
fn queue_runs_one_job_per_worker_and_bounds_the_wait() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let q = Arc::new(JobQueue::new(1, 1, Duration::from_secs(60)));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let q = q.clone();
            tokio::spawn(async move {
                q.run(Some("first-job".into()), move |_| {
                    release_rx.recv().expect("release");
                    Ok(1)
                })
                .await
            })
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while q.state("first-job") != Some(JobState::Running { done: 0, total: 0 }) {
            assert!(Instant::now() < deadline, "first job never ran");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let second = {
            let q = q.clone();
            tokio::spawn(async move { q.run(Some("second-job".into()), |_| Ok(2)).await })
        };
        while q.state("second-job").is_none() {
            assert!(Instant::now() < deadline, "second job never queued");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(q.state("second-job"), Some(JobState::Queued { ahead: 0 }));
        let third = q.run(Some("third-job".into()), |_| Ok(3)).await;
        assert!(matches!(third, Err(StudioError::QueueFull(1))), "{third:?}");
        release_tx.send(()).expect("release");
        assert_eq!(first.await.expect("join").expect("first"), 1);
        assert_eq!(second.await.expect("join").expect("second"), 2);
        assert!(q.state("first-job").is_none() && q.state("second-job").is_none());
    });
}

// ---------------------------------------------------------------- browser

fn artifacts_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts/studio");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

fn browser_bins() -> Option<(PathBuf, PathBuf)> {
    let required = std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("TOONGAN_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let chromium = PathBuf::from(
        std::env::var("TOONGAN_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    let driver = PathBuf::from(
        std::env::var("TOONGAN_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()),
    );
    for (p, what) in [(&chromium, "chromium"), (&driver, "chromedriver")] {
        if !p.is_file() {
            let msg = format!(
                "{what} not found at {}: install it with `apt-get install -y chromium chromium-driver` \
                 (or set TOONGAN_CHROMIUM / TOONGAN_CHROMEDRIVER)",
                p.display()
            );
            assert!(
                !required,
                "{msg} (required: CI=true or TOONGAN_REQUIRE_BROWSER=1)"
            );
            eprintln!("SKIPPED the studio browser test: {msg}");
            return None;
        }
    }
    Some((chromium, driver))
}

/// Kills chromedriver (and with it the browser) when the test ends, pass or fail.
struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn connect(port: u16, caps: serde_json::Map<String, Value>) -> fantoccini::Client {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(caps.clone())
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        {
            Ok(c) => return c,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start a chromium session through chromedriver: {e}"),
        }
    }
}

async fn wait_for(c: &fantoccini::Client, script: &str, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = c.execute(script, vec![]).await.expect("execute");
        if !(v.is_null() || v == Value::Bool(false)) {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn shot(c: &fantoccini::Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(artifacts_dir().join(name), png).expect("save screenshot");
}

/// Drops a photo (sets the file input), picks two styles, waits for both results, checks the
/// zip the page fetches holds both PNGs at the photo's size; then watches a run's curve grow
/// while metrics are appended, and opens an experiment's report.
async fn cartoonize_in_browser(c: &fantoccini::Client, s: &TestServer, photo: &Path, tag: &str) {
    use fantoccini::Locator::Css;
    c.goto(&s.url("/#cartoonize")).await.expect("open page");
    wait_for(
        c,
        "return document.querySelectorAll('#style-list input').length === 4",
        "the styles",
    )
    .await;
    c.find(Css("#files"))
        .await
        .expect("file input")
        .send_keys(photo.to_str().expect("utf-8"))
        .await
        .expect("set file");
    wait_for(
        c,
        "return document.querySelectorAll('#picked .thumb img').length === 1",
        "the picked photo",
    )
    .await;
    // Exactly two styles: Hayao (checked by default) and Shinkai.
    for chip in c
        .find_all(Css("#style-list label.chip"))
        .await
        .expect("chips")
    {
        let text = chip.text().await.expect("text");
        let input = chip.find(Css("input")).await.expect("input");
        let checked = input.prop("checked").await.expect("prop").as_deref() == Some("true");
        if checked != (text == "Hayao" || text == "Shinkai") {
            chip.click().await.expect("click chip");
        }
    }
    let checked = c
        .execute("return [...document.querySelectorAll('#style-list input:checked')].map(i => i.value).join(' ')", vec![])
        .await
        .expect("checked");
    assert_eq!(checked, json!("style=hayao style=shinkai"));
    c.find(Css("#go"))
        .await
        .expect("go")
        .click()
        .await
        .expect("click go");
    wait_for(
        c,
        "return document.querySelectorAll('.card.done').length === 2 && [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)",
        "two results",
    )
    .await;
    let failed = c.find_all(Css(".card.failed")).await.expect("failed");
    assert!(failed.is_empty());
    // Move one slider so the screenshot shows the before/after split off-centre.
    c.execute("const r = document.querySelector('.compare input'); r.value = 35; r.dispatchEvent(new Event('input'));", vec![])
        .await
        .expect("slide");
    shot(c, &format!("studio-cartoonize-{tag}.png")).await;
    c.find(Css("#zip"))
        .await
        .expect("zip")
        .click()
        .await
        .expect("click zip");
    wait_for(c, "return !!window.studioLastZip", "the zip").await;
    let b64 = c
        .execute_async(
            "const done = arguments[arguments.length - 1]; const r = new FileReader(); r.onload = () => done(r.result.split(',')[1]); r.readAsDataURL(window.studioLastZip);",
            vec![],
        )
        .await
        .expect("read zip");
    let zip_bytes = base64_decode(b64.as_str().expect("base64"));
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).expect("a zip file");
    let mut names = Vec::new();
    let (pw, ph) = image::image_dimensions(photo).expect("photo size");
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).expect("entry");
        names.push(f.name().to_string());
        let mut png = Vec::new();
        f.read_to_end(&mut png).expect("entry bytes");
        let img = image::load_from_memory(&png).expect("entry is an image");
        assert_eq!((img.width(), img.height()), (pw, ph));
    }
    names.sort();
    assert_eq!(names, ["photo_hayao.png", "photo_shinkai.png"]);
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut out = Vec::new();
    for chunk in s.trim_end_matches('=').as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

#[test]
fn browser_cartoonizes_two_styles_downloads_the_zip_and_watches_a_run() {
    let Some((chromium, driver_bin)) = browser_bins() else {
        return;
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("tmp");
    let photo = small_photo("castle.jpg", 320, &tmp.path().join("photo.png"));
    let root = tmp.path().join("runs");
    let run = make_runs(&root);
    let s = TestServer::start(options(Some(&root)));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let _driver = Driver(
        std::process::Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let profile = tempfile::tempdir().expect("profile");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        use fantoccini::Locator::Css;
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "mobileEmulation": {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 1.0, "touch": true}}
            }),
        );
        let c = connect(port, caps.clone()).await;
        cartoonize_in_browser(&c, &s, &photo, "phone").await;
        c.goto(&s.url("/#runs")).await.expect("runs");
        wait_for(&c, "return document.querySelectorAll('#run-list button').length === 3", "the runs list").await;
        shot(&c, "studio-runs-phone.png").await;
        c.close().await.expect("close");

        let opts = caps.get_mut("goog:chromeOptions").expect("options");
        opts.as_object_mut().expect("object").remove("mobileEmulation");
        opts["args"].as_array_mut().expect("args").push(json!("--window-size=1280,900"));
        let c = connect(port, caps).await;
        cartoonize_in_browser(&c, &s, &photo, "desktop").await;

        // Runs page: the curve grows while metrics are appended.
        c.goto(&s.url("/#runs")).await.expect("runs");
        wait_for(&c, "return document.querySelectorAll('#run-list button').length === 3", "the runs list").await;
        let buttons = c.find_all(Css("#run-list button")).await.expect("buttons");
        let mut clicked = false;
        for b in buttons {
            if b.text().await.expect("text").ends_with("try") {
                b.click().await.expect("open run");
                clicked = true;
                break;
            }
        }
        assert!(clicked, "the run 'try' is listed");
        wait_for(&c, "const s = document.querySelector('#loss-chart svg'); return s && s.dataset.points === '3' && document.querySelectorAll('#loss-chart path.series').length === 3", "the first 3 points").await;
        let mut last_len = 0;
        for round in 1..=3 {
            write_metrics(&run, (3 + (round - 1) * 5)..(3 + round * 5));
            let want = 3 + round * 5;
            wait_for(&c, &format!("const s = document.querySelector('#loss-chart svg'); return s && s.dataset.points === '{want}'"), &format!("{want} points")).await;
            let d = c
                .execute("return document.querySelector('#loss-chart path.series').getAttribute('d').length", vec![])
                .await
                .expect("path");
            let len = d.as_u64().expect("length");
            assert!(len > last_len, "the curve grew ({len} > {last_len})");
            last_len = len;
        }
        grid_png(&run.join("samples/epoch-002_step-000000018.png"), 128, 192, 120);
        wait_for(&c, "const r = document.querySelector('.samples input[type=range]'); return r && r.max === '1' && document.querySelector('.samples img').complete", "the new sample grid").await;
        let step = c.find(Css(".stats")).await.expect("stats").text().await.expect("text");
        assert!(step.contains("step 17"), "{step}");
        shot(&c, "studio-run-desktop.png").await;

        // The experiment's report.
        let exp_button = c.find(Css("#run-list > li > button")).await.expect("experiment");
        exp_button.click().await.expect("open experiment");
        wait_for(&c, "return document.querySelectorAll('#results-table tr').length === 3 && [...document.querySelectorAll('.report img')].every(i => i.complete && i.naturalWidth > 0)", "the experiment report").await;
        shot(&c, "studio-experiment-desktop.png").await;
        c.close().await.expect("close");
    });
    eprintln!("browser test took {:.1} s", started.elapsed().as_secs_f64());
}
