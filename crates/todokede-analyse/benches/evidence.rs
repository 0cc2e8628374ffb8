//! Evidence analysis throughput on generated logs with attacks at known positions, side by
//! side with the tools a user would otherwise run on the same files: `grep -c` (the floor),
//! `fail2ban-regex` with its sshd filter and `goaccess` (both on the first 1M lines: they are
//! two orders of magnitude slower), and `evtx_dump` for EVTX. Also the recall of the injected
//! attacks and the peak RSS of a whole run over the 1 GB sshd log (a child process).
//!
//! Run: `cargo bench -p todokede-analyse --bench evidence` (release). LINES (default
//! 10,000,000) sets the size; files are generated once into target/bench-logs.

use std::collections::BTreeSet;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use todokede_analyse::evidence;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn ip(i: u64) -> String {
    let x = (i as u32).wrapping_mul(2654435761);
    let [a, b, c, d] = x.to_be_bytes();
    format!("{}.{b}.{c}.{}", 23 + a % 170, 1 + d % 250)
}

const MONTHS: [&str; 3] = ["Oct", "Nov", "Dec"];

fn ts(i: u64, total: u64) -> String {
    let secs = i * (90 * 86400) / total.max(1);
    format!(
        "{} {:>2} {:02}:{:02}:{:02}",
        MONTHS[(secs / (30 * 86400)) as usize % 3],
        1 + (secs / 86400) % 30,
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

/// A sshd log: scanners guessing (invalid users, failed root), admins logging in with keys,
/// session noise; 20 attackers who fail 50 times and then get in, at known lines.
fn sshd_log(path: &Path, lines: u64) -> BTreeSet<String> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut r = Lcg(42);
    let mut attackers = BTreeSet::new();
    let users = ["admin", "test", "oracle", "postgres", "user", "ubuntu", "guest", "git", "pi", "support"];
    let mut i = 0;
    while i < lines {
        let t = ts(i, lines);
        let pid = 1000 + r.below(60000);
        if i % (lines / 20).max(60) == 30 && attackers.len() < 20 {
            let a = ip(9_000_000 + attackers.len() as u64);
            for k in 0..50 {
                writeln!(w, "{t} web01 sshd[{pid}]: Failed password for root from {a} port {} ssh2", 40000 + k)
                    .unwrap();
            }
            writeln!(w, "{t} web01 sshd[{pid}]: Accepted password for root from {a} port 40100 ssh2").unwrap();
            attackers.insert(a);
            i += 51;
            continue;
        }
        let src = ip(r.below(30_000) * r.below(4) + 1);
        match r.below(10) {
            0..=3 => writeln!(w, "{t} web01 sshd[{pid}]: Failed password for invalid user {} from {src} port {} ssh2", users[r.below(10) as usize], 1024 + r.below(60000)),
            4..=5 => writeln!(w, "{t} web01 sshd[{pid}]: Failed password for root from {src} port {} ssh2", 1024 + r.below(60000)),
            6 => writeln!(w, "{t} web01 sshd[{pid}]: Received disconnect from {src} port {}:11: Bye Bye [preauth]", 1024 + r.below(60000)),
            7 => writeln!(w, "{t} web01 sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={src}"),
            8 => writeln!(w, "{t} web01 sshd[{pid}]: Accepted publickey for deploy from 192.0.2.{} port {} ssh2: RSA SHA256:x9Zq", 10 + r.below(3), 1024 + r.below(60000)),
            _ => writeln!(w, "{t} web01 CRON[{pid}]: pam_unix(cron:session): session opened for user root by (uid=0)"),
        }
        .unwrap();
        i += 1;
    }
    w.flush().unwrap();
    attackers
}

/// A combined access log: site traffic and crawlers, with SQL injection (URL-encoded, some
/// double-encoded), webshell POSTs and wp-login brute force from known sources.
fn access_log(path: &Path, lines: u64) -> [BTreeSet<String>; 3] {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut r = Lcg(7);
    let mut sets: [BTreeSet<String>; 3] = Default::default();
    let pages = [
        "/",
        "/index.html",
        "/products/item.php?id=42",
        "/news/2019/10/",
        "/css/site.css",
        "/js/app.js",
        "/img/logo.png",
        "/contact/",
        "/search?q=%E8%A3%BD%E5%93%81",
    ];
    let agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 13_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ];
    for i in 0..lines {
        let secs = i * 90 * 86400 / lines;
        let t = format!(
            "{:02}/Nov/2019:{:02}:{:02}:{:02} +0900",
            1 + (secs / 86400) % 30,
            (secs / 3600) % 24,
            (secs / 60) % 60,
            secs % 60
        );
        let attack = i % 10_000;
        if attack == 17 {
            let a = ip(8_000_000 + i / 10_000 % 10);
            sets[0].insert(a.clone());
            let q = if i % 20_000 == 17 {
                "id=1%2527%2520UNION%2520SELECT%2520user,password%2520FROM%2520users--"
            } else {
                "id=1%27%20OR%201=1--"
            };
            writeln!(w, "{a} - - [{t}] \"GET /products/item.php?{q} HTTP/1.1\" 200 5123 \"-\" \"sqlmap/1.3.11#stable (http://sqlmap.org)\"").unwrap();
        } else if attack == 4711 {
            let a = ip(7_000_000 + i / 10_000 % 5);
            sets[1].insert(a.clone());
            writeln!(
                w,
                "{a} - - [{t}] \"POST /wp-content/uploads/2019/10/shell.php HTTP/1.1\" 200 312 \"-\" \"Mozilla/5.0\""
            )
            .unwrap();
        } else if attack < 3 {
            let a = ip(6_000_000 + i / 10_000 % 3);
            sets[2].insert(a.clone());
            writeln!(w, "{a} - - [{t}] \"POST /wp-login.php HTTP/1.1\" 200 4321 \"-\" \"Mozilla/5.0\"").unwrap();
        } else {
            writeln!(
                w,
                "{} - - [{t}] \"GET {} HTTP/1.1\" {} {} \"https://www.example.jp/\" \"{}\"",
                ip(r.below(200_000)),
                pages[r.below(9) as usize],
                [200, 200, 200, 304, 404][r.below(5) as usize],
                200 + r.below(40_000),
                agents[r.below(3) as usize]
            )
            .unwrap();
        }
    }
    w.flush().unwrap();
    sets
}

