//! 観測状況と攻撃経路 of a trend chapter: what the period's cases show about how the attack
//! came in. Two sources: the attack route each case's report names (phpMyAdmin, an exposed
//! MySQL, SSH …), grouped by month as the seeds write it ("2019 年 8 月、9 月：アクセス制御が
//! 不十分な phpMyAdmin 経由での攻撃（2 件）"); and what the logs attached to the reports showed
//! (the evidence analysers' findings: how many login attempts, from how many sources and of
//! which kind, a webshell, bulk mail) — as counts and kinds only. No address, account or
//! host name of a finding is ever written: the sources are counted and classed (組織内 /
//! 組織外), the accounts counted.

use crate::document::Text;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use time::Date;

/// One finding of a log attached to a report (from the stored analysis), as publication
/// needs it: the values stay here, only their number and kind are published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceFact {
    /// The analyser's finding kind (`ssh_brute_force`, `web_webshell` …).
    pub kind: String,
    /// Events the finding counts (attempts, requests, messages).
    pub count: u64,
    /// Source addresses as the log wrote them: classed and counted, never printed.
    pub sources: Vec<String>,
    /// How many accounts the finding involves.
    pub accounts: usize,
}

/// How a finding reads in the leaflet: (order, what was seen, unit). `None`: not worth a line
/// (unreadable input, informational kinds).
fn describe(kind: &str) -> Option<(u8, &'static str, &'static str)> {
    Some(match kind {
        "ssh_brute_force" => (10, "SSH への総当たりのログイン試行", "回"),
        "ssh_login_after_failures" => (11, "ログイン試行の失敗が続いた後の SSH ログイン成功", "回"),
        "ssh_login_new_source" => (12, "それまでにない接続元からの SSH ログイン", "回"),
        "windows_logon_brute_force" | "windows_logon_failures" => {
            (13, "Windows へのログオン失敗（総当たりと見られる）", "回")
        }
        "windows_logon_after_failures" => (14, "ログオン失敗が続いた後のログオン成功", "回"),
        "rdp_connection_attempts" => (15, "リモートデスクトップへの接続試行", "回"),
        "rdp_logons" => (16, "リモートデスクトップでのログオン", "回"),
        "pass_the_hash" => (17, "窃取した認証情報を用いたと見られるログオン（Pass-the-Hash）", "回"),
        "account_created" => (18, "アカウントの新規作成", "件"),
        "added_to_admin_group" => (19, "管理者グループへのアカウントの追加", "件"),
        "log_cleared" => (20, "イベントログの消去", "件"),
        "service_installed" => (21, "サービスの新規登録", "件"),
        "suspicious_process" | "webshell_process" => (22, "不審なプログラムの実行", "件"),
        "web_login_brute_force" => (30, "ウェブサイトのログイン画面への総当たり", "件"),
        "login_brute_force" => (31, "ログイン画面への総当たりのログイン試行", "件"),
        "login_credential_stuffing" => (32, "多数のアカウントに対するログイン試行（リスト型攻撃と見られる）", "件"),
        "login_password_spraying" => (33, "多数のアカウントに同じパスワードを試すログイン試行", "件"),
        "login_success_after_failures" => (34, "ログイン試行の失敗が続いた後のログイン成功", "件"),
        "web_sqli" => (40, "SQL インジェクション攻撃の通信", "件"),
        "web_webshell" => (41, "ウェブシェル（遠隔操作用の不正なファイル）へのアクセス", "件"),
        "web_exploit_attempt" => (42, "脆弱性を狙った攻撃の通信", "件"),
        "web_path_traversal" => (43, "ディレクトリトラバーサル攻撃の通信", "件"),
        "web_sensitive_probe" => (44, "管理ツールや設定ファイルの探索", "件"),
        "web_scanner" => (45, "脆弱性スキャナによる通信", "件"),
        "mail_auth_brute_force" => (50, "メールサーバへの総当たりの認証試行", "回"),
        "mail_login_new_sources" => (51, "それまでにない接続元からのメールアカウントへのログイン", "回"),
        "mail_bulk_sending" => (52, "メールの大量送信", "通"),
        _ => return None,
    })
}

/// What a finding of `kind` was, in the leaflet's words (`None`: not worth saying).
pub fn describe_finding(kind: &str) -> Option<&'static str> {
    describe(kind).map(|(_, what, _)| what)
}

