//! Style downloads against a local HTTP server (started here on 127.0.0.1, serving the
//! published files from the shared weights folder): an interrupted download resumes without
//! refetching what it has, a file with a wrong hash is refused and not kept, a 429 is retried,
//! and pretrained networks are taken from `$TORCH_HOME/hub/checkpoints` and verified.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{stderr, weights_dir};
use toongan::weights::{
    NetStatus, PretrainedNet, PretrainedRegistry, RetryPolicy, Style, StyleRegistry, StyleStatus,
    sha256_file, style_status,
};

/// What the server does; changed by the test between runs.
#[derive(Default)]
struct Script {
    /// Paths requested, in order.
    log: Vec<String>,
    /// After this many files served, answer 503 to everything.
    fail_after: Option<usize>,
    served: usize,
    /// Paths served with one byte flipped.
    corrupt: Vec<String>,
    /// Paths answered 429 (Retry-After: 0) this many times first.
    rate_limited: HashMap<String, usize>,
}

/// A tiny HTTP/1.1 file server: `GET /<style>/<file>.npy` from `root`.
struct Server {
    url: String,
    script: Arc<Mutex<Script>>,
}

impl Server {
    fn start(root: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(Script::default()));
        let shared = script.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &root, &shared);
            }
        });
        Server { url, script }
    }

    fn requests_of(&self, path: &str) -> usize {
        let s = self.script.lock().unwrap();
        s.log.iter().filter(|p| *p == path).count()
    }
}

fn serve(mut stream: TcpStream, root: &Path, script: &Mutex<Script>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
    }
    let (status, extra, body) = {
        let mut s = script.lock().unwrap();
        s.log.push(path.clone());
        let file = root.join(path.trim_start_matches('/'));
        if let Some(n) = s.rate_limited.get_mut(&path).filter(|n| **n > 0) {
            *n -= 1;
            ("429 Too Many Requests", "Retry-After: 0\r\n", Vec::new())
        } else if s.fail_after.is_some_and(|n| s.served >= n) {
            ("503 Service Unavailable", "", Vec::new())
        } else if let Ok(mut bytes) = std::fs::read(&file) {
            s.served += 1;
            if s.corrupt.contains(&path) {
                let last = bytes.len() - 1;
                bytes[last] ^= 0x01;
            }
            ("200 OK", "", bytes)
        } else {
            ("404 Not Found", "", Vec::new())
        }
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    stream.flush()
}

fn registry(server: &Server, cache: &Path) -> StyleRegistry {
    StyleRegistry {
        weights_dir: None,
        cache_dir: Some(cache.to_path_buf()),
        allow_download: true,
        base_url: server.url.clone(),
        retry: RetryPolicy {
            retries: 2,
            backoff: Duration::from_millis(5),
        },
    }
}

#[test]
fn an_interrupted_style_download_resumes_without_refetching() {
    let server = Server::start(weights_dir());
    let cache = tempfile::tempdir().unwrap();
    let reg = registry(&server, cache.path());
    server.script.lock().unwrap().fail_after = Some(30);
    let err = reg.locate(Style::Hayao).unwrap_err().to_string();
    assert!(err.contains("503"), "{err}");
    // The message points at a page a person can open, not a raw folder URL.
    assert!(
        err.contains("github.com/mnicnc404/CartoonGan-tensorflow/tree/"),
        "{err}"
    );
    let dir = cache.path().join("hayao");
    assert_eq!(
        style_status(Style::Hayao, &dir),
        StyleStatus::Partial {
            present: 30,
            total: 94
        }
    );
    let first: Vec<String> = server.script.lock().unwrap().log[..30].to_vec();

    server.script.lock().unwrap().fail_after = None;
    let got = reg.locate(Style::Hayao).unwrap();
    assert_eq!(got, dir);
    assert_eq!(
        style_status(Style::Hayao, &dir),
        StyleStatus::Complete { bad: vec![] }
    );
    for path in &first {
        assert_eq!(server.requests_of(path), 1, "{path} was fetched again");
    }
    // Complete now: a third call touches the network not at all.
    let before = server.script.lock().unwrap().log.len();
    reg.locate(Style::Hayao).unwrap();
    assert_eq!(server.script.lock().unwrap().log.len(), before);
}

