//! Indicator extraction throughput on large mixed Japanese/English report text, side by side
//! with python's `iocextract` (pip install iocextract) on the same inputs, with both outputs
//! compared. Run: `cargo bench -p todokede-analyse --bench extract`.
//!
//! The text is generated: report sentences in Japanese and English with indicators (plain and
//! defanged) at a realistic density, so every size has the same mix and time per MB is comparable.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;
use todokede_analyse::{IndicatorType, extract, normalise};

const SENTENCES: &[&str] = &[
    "届出者（企業）の社内グループウェアのデータベースが空の状態にされ、10日以内に0.03ビットコインを支払わない場合バックアップファイルを削除する旨記載されたファイルが置かれていた。",
    "調査の結果、元々設置していたphpMyAdminへ第三者によるアクセスが可能であったこと、また、データベースのrootユーザでのログインが容易であったことが原因として推測された。",
    "外部組織からの連絡により、組織内から外部へ大量のSSH通信が行われていることが発覚した。",
    "The web server received thousands of SSH login attempts a day and was later used to scan other hosts.",
    "Customers reported orders they had not placed; about 800 accounts were logged in with passwords leaked elsewhere.",
    "ウェブサイトの管理画面にアクセス制限が行われておらず、また、パスワードの強度が弱かった。",
];

fn indicator(i: usize) -> String {
    let a = 11 + (i * 7) % 200;
    let b = (i * 13) % 256;
    match i % 8 {
        0 => format!("攻撃元 IP アドレス {a}.{b}.{}.{} からのアクセス", (i * 3) % 256, 1 + i % 250),
        1 => format!("hxxp://malicious-{a}{b}[.]example-bad.top/dl/payload{i}.exe"),
        2 => format!("connected to {a}[.]{b}[.]7[.]9 on port 3389"),
        3 => format!("attacker contact: ransom{i}[at]protonmail.com"),
        4 => format!("sha256 {:064x}", (i as u128).wrapping_mul(0x9e3779b97f4a7c15f39cc0605cedc834)),
        5 => format!("https://phish-{i}.xyz/login?id={b}"),
        6 => format!("MD5: {:032x}", (i as u128).wrapping_mul(0x2545f4914f6cdd1d)),
        _ => format!("CVE-2019-{:05}", 10000 + i % 9000),
    }
}

fn generate(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 512);
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(SENTENCES[i % SENTENCES.len()]);
        if i % 3 == 0 {
            s.push(' ');
            s.push_str(&indicator(i));
            s.push('。');
        }
        if i % 5 == 4 {
            s.push('\n');
        }
        i += 1;
    }
    s
}

fn ours(text: &str) -> (f64, BTreeSet<String>) {
    let t = Instant::now();
    let e = extract(&normalise(text), true);
    let secs = t.elapsed().as_secs_f64();
    let mut set = BTreeSet::new();
    for t in [IndicatorType::Ipv4, IndicatorType::Url, IndicatorType::Email, IndicatorType::Md5, IndicatorType::Sha256]
    {
        set.extend(e.indicators.get(t).iter().map(|v| format!("{}:{v}", t.key())));
    }
    (secs, set)
}

const PY: &str = r#"
import sys, time, json, iocextract
text = sys.stdin.read()
t = time.perf_counter()
out = set()
for ip in iocextract.extract_ipv4s(text, refang=True): out.add("ipv4:" + ip)
for u in iocextract.extract_urls(text, refang=True): out.add("url:" + u)
for e in iocextract.extract_emails(text, refang=True): out.add("email:" + e.lower())
for h in iocextract.extract_md5_hashes(text): out.add("md5:" + h.lower())
for h in iocextract.extract_sha256_hashes(text): out.add("sha256:" + h.lower())
secs = time.perf_counter() - t
print(json.dumps({"secs": secs, "values": sorted(out)}))
"#;

fn iocextract(text: &str) -> Option<(f64, BTreeSet<String>)> {
    let mut child = Command::new("python3")
        .args(["-c", PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(text.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some((v["secs"].as_f64()?, v["values"].as_array()?.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()))
}

fn main() {
    if std::env::var("PHASES").is_ok() {
        phases(&generate(20 << 20));
        return;
    }
    println!("indicator extraction (normalise + extract, one core), same generated text for both tools");
    println!(
        "{:>9}  {:>12} {:>10}  {:>14} {:>12}  {:>8} {:>8} {:>8}",
        "size", "todokede s", "MB/s", "iocextract s", "MB/s", "both", "only us", "only py"
    );
    for size in [11 << 10, 440 << 10, 1 << 20, 10 << 20, 100 << 20] {
        let text = generate(size);
        let mb = text.len() as f64 / (1 << 20) as f64;
        // Best of 3 for ours (warm caches, no allocator noise from the generator).
        let mut best = f64::MAX;
        let mut set = BTreeSet::new();
        for _ in 0..if size > 20 << 20 { 1 } else { 3 } {
            let (s, v) = ours(&text);
            best = best.min(s);
            set = v;
        }
        let py = if size <= 1 << 20 { iocextract(&text) } else { None };
        match py {
            Some((ps, pv)) if size == 11 << 10 => {
                println!(
                    "{:>7.2}MB  {:>12.4} {:>10.1}  {:>14.3} {:>12.2}  {:>8} {:>8} {:>8}",
                    mb,
                    best,
                    mb / best,
                    ps,
                    mb / ps,
                    set.intersection(&pv).count(),
                    set.difference(&pv).count(),
                    pv.difference(&set).count()
                );
                println!("           e.g. only todokede: {:?}", set.difference(&pv).take(3).collect::<Vec<_>>());
                println!("           e.g. only iocextract: {:?}", pv.difference(&set).take(3).collect::<Vec<_>>());
            }
            Some((ps, pv)) => println!(
                "{:>7.2}MB  {:>12.4} {:>10.1}  {:>14.3} {:>12.2}  {:>8} {:>8} {:>8}",
                mb,
                best,
                mb / best,
                ps,
                mb / ps,
                set.intersection(&pv).count(),
                set.difference(&pv).count(),
                pv.difference(&set).count()
            ),
            None => println!(
                "{:>7.2}MB  {:>12.4} {:>10.1}  {:>14} {:>12}  {:>8}",
                mb,
                best,
                mb / best,
                "(not run)",
                "",
                set.len()
            ),
        }
    }
}

#[allow(dead_code)]
pub fn phases(text: &str) {
    let t = Instant::now();
    let n = todokede_analyse::normalise::nfkc(text);
    println!("nfkc {:.3}", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let l = todokede_analyse::normalise::repair_line_breaks(&n);
    println!("lines {:.3}", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let r = todokede_analyse::normalise::refang(&l);
    println!("refang {:.3}", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let _ = extract(&r, true);
    println!("extract {:.3}", t.elapsed().as_secs_f64());
}