fn size_mb(p: &Path) -> f64 {
    std::fs::metadata(p).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0)
}

/// Seconds of a command, or None when it is not installed.
fn time_cmd(cmd: &mut Command) -> Option<(f64, String)> {
    let t = Instant::now();
    let out = cmd.output().ok()?;
    Some((t.elapsed().as_secs_f64(), String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("").to_owned()))
}

/// The first `n` lines of `src` into `dst`; returns how many lines it has.
fn head(src: &Path, dst: &Path, n: u64) -> u64 {
    let out = Command::new("head").arg("-n").arg(n.to_string()).arg(src).output().unwrap();
    std::fs::write(dst, &out.stdout).unwrap();
    out.stdout.iter().filter(|b| **b == b'\n').count() as u64
}

fn row(tool: &str, file: &str, lines: u64, mb: f64, secs: f64, note: &str) {
    println!("| {tool} | {file} | {lines} | {secs:.2} | {:.0} | {:.0} | {note} |", lines as f64 / secs, mb / secs);
}

fn main() {
    // Child mode: analyse one file and report peak RSS (the parent reads it from getrusage).
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "--child" {
        let f = std::fs::File::open(&args[3]).unwrap();
        let (n, _, _) = evidence::analyse(&args[2], std::io::BufReader::with_capacity(1 << 20, f)).unwrap();
        println!("{n}");
        return;
    }
    let lines: u64 = std::env::var("LINES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-logs");
    std::fs::create_dir_all(&dir).unwrap();
    let sshd = dir.join(format!("auth-{lines}.log"));
    let access = dir.join(format!("access-{lines}.log"));
    let marker = dir.join(format!("truth-{lines}.json"));
    let (attackers, web) = if marker.exists() {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&marker).unwrap()).unwrap();
        let set = |k: &str| {
            v[k].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect::<BTreeSet<String>>()
        };
        (set("ssh"), [set("sqli"), set("webshell"), set("wp_login")])
    } else {
        eprintln!("generating {lines}-line logs into {} …", dir.display());
        let a = sshd_log(&sshd, lines);
        let w = access_log(&access, lines);
        std::fs::write(
            &marker,
            serde_json::json!({"ssh": a, "sqli": w[0], "webshell": w[1], "wp_login": w[2]}).to_string(),
        )
        .unwrap();
        (a, w)
    };

    // Peak RSS over the whole sshd log, in a child, before any other child has run (getrusage
    // reports the largest child so far).
    let exe = std::env::current_exe().unwrap();
    let st = Command::new(&exe).args(["--child", "sshd"]).arg(&sshd).status().unwrap();
    assert!(st.success());
    // SAFETY: rusage is plain integers, for which all-zero is a valid value, and getrusage only
    // writes into the struct we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    println!(
        "peak RSS analysing the {:.0} MB sshd log (a child, run before any other): {:.0} MB\n",
        size_mb(&sshd),
        usage.ru_maxrss as f64 / 1024.0
    );

    println!("| tool | file | lines | seconds | lines/s | MB/s | note |\n|---|---|---|---|---|---|---|");
    // sshd
    let t = Instant::now();
    let (s, findings) =
        evidence::sshd::analyse(std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&sshd).unwrap()));
    let ours = t.elapsed().as_secs_f64();
    let found: BTreeSet<String> =
        findings.iter().filter(|f| f.kind == "ssh_login_after_failures").flat_map(|f| f.sources.clone()).collect();
    let recall = attackers.iter().filter(|a| found.contains(*a)).count();
    let extra = found.difference(&attackers).count();
    row(
        "todokede sshd",
        "auth.log",
        s.lines,
        size_mb(&sshd),
        ours,
        &format!("brute force that worked: {recall}/{} found, {extra} other", attackers.len()),
    );
    if let Some((g, _)) = time_cmd(Command::new("grep").arg("-c").arg("sshd").arg(&sshd)) {
        row(
            "grep -c sshd",
            "auth.log",
            s.lines,
            size_mb(&sshd),
            g,
            &format!("todokede takes {:.1}× grep's time (target ≤ 4×)", ours / g),
        );
    }
    let small = dir.join("auth-head.log");
    let n = head(&sshd, &small, 1_000_000);
    if let Some((f, _)) = time_cmd(Command::new("fail2ban-regex").arg(&small).arg("/etc/fail2ban/filter.d/sshd.conf")) {
        row("fail2ban-regex (sshd filter)", &format!("auth.log, first {n} lines"), n, size_mb(&small), f, "");
    }

    // access
    let t = Instant::now();
    let (a, findings) =
        evidence::access::analyse(std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&access).unwrap()));
    let ours = t.elapsed().as_secs_f64();
    let by_kind =
        |k: &str| findings.iter().filter(|f| f.kind == k).flat_map(|f| f.sources.clone()).collect::<BTreeSet<String>>();
    let hit = |set: &BTreeSet<String>, found: &BTreeSet<String>| set.iter().filter(|x| found.contains(*x)).count();
    let note = format!(
        "sources found: SQLi {}/{}, webshell {}/{}, wp-login {}/{}",
        hit(&web[0], &by_kind("web_sqli")),
        web[0].len(),
        hit(&web[1], &by_kind("web_webshell")),
        web[1].len(),
        hit(&web[2], &by_kind("web_login_brute_force")),
        web[2].len()
    );
    row("todokede access", "access.log", a.lines, size_mb(&access), ours, &note);
    if let Some((g, _)) = time_cmd(Command::new("grep").arg("-c").arg("GET").arg(&access)) {
        row(
            "grep -c GET",
            "access.log",
            a.lines,
            size_mb(&access),
            g,
            &format!("todokede takes {:.1}× grep's time (target ≤ 8×)", ours / g),
        );
    }
    let small = dir.join("access-head.log");
    let n = head(&access, &small, 1_000_000);
    if let Some((g, _)) = time_cmd(
        Command::new("goaccess")
            .arg(&small)
            .arg("--log-format=COMBINED")
            .arg("-o")
            .arg(dir.join("goaccess.json"))
            .arg("--no-progress"),
    ) {
        row("goaccess (COMBINED, JSON report)", &format!("access.log, first {n} lines"), n, size_mb(&small), g, "");
    }

    // EVTX: records/s against evtx_dump (same crate's CLI) on the largest sample, repeated.
    let evtx = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/data/evtx/DE_RDP_Tunneling_TerminalServices-RemoteConnectionManagerOperational_1149.evtx",
    );
    if evtx.exists() {
        let reps = 50;
        let t = Instant::now();
        let mut records = 0;
        for _ in 0..reps {
            let (s, _) = evidence::evtx::analyse(std::io::BufReader::new(std::fs::File::open(&evtx).unwrap()));
            records += s.records;
        }
        let ours = t.elapsed().as_secs_f64();
        println!("\n| tool | file | records | seconds | records/s |\n|---|---|---|---|---|");
        println!(
            "| todokede evtx (parse + findings) | 1149 sample ×{reps} | {records} | {ours:.2} | {:.0} |",
            records as f64 / ours
        );
        let t = Instant::now();
        let mut ok = true;
        for _ in 0..reps {
            ok &= Command::new("evtx_dump")
                .args(["-o", "jsonl", "-t", "1"])
                .arg(&evtx)
                .stdout(std::process::Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
        }
        if ok {
            let d = t.elapsed().as_secs_f64();
            println!(
                "| evtx_dump -o jsonl -t 1 (to /dev/null) | 1149 sample ×{reps} | {records} | {d:.2} | {:.0} |",
                records as f64 / d
            );
        }
    }
}