#[test]
fn a_file_with_a_wrong_hash_is_refused_and_not_kept() {
    let server = Server::start(weights_dir());
    let cache = tempfile::tempdir().unwrap();
    let reg = registry(&server, cache.path());
    let victim = "/shinkai/conv03_1.weight.npy";
    server.script.lock().unwrap().corrupt.push(victim.into());
    let err = reg.locate(Style::Shinkai).unwrap_err().to_string();
    assert!(
        err.contains("conv03_1.weight.npy") && err.contains("SHA-256"),
        "{err}"
    );
    let dir = cache.path().join("shinkai");
    assert!(!dir.join("conv03_1.weight.npy").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".npy"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    // Not retried: a wrong file is not a transient error.
    assert_eq!(server.requests_of(victim), 1);
}

#[test]
fn a_rate_limited_request_is_retried() {
    let server = Server::start(weights_dir());
    let cache = tempfile::tempdir().unwrap();
    let reg = registry(&server, cache.path());
    let path = "/paprika/in05_2.shift.npy";
    server
        .script
        .lock()
        .unwrap()
        .rate_limited
        .insert(path.into(), 2);
    reg.locate(Style::Paprika).unwrap();
    assert_eq!(server.requests_of(path), 3);
    assert_eq!(
        style_status(Style::Paprika, &cache.path().join("paprika")),
        StyleStatus::Complete { bad: vec![] }
    );
}

#[test]
fn weights_fetch_and_list_through_the_command_line() {
    let server = Server::start(weights_dir());
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_toongan"));
        cmd.args(args)
            .env("XDG_CACHE_HOME", tmp.path())
            .env("TORCH_HOME", tmp.path().join("torch"))
            .env_remove("TOONGAN_WEIGHTS_DIR")
            .env_remove("TOONGAN_WEIGHTS_URL")
            .env_remove("TOONGAN_OFFLINE");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    // Offline: nothing is fetched, and the error says so.
    let out = run(&["weights", "fetch", "hosoda", "--offline"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--offline"), "{}", stderr(&out));
    assert!(server.script.lock().unwrap().log.is_empty());

    let out = run(
        &["weights", "fetch", "hosoda", "--weights-url", &server.url],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.script.lock().unwrap().log.len(), 94);
    // The same mirror through the environment variable; nothing left to fetch.
    let out = run(
        &["weights", "fetch", "hosoda"],
        &[("TOONGAN_WEIGHTS_URL", &server.url)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.script.lock().unwrap().log.len(), 94);

    // A file named as torchvision's VGG19 in $TORCH_HOME/hub/checkpoints is found there and
    // verified (refused: it is not the published file).
    let hub = tmp.path().join("torch/hub/checkpoints");
    std::fs::create_dir_all(&hub).unwrap();
    std::fs::write(hub.join("vgg19-dcbb9e9d.pth"), b"not the real VGG19").unwrap();
    let out = run(&["weights", "list", "--offline"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line in:\n{text}"))
            .to_string()
    };
    assert!(line("hosoda").contains("verified"), "{text}");
    assert!(line("hayao").contains("absent"), "{text}");
    let vgg = line("vgg19 ");
    assert!(
        vgg.contains("CORRUPT") && vgg.contains(s(&hub.join("vgg19-dcbb9e9d.pth"))),
        "{text}"
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A deterministic stand-in for a `.pth` file (the real ones cannot be had here).
fn fixture_bytes() -> Vec<u8> {
    (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761u32) >> 13) as u8)
        .collect()
}

#[test]
fn pretrained_files_are_taken_from_torch_home_and_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = tmp.path().join("torch/hub/checkpoints");
    std::fs::create_dir_all(&hub).unwrap();
    let file = hub.join("vgg19-dcbb9e9d.pth");
    std::fs::write(&file, fixture_bytes()).unwrap();
    let sha = sha256_file(&file).unwrap();
    // The registry entry as it would be for this file (test-only override of the hash).
    let net = PretrainedNet {
        name: "vgg19".into(),
        file: "vgg19-dcbb9e9d.pth".into(),
        url: "http://127.0.0.1:9/never".into(),
        sha256: Some(sha.clone()),
        bytes: None,
        purpose: "test".into(),
    };
    let reg = PretrainedRegistry {
        nets: vec![net.clone()],
        search: vec![hub.clone(), tmp.path().join("cache")],
        download_dir: Some(tmp.path().join("cache")),
        allow_download: false,
        retry: RetryPolicy::default(),
    };
    assert_eq!(reg.status(&net), NetStatus::Verified(file.clone()));
    assert_eq!(reg.locate_name("vgg19").unwrap(), file);

    // Checked by the file-name prefix when no full hash is published (as torch.hub does).
    let prefixed = hub.join(format!("vgg19_bn-{}.pth", &sha[..8]));
    std::fs::copy(&file, &prefixed).unwrap();
    let by_prefix = PretrainedNet {
        name: "vgg19_bn".into(),
        file: prefixed.file_name().unwrap().to_string_lossy().into_owned(),
        sha256: None,
        ..net.clone()
    };
    let reg2 = PretrainedRegistry {
        nets: vec![by_prefix.clone()],
        ..reg.clone()
    };
    assert_eq!(reg2.locate_name("vgg19_bn").unwrap(), prefixed);

    // One changed byte: refused, with the path and what to do.
    let mut bytes = fixture_bytes();
    bytes[100] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let err = reg.locate_name("vgg19").unwrap_err().to_string();
    assert!(
        err.contains(s(&file)) && err.contains("SHA-256") && err.contains("weights fetch"),
        "{err}"
    );

    // Absent and offline: the error names the folders searched and the download address.
    std::fs::remove_file(&file).unwrap();
    let err = reg.locate_name("vgg19").unwrap_err().to_string();
    assert!(
        err.contains(s(&hub))
            && err.contains("--offline")
            && err.contains("http://127.0.0.1:9/never"),
        "{err}"
    );
}