/// 9,812 (the leaflet's digits).
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The kind of a source as the leaflet may name it.
fn inside(source: &str) -> Option<bool> {
    let ip: IpAddr = source.trim().trim_start_matches('[').split(']').next()?.parse().ok()?;
    Some(match ip {
        IpAddr::V4(v) => v.is_private() || v.is_loopback() || v.is_link_local(),
        IpAddr::V6(v) => v.is_loopback() || v.is_unique_local() || v.is_unicast_link_local(),
    })
}

/// "接続元 120 か所、いずれも組織外" — counted and classed, never listed.
fn sources_phrase(sources: &BTreeSet<&str>) -> String {
    if sources.is_empty() {
        return String::new();
    }
    let kinds: Vec<Option<bool>> = sources.iter().map(|s| inside(s)).collect();
    let internal = kinds.iter().filter(|k| **k == Some(true)).count();
    let external = kinds.iter().filter(|k| **k == Some(false)).count();
    let class = if internal == 0 && external == kinds.len() {
        "、いずれも組織外".to_owned()
    } else if external == 0 && internal == kinds.len() {
        "、いずれも組織内".to_owned()
    } else if internal > 0 {
        format!("、うち組織内 {internal} か所")
    } else {
        String::new()
    };
    format!("接続元 {} か所{class}", grouped(sources.len() as u64))
}

/// Per finding kind: events, distinct sources, accounts.
type Seen<'a> = (u64, BTreeSet<&'a str>, usize);

/// What the logs attached to `cases` showed, one line per case (項番 N：…) or, for cases that
/// 表2-1 does not list, one line for them together.
pub fn evidence_lines(cases: &[(Option<u32>, &[EvidenceFact])]) -> Vec<Text> {
    let line = |facts: &[&EvidenceFact]| -> Option<String> {
        let mut by_kind: BTreeMap<(u8, &str, &str), Seen> = BTreeMap::new();
        for f in facts {
            let Some(d) = describe(&f.kind) else { continue };
            let e = by_kind.entry(d).or_default();
            e.0 += f.count;
            e.1.extend(f.sources.iter().map(String::as_str));
            e.2 += f.accounts;
        }
        let parts: Vec<String> = by_kind
            .into_iter()
            .map(|((_, what, unit), (count, sources, accounts))| {
                let mut details = vec![];
                let src = sources_phrase(&sources);
                if !src.is_empty() {
                    details.push(src);
                }
                if accounts > 1 {
                    details.push(format!("対象アカウント {accounts} 件"));
                }
                let details = if details.is_empty() { String::new() } else { format!("（{}）", details.join("、")) };
                format!("{what} {} {unit}{details}", grouped(count))
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join("、"))
    };
    let mut out = vec![];
    let mut unlisted: Vec<&EvidenceFact> = vec![];
    let mut unlisted_cases = 0;
    for (row, facts) in cases {
        match row {
            Some(no) => {
                if let Some(l) = line(&facts.iter().collect::<Vec<_>>()) {
                    out.push(Text::fixed(format!("項番 {no}：{l}")));
                }
            }
            None if facts.iter().any(|f| describe(&f.kind).is_some()) => {
                unlisted_cases += 1;
                unlisted.extend(facts.iter());
            }
            None => {}
        }
    }
    if let Some(l) = line(&unlisted) {
        out.push(Text::fixed(format!("表 2-1 に掲載していない届出 {unlisted_cases} 件（合計）：{l}")));
    }
    out
}

/// The route the report names, in the seeds' words.
pub fn route(text: &str, techniques: &[String]) -> Option<&'static str> {
    let t = |p: &str| techniques.iter().any(|x| x == p || x.starts_with(&format!("{p}.")));
    let m = |ws: &[&str]| ws.iter().any(|w| text.contains(w));
    Some(if m(&["phpMyAdmin", "phpmyadmin"]) {
        "アクセス制御が不十分な phpMyAdmin 経由での攻撃"
    } else if m(&["MySQL", "3306", "MongoDB", "PostgreSQL", "Elasticsearch"]) {
        "外部からアクセス可能なデータベースサーバへの攻撃"
    } else if m(&["Samba", "SMB", "ファイル共有"]) || t("T1021.002") {
        "外部からアクセス可能なファイル共有サービスへの攻撃"
    } else if m(&["リモートデスクトップ", "RDP"]) || t("T1021.001") {
        "外部からアクセス可能なリモートデスクトップへの攻撃"
    } else if m(&["SSH"]) || t("T1021.004") {
        "アクセス制限されていない SSH サービスへの攻撃"
    } else if m(&["VPN"]) {
        "VPN 装置への攻撃"
    } else if m(&["プラグイン", "CMS", "WordPress"]) {
        "CMS（またはそのプラグイン）の脆弱性を悪用した攻撃"
    } else if m(&["SQLインジェクション", "SQL インジェクション"]) {
        "ウェブアプリケーションへの SQL インジェクション攻撃"
    } else if m(&["フィッシング"]) || t("T1566") {
        "フィッシングによるアカウント情報の窃取"
    } else if t("T1110.004") || m(&["リスト型", "パスワードリスト"]) {
        "他のサービスから流出した ID・パスワードを用いたログイン（リスト型攻撃）"
    } else if m(&["管理画面"]) {
        "アクセス制限が不十分な管理画面への攻撃"
    } else {
        return None;
    })
}

