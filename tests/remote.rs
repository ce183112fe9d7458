//! Remote inputs against real servers on loopback, started here: nginx (Debian's) serving
//! the fixtures over HTTP with ranges, moto's S3 server for `s3://` with listing, and
//! tests/remote/faults.py for servers that misbehave. Reading a file over the network
//! must give exactly what reading it from disk gives, or a clear exit-2 error.
#![cfg(feature = "remote")]

mod common;

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{fixture, root};

struct Servers {
    /// `http://127.0.0.1:PORT/` serving `fixtures/`.
    nginx: String,
    /// `http://127.0.0.1:PORT`, moto's S3.
    s3: String,
    /// `http://127.0.0.1:PORT/`, tests/remote/faults.py serving `fixtures/`.
    faults: String,
    /// Where the servers keep their files (and the big artifacts built here).
    dir: PathBuf,
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn wait_for(port: u16, what: &str) {
    let began = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts a server that dies with this test process (not with the test's thread: the
/// servers are started from a thread that lives as long as the process).
fn spawn(mut command: Command) -> std::io::Result<std::process::Child> {
    // SAFETY: prctl is async-signal-safe; the closure touches nothing else.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command.stdout(Stdio::null()).stderr(Stdio::null()).spawn()
}

fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("nginx is not installed: scripts/test.sh installs Debian's nginx-light")
}

fn start() -> Servers {
    let dir = tempfile::Builder::new()
        .prefix("artifact-remote-")
        .tempdir()
        .unwrap()
        .keep();
    let fixtures = root().join("fixtures");
    let nginx_port = free_port();
    let conf = dir.join("nginx.conf");
    let tmp = dir.display();
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {tmp}/body;\n  proxy_temp_path {tmp}/proxy;\n  fastcgi_temp_path {tmp}/fastcgi;\n  uwsgi_temp_path {tmp}/uwsgi;\n  scgi_temp_path {tmp}/scgi;\n  server {{\n    listen 127.0.0.1:{nginx_port};\n    location /big/ {{ alias {tmp}/big/; }}\n    location /moved/ {{ rewrite ^/moved/(.*)$ /$1 redirect; }}\n    location / {{ root {}; }}\n  }}\n}}\n",
            fixtures.display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("big")).unwrap();
    let s3_port = free_port();
    let python = common::python();
    let moto = python.parent().unwrap().join("moto_server");
    let port_file = dir.join("faults.port");
    let (tx, rx) = std::sync::mpsc::channel();
    let (conf2, port_file2, fixtures2) = (conf.clone(), port_file.clone(), fixtures.clone());
    std::thread::spawn(move || {
        let mut nginx = Command::new(nginx_binary());
        nginx.arg("-c").arg(&conf2).arg("-e").arg("stderr");
        let mut s3 = Command::new(&moto);
        s3.args(["-H", "127.0.0.1", "-p", &s3_port.to_string()]);
        let mut faults = Command::new(&python);
        faults
            .arg(root().join("tests/remote/faults.py"))
            .arg(&fixtures2)
            .arg(&port_file2);
        let children: Vec<_> = [nginx, s3, faults].into_iter().map(spawn).collect();
        tx.send(children.iter().all(Result::is_ok)).unwrap();
        // The children die with the process, which this thread outlives only by exiting.
        loop {
            std::thread::park();
        }
    });
    assert!(
        rx.recv().unwrap(),
        "could not start nginx, moto_server or faults.py"
    );
    wait_for(nginx_port, "nginx");
    wait_for(s3_port, "moto_server");
    let began = Instant::now();
    let faults_port = loop {
        if let Ok(port) = std::fs::read_to_string(&port_file) {
            break port.trim().parse::<u16>().unwrap();
        }
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "faults.py did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    Servers {
        nginx: format!("http://127.0.0.1:{nginx_port}/"),
        s3: format!("http://127.0.0.1:{s3_port}"),
        faults: format!("http://127.0.0.1:{faults_port}/"),
        dir,
    }
}

fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(start)
}

/// `artifact ARGS` in the repository, with moto's endpoint and test credentials.
fn run(args: &[&str]) -> Output {
    run_with_block(args, None)
}

/// [`run`], with remote fetches in blocks of `block` bytes (ARTIFACT_TEST_BLOCK_SIZE).
fn run_with_block(args: &[&str], block: Option<u64>) -> Output {
    let mut command = common::artifact();
    if let Some(block) = block {
        command.env("ARTIFACT_TEST_BLOCK_SIZE", block.to_string());
    }
    command
        .current_dir(root())
        .args(args)
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", &servers().s3)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap()
}

/// Every `AWS_` variable of this process, to take away from a child.
fn aws_vars() -> Vec<String> {
    std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("AWS_"))
        .collect()
}

