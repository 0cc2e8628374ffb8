//! Properties of extraction: whatever way a value is defanged and wherever it sits in Japanese
//! or English text, refanging finds it; plain prose never yields an indicator; no input panics.

use proptest::prelude::*;
use todokede_analyse::{IndicatorType, analyse, extract, normalise};

/// Public, routable addresses (not on any warning list).
fn public_ipv4() -> impl Strategy<Value = String> {
    (11u8..=99, 0u8..=255, 0u8..=255, 1u8..=254).prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}"))
}

fn domain() -> impl Strategy<Value = String> {
    ("[a-z][a-z0-9]{2,10}", prop::sample::select(vec!["com", "net", "jp", "co.jp", "top", "xyz", "ru", "info"]))
        .prop_map(|(label, tld)| format!("{label}-mal.{tld}"))
}

fn defang_dots(s: &str, style: usize) -> String {
    s.replace('.', ["[.]", "(.)", "[dot]", "{.}", "."][style % 5])
}

fn surround(v: &str, ctx: usize) -> String {
    match ctx % 4 {
        0 => format!("攻撃元は{v}でした。"),
        1 => format!("不審な通信先 {v} を確認"),
        2 => format!("The attacker used {v} repeatedly."),
        _ => format!("（{v}）"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn defanged_ipv4_is_found(ip in public_ipv4(), style in 0usize..5, ctx in 0usize..4) {
        let e = extract(&normalise(&surround(&defang_dots(&ip, style), ctx)), true);
        prop_assert!(e.indicators.get(IndicatorType::Ipv4).contains(&ip), "{ip} not in {e:?}");
    }

    #[test]
    fn defanged_urls_and_their_hosts_are_found(d in domain(), path in "[a-z0-9]{0,8}", style in 0usize..5, scheme in 0usize..4, ctx in 0usize..4) {
        let url = format!("http://{d}/{path}");
        let defanged = format!("{}://{}/{path}", ["hxxp", "http", "h**p", "hXXp"][scheme], defang_dots(&d, style));
        let text = surround(&defanged, ctx).replace("://", if style % 2 == 0 { "[:]//" } else { "://" });
        let e = extract(&normalise(&text), true);
        prop_assert!(e.indicators.get(IndicatorType::Url).contains(&url), "{url} not in {e:?} from {text}");
        prop_assert!(e.indicators.get(IndicatorType::Domain).contains(&d));
    }

    #[test]
    fn defanged_emails_are_found(user in "[a-z][a-z0-9]{1,8}", d in domain(), at in 0usize..4, ctx in 0usize..4) {
        let email = format!("{user}@{d}");
        let text = surround(&format!("{user}{}{}", ["[at]", "(at)", "＠", "@"][at], defang_dots(&d, at)), ctx);
        let e = extract(&normalise(&text), true);
        prop_assert!(e.indicators.get(IndicatorType::Email).contains(&email), "{email} not in {e:?} from {text}");
    }

    #[test]
    fn plain_prose_yields_no_indicator(words in prop::collection::vec(prop::sample::select(vec![
        "サーバ", "が", "不正アクセス", "を受け", "データベース", "の", "管理画面", "へ", "ログイン", "された", "。", "、",
        "被害", "調査", "したところ", "原因", "は", "不明", "です", "the", "server", "was", "attacked", "by", "someone",
        "password", "and", "logs", "were", "deleted", ",", ".", "2019年", "8月", "14日", "約", "3,000件", "0.03", "ビットコイン",
        "10日以内", "第1章", "(1)", "Windows", "phpMyAdmin", "MySQL", "e.g.", "i.e.", "No.5", "ver.2", "1.2版",
    ]), 1..60)) {
        let text = words.join(" ");
        let e = extract(&normalise(&text), true);
        prop_assert!(e.indicators.is_empty(), "invented {:?} from {text}", e.indicators.by_type);
    }

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        let _ = analyse(&s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..2000)) {
        let _ = analyse(&String::from_utf8_lossy(&b));
    }
}

proptest! {
    #[test]
    fn fast_nfkc_is_nfkc(s in "[\\PC\u{3099}\u{309A}\u{FF9E}\u{0301}ｱ-ﾝＡ-Ｚ０-９ぁ-んア-ン一-龥 ]{0,40}") {
        use unicode_normalization::UnicodeNormalization as _;
        prop_assert_eq!(todokede_analyse::normalise::nfkc(&s).into_owned(), s.nfkc().collect::<String>());
    }
}