/// "2019 年 8 月、9 月：…（2 件）", one line per route, in order of first appearance.
pub fn route_lines(cases: &[(Date, Option<&'static str>)]) -> Vec<Text> {
    let mut routes: Vec<(&str, Vec<Date>)> = vec![];
    let mut unknown = 0;
    for (d, r) in cases {
        match r {
            Some(r) => match routes.iter_mut().find(|(x, _)| x == r) {
                Some((_, ds)) => ds.push(*d),
                None => routes.push((r, vec![*d])),
            },
            None => unknown += 1,
        }
    }
    routes.sort_by_key(|(_, ds)| ds.iter().min().copied());
    let mut out: Vec<Text> = routes
        .into_iter()
        .map(|(r, mut ds)| {
            ds.sort();
            let mut months: Vec<(i32, u8)> = ds.iter().map(|d| (d.year(), d.month() as u8)).collect();
            months.dedup();
            let mut when = String::new();
            let mut year = None;
            for (i, (y, m)) in months.iter().enumerate() {
                if i > 0 {
                    when.push('、');
                }
                if year != Some(*y) {
                    when.push_str(&format!("{y} 年 "));
                    year = Some(*y);
                }
                when.push_str(&format!("{m} 月"));
            }
            Text::fixed(format!("{when}：{r}（{} 件）", ds.len()))
        })
        .collect();
    if unknown > 0 {
        out.push(Text::fixed(format!("攻撃経路が特定できなかったもの（{unknown} 件）")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn routes_by_month_in_the_seeds_words() {
        let lines = route_lines(&[
            (date!(2019 - 08 - 14), Some("A")),
            (date!(2019 - 09 - 19), Some("A")),
            (date!(2019 - 11 - 06), Some("B")),
            (date!(2019 - 12 - 05), Some("B")),
            (date!(2019 - 12 - 06), None),
        ]);
        let lines: Vec<&str> = lines.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            lines,
            [
                "2019 年 8 月、9 月：A（2 件）",
                "2019 年 11 月、12 月：B（2 件）",
                "攻撃経路が特定できなかったもの（1 件）"
            ]
        );
    }

    #[test]
    fn evidence_is_counted_and_classed_never_listed() {
        let ssh = EvidenceFact {
            kind: "ssh_brute_force".into(),
            count: 9812,
            sources: vec!["45.33.32.156".into(), "198.51.100.7".into()],
            accounts: 3,
        };
        let login = EvidenceFact {
            kind: "ssh_login_after_failures".into(),
            count: 1,
            sources: vec!["45.33.32.156".into()],
            accounts: 1,
        };
        let inner =
            EvidenceFact { kind: "web_webshell".into(), count: 4, sources: vec!["10.0.0.5".into()], accounts: 0 };
        let noise = EvidenceFact { kind: "unreadable_input".into(), count: 7, ..Default::default() };
        let lines = evidence_lines(&[
            (Some(3), &[ssh.clone(), login][..]),
            (None, &[inner][..]),
            (None, &[noise][..]),
            (Some(4), &[][..]),
        ]);
        let text: Vec<&str> = lines.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            text,
            [
                "項番 3：SSH への総当たりのログイン試行 9,812 回（接続元 2 か所、いずれも組織外、対象アカウント 3 件）、ログイン試行の失敗が続いた後の SSH ログイン成功 1 回（接続元 1 か所、いずれも組織外）",
                "表 2-1 に掲載していない届出 1 件（合計）：ウェブシェル（遠隔操作用の不正なファイル）へのアクセス 4 件（接続元 1 か所、いずれも組織内）",
            ]
        );
        assert!(!text.concat().contains("45.33"));
    }
}