/// Runs Python with boto3 against moto: `code` gets `s3` (a client) and `sys.argv`.
fn boto(code: &str, args: &[&str]) {
    let python = common::python();
    let out = Command::new(python)
        .arg("-c")
        .arg(format!(
            "import sys, os, boto3\ns3 = boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL'])\n{code}"
        ))
        .args(args)
        .env("AWS_ENDPOINT_URL", &servers().s3)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Uploads files to `s3://bucket/prefix<name>` (the bucket is made if need be).
fn upload(bucket: &str, prefix: &str, files: &[PathBuf]) {
    let mut args = vec![bucket.to_string(), prefix.to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    boto(
        "b, prefix = sys.argv[1], sys.argv[2]\n\
         if b not in [x['Name'] for x in s3.list_buckets()['Buckets']]:\n    s3.create_bucket(Bucket=b)\n\
         for p in sys.argv[3:]:\n    s3.upload_file(p, b, prefix + os.path.basename(p))",
        &args,
    );
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--stats`'s bytes and requests.
fn stats(out: &Output) -> (u64, u64) {
    let (_, err) = text(out);
    let line = err
        .lines()
        .find(|l| l.starts_with("stats: fetched "))
        .unwrap_or_else(|| panic!("no stats line in {err}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let bytes = words[2].parse().unwrap();
    let at = words.iter().position(|w| *w == "requests").unwrap();
    (bytes, words[at - 1].parse().unwrap())
}

fn fixture_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["artifacts", "attacks"] {
        for entry in std::fs::read_dir(root().join("fixtures").join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root().join("fixtures"))
        .unwrap()
        .display()
        .to_string()
}

/// The same command on a file and on its URL: same exit code, same output but for the
/// name.
fn assert_same(args: &[&str], local: &str, url: &str) {
    assert_same_in_blocks(args, local, url, None);
}

fn assert_same_in_blocks(args: &[&str], local: &str, url: &str, block: Option<u64>) {
    let with = |target: &str| {
        let mut a: Vec<&str> = args.to_vec();
        a.push(target);
        run_with_block(&a, block)
    };
    let (l, r) = (with(local), with(url));
    let (r_out, r_err) = text(&r);
    let (l_out, l_err) = text(&l);
    assert_eq!(
        (l.status.code(), l_out, l_err),
        (
            r.status.code(),
            r_out.replace(url, local),
            r_err.replace(url, local)
        ),
        "`artifact {}` differs between {local} and {url}",
        args.join(" ")
    );
}

#[test]
fn every_fixture_reads_over_http_as_it_reads_from_disk() {
    let s = servers();
    for file in fixture_files() {
        let rel = relative(&file);
        let local = format!("fixtures/{rel}");
        let url = format!("{}{rel}", s.nginx);
        for args in [
            &["check", "--format", "json"][..],
            &["inspect", "--format", "json"],
            &["dis"],
        ] {
            assert_same(args, &local, &url);
        }
    }
}

#[test]
fn every_fixture_reads_the_same_through_many_holes() {
    // 512-byte blocks: the fixtures are small enough that 64 KiB blocks fetch most of
    // each; in 512-byte ones most of a file is holes until something asks for it, so a
    // reader that reads bytes it never asked for differs from the file on disk.
    let s = servers();
    for file in fixture_files() {
        let rel = relative(&file);
        let (local, url) = (format!("fixtures/{rel}"), format!("{}{rel}", s.nginx));
        for args in [
            &["check", "--format", "json"][..],
            &["inspect", "--format", "json"],
        ] {
            assert_same_in_blocks(args, &local, &url, Some(512));
        }
    }
}

#[test]
fn a_large_array_is_skipped_not_fetched() {
    let s = servers();
    let big = s.dir.join("big").join("array.joblib");
    let size: u64 = 512 << 20;
    common::python_script(
        &root().join("tests/remote/big_joblib.py"),
        &[&big, Path::new(&size.to_string())],
    );
    let url = format!("{}big/array.joblib", s.nginx);
    let out = run(&["--stats", "inspect", "--format", "json", &url]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let (bytes, requests) = stats(&out);
    assert!(bytes < 1 << 20, "fetched {bytes} bytes of {size}");
    assert!(requests <= 4, "{requests} requests");
    let json = common::json(&out);
    assert_eq!(json["artifacts"][0]["arrays"]["total_bytes"], size);
    // On S3 alike (a smaller one: moto keeps objects in memory).
    let small = s.dir.join("big").join("array64.joblib");
    common::python_script(
        &root().join("tests/remote/big_joblib.py"),
        &[&small, Path::new(&(64u64 << 20).to_string())],
    );
    upload("big", "", std::slice::from_ref(&small));
    let out = run(&["--stats", "check", "s3://big/array64.joblib"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let (bytes, _) = stats(&out);
    assert!(bytes < 1 << 20, "fetched {bytes} bytes of 64 MiB over S3");
    for file in [big, small] {
        std::fs::remove_file(file).unwrap();
    }
}

#[test]
fn an_s3_prefix_is_listed_and_checked_like_a_folder() {
    let files: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/artifacts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    upload("registry", "models/", &files);
    let local = run(&["check", "--format", "json", "fixtures/artifacts/"]);
    let remote = run(&["check", "--format", "json", "s3://registry/models/"]);
    let (l_out, _) = text(&local);
    let (r_out, _) = text(&remote);
    assert_eq!(local.status.code(), remote.status.code());
    assert_eq!(
        l_out,
        r_out.replace("s3://registry/models/", "fixtures/artifacts/")
    );
    assert!(r_out.contains("s3://registry/models/credit_ct_xgb.joblib"));
}

#[test]
fn faults_end_in_the_right_answer_or_a_clear_error() {
    let s = servers();
    for name in [
        "artifacts/credit_ct_xgb.joblib",
        "artifacts/ct_logreg.joblib.gz",
        "artifacts/skops_credit.skops",
        "artifacts/sec_stack_global_memo.p4.pkl",
    ] {
        let local = format!("fixtures/{name}");
        for mode in ["ok", "drop-once", "flaky", "norange"] {
            let url = format!("{}{mode}/{name}", s.faults);
            assert_same(&["check", "--format", "json"], &local, &url);
        }
        for mode in ["drop", "lie", "stall"] {
            let url = format!("{}{mode}/{name}", s.faults);
            let began = Instant::now();
            let out = run(&["--remote-timeout", "2", "check", &url]);
            let took = began.elapsed();
            let (stdout, stderr) = text(&out);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{mode} {name}: {stdout}{stderr}"
            );
            assert!(
                stdout.contains(&url),
                "{mode}: the error names the URL: {stdout}"
            );
            assert!(took < Duration::from_secs(20), "{mode} took {took:?}");
        }
    }
}

#[test]
fn a_compressed_artifact_is_decoded_from_one_get() {
    let s = servers();
    // Larger than the first block: opening fetches that, the decoder streams the rest
    // from a second GET.
    let big = s.dir.join("big").join("random.joblib.gz");
    common::python_code(
        "import sys, joblib, numpy as np\n\
         joblib.dump(np.random.default_rng(0).random(200_000), sys.argv[1], compress=3)",
        &[&big],
    );
    let url = format!("{}big/random.joblib.gz", s.nginx);
    let out = run(&["--stats", "inspect", &url]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let size = std::fs::metadata(&big).unwrap().len();
    assert!(size > 1 << 20);
    assert_eq!(stats(&out), (size, 2), "the first block, then one stream");
    assert_same(
        &["inspect", "--format", "json"],
        big.to_str().unwrap(),
        &url,
    );
    std::fs::remove_file(big).unwrap();
}

#[test]
fn patch_and_verify_read_a_remote_input_and_write_locally() {
    upload("patching", "", &[fixture("credit_ct_xgb.joblib")]);
    let url = "s3://patching/credit_ct_xgb.joblib";
    let dir = tempfile::tempdir().unwrap();
    let (remote_out, local_out) = (dir.path().join("r.joblib"), dir.path().join("l.joblib"));
    let out = run(&["patch", url, "--fix", "-o", remote_out.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let out = run(&[
        "patch",
        fixture("credit_ct_xgb.joblib").to_str().unwrap(),
        "--fix",
        "-o",
        local_out.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read(&remote_out).unwrap(),
        std::fs::read(&local_out).unwrap()
    );
    for refused in [
        &["patch", url, "--fix"][..],
        &["patch", url, "--fix", "--in-place"],
    ] {
        let out = run(refused);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out).1.contains("never written"), "{:?}", text(&out));
    }
    // diff fetches the arrays it compares: the same differences as from disk.
    let local = fixture("credit_ct_xgb.joblib");
    let (l, r) = (
        run(&["diff", local.to_str().unwrap(), local_out.to_str().unwrap()]),
        run(&["diff", url, remote_out.to_str().unwrap()]),
    );
    assert_eq!(l.status.code(), Some(1));
    assert_eq!(
        (l.status.code(), text(&l).0),
        (
            r.status.code(),
            text(&r).0.replace(url, local.to_str().unwrap())
        )
    );
    let python = common::python();
    let out = run(&[
        "verify",
        url,
        remote_out.to_str().unwrap(),
        "--data",
        "fixtures/data/credit_sample.csv",
        "--python",
        python.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
}

#[test]
fn a_missing_object_is_a_clear_error() {
    let s = servers();
    upload("present", "", &[fixture("kmeans.p5.pkl")]);
    for url in [
        format!("{}artifacts/no-such-model.pkl", s.nginx),
        "s3://present/no-such-model.pkl".to_string(),
        "s3://no-such-bucket/model.pkl".to_string(),
    ] {
        for command in ["inspect", "check", "dis"] {
            let out = run(&[command, &url]);
            let (stdout, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(2), "{command} {url}");
            let said = format!("{stdout}{stderr}");
            assert!(said.contains(&url), "{command}: {said}");
            assert!(said.contains("not found"), "{command}: {said}");
        }
    }
}

#[test]
fn a_redirect_is_followed() {
    let s = servers();
    let rel = "artifacts/credit_ct_xgb.joblib";
    let url = format!("{}moved/{rel}", s.nginx);
    assert_same(
        &["check", "--format", "json"],
        &format!("fixtures/{rel}"),
        &url,
    );
}

#[test]
fn a_file_joblib_cannot_decode_is_judged_as_pickle_load_reads_it() {
    // `BZ` then a pickle: joblib takes it for bz2 and fails to decode it; `pickle.load`
    // reads BINBYTES, then the pickle that calls os.system. Over HTTP as from disk: the
    // gate fails. And a truncated gzip that imports nothing: refused alike.
    let s = servers();
    let mut data = b"BZ\x00\x00\x00".to_vec();
    data.extend_from_slice(&[b'x'; 90]);
    data.extend_from_slice(b"0cos\nsystem\n(S'echo pwned'\ntR.");
    let hostile = s.dir.join("big").join("weights.dat");
    std::fs::write(&hostile, data).unwrap();
    let gz = std::fs::read(fixture("ct_logreg.joblib.gz")).unwrap();
    let truncated = s.dir.join("big").join("truncated.joblib.gz");
    std::fs::write(&truncated, &gz[..gz.len() / 2]).unwrap();
    for (file, name) in [
        (&hostile, "weights.dat"),
        (&truncated, "truncated.joblib.gz"),
    ] {
        let url = format!("{}big/{name}", s.nginx);
        assert_same(
            &["check", "--isolated", "--format", "json"],
            file.to_str().unwrap(),
            &url,
        );
    }
    let out = run(&[
        "check",
        "--isolated",
        &format!("{}big/weights.dat", s.nginx),
    ]);
    assert_ne!(out.status.code(), Some(0), "{:?}", text(&out));
}

#[test]
fn an_aws_profile_supplies_keys_region_and_endpoint() {
    let s = servers();
    upload("profiled", "", &[fixture("kmeans.p5.pkl")]);
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    let config = dir.path().join("config");
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = nope\n[ci]\naws_access_key_id = test\naws_secret_access_key = test\n",
    )
    .unwrap();
    std::fs::write(
        &config,
        format!(
            "[profile ci]\nregion = us-east-1\nendpoint_url = {}\n",
            s.s3
        ),
    )
    .unwrap();
    let mut command = common::artifact();
    for var in aws_vars() {
        command.env_remove(var);
    }
    let out = command
        .args([
            "--remote-timeout",
            "5",
            "check",
            "s3://profiled/kmeans.p5.pkl",
        ])
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_PROFILE", "ci")
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    // kmeans.p5.pkl has a KMeans whose threads the gate reports: read, not an error.
    assert_ne!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("s3://profiled/kmeans.p5.pkl"), "{stdout}");
}

#[test]
fn a_skops_member_read_whole_is_fetched_whole() {
    // A skops file whose booster blob and schema lie past the blocks that opening and the
    // zip directory fetch: skops's reader reads them through, not a lexer, and must get
    // every byte (zeros would drop the booster's 14 threads without a word).
    let s = servers();
    let model = s.dir.join("big").join("xgb.skops");
    common::python_code(
        "import sys, numpy as np, skops.io as sio\n\
         from sklearn.pipeline import Pipeline\n\
         from sklearn.preprocessing import StandardScaler\n\
         from xgboost import XGBClassifier\n\
         rng = np.random.default_rng(0)\n\
         X = rng.random((2000, 50)); y = (X[:, 0] > 0.5).astype(int)\n\
         m = Pipeline([('scale', StandardScaler()), ('xgb', XGBClassifier(n_estimators=3000, max_depth=6, n_jobs=14))])\n\
         sio.dump(m.fit(X, y), sys.argv[1])",
        &[&model],
    );
    // The booster blob (~2.3 MiB) lies mostly outside what opening, the zip directory
    // and the members' peeks fetch.
    assert!(std::fs::metadata(&model).unwrap().len() > 2 << 20);
    let url = format!("{}big/xgb.skops", s.nginx);
    let local = model.to_str().unwrap();
    assert_same(&["check", "--format", "json"], local, &url);
    assert_same(&["inspect", "--format", "json"], local, &url);
    let out = run(&["inspect", &url]);
    assert!(text(&out).0.contains("nthread"), "{}", text(&out).0);
    std::fs::remove_file(model).unwrap();
}
