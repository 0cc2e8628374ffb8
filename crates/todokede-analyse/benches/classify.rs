//! Analysing one 2 KB report (normalise, indicators, model + rules, techniques, 着目点) on one
//! core: the figure issue 14 holds it to (< 1 ms), beside the rules-only classifier it replaced
//! (`classify` of the phrase rules alone is measured here as `rule_hits`).
//!
//!     cargo bench -p todokede-analyse --bench classify

use std::hint::black_box;
use std::time::Instant;

const REPORT: &str = "当社のECサイトにおいて、2024年5月12日頃から顧客より「身に覚えのない注文がある」との問い合わせが相次ぎました。\
調査したところ、管理画面（/admin）にアクセス制限がかけられておらず、インターネット上のどこからでもログイン画面に到達できる状態でした。\
管理者アカウントのパスワードは初期設定のまま変更されておらず、海外の複数の IP アドレス（198.51.100.23 など）から総当たり攻撃を受けた形跡がログに残っていました。\
攻撃者は管理画面にログインした後、決済画面のプログラムを改ざんし、カード情報を外部（hxxps://pay-check[.]example/collect）へ送信するスクリプトを埋め込んでいました。\
そのため、約1,200件のクレジットカード情報が流出した可能性があります。また、使用していた CMS のプラグインは2年以上更新していませんでした。\
現在はサイトを一時閉鎖し、外部の調査会社に依頼してフォレンジック調査を進めております。警察にも相談済みです。\
The attacker also left a PHP web shell (shell.php, SHA-256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855) in the uploads folder. \
We have reset every administrator password, enabled two-factor authentication for the admin screen, \
restricted it to our office address, updated the CMS and all plug-ins, and are notifying the affected customers \
and the card companies. Our hosting provider confirmed that no other customer's site on the same server was affected. \
顧客の皆様には個別にご連絡し、カード会社とも連携して不正利用のモニタリングを依頼しております。再発防止策がまとまり次第、改めてご報告いたします。";

fn time(name: &str, runs: u32, f: impl Fn()) -> f64 {
    for _ in 0..20 {
        f();
    }
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    let per = start.elapsed().as_secs_f64() / f64::from(runs);
    println!("{name:<40} {:>8.1} µs per report", per * 1e6);
    per
}

fn main() {
    assert!((1700..2600).contains(&REPORT.len()), "{} bytes", REPORT.len());
    let normalised = todokede_analyse::normalise(REPORT);
    println!("report: {} bytes", REPORT.len());
    time("rule_hits (the phrase rules alone)", 500, || {
        black_box(todokede_analyse::classify::rule_hits(black_box(&normalised)));
    });
    let lower = normalised.to_lowercase();
    time("concepts::find", 50, || {
        black_box(todokede_analyse::concepts::find(black_box(&lower)));
    });
    time("features::extract", 50, || {
        black_box(todokede_analyse::model::features::extract(black_box(&normalised), &[]));
    });
    time("classify (model + rules + concepts)", 500, || {
        black_box(todokede_analyse::classify(black_box(&normalised)));
    });
    let full = time("analyse (normalise + indicators + classify)", 500, || {
        black_box(todokede_analyse::analyse(black_box(REPORT)));
    });
    assert!(full < 1e-3, "a 2 KB report took {:.2} ms", full * 1e3);
}
