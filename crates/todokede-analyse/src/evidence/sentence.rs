//! A finding's sentence in the reader's language. The analysers keep the facts — the kind, and
//! the numbers and names they counted ([`Facts`]: `source`, `failed`, `accepted`, …); the
//! sentence is made from them when it is shown, in Japanese or in English, with the project's
//! one language switch ([`Language::pick`]). The English sentence is also stored beside the
//! facts (`summary`), for readers of the JSON and for records written before the facts were.
//!
//! Every kind the analysers emit has its wording here, both languages side by side.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use todokede_domain::Language;

/// One fact of a finding: a count, a yes/no, a name as written in the log, or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Fact {
    Number(u64),
    Flag(bool),
    Text(String),
    List(Vec<String>),
}

/// A finding's facts by name.
pub type Facts = BTreeMap<String, Fact>;

impl From<u64> for Fact {
    fn from(n: u64) -> Fact {
        Fact::Number(n)
    }
}
impl From<usize> for Fact {
    fn from(n: usize) -> Fact {
        Fact::Number(n as u64)
    }
}
impl From<bool> for Fact {
    fn from(b: bool) -> Fact {
        Fact::Flag(b)
    }
}
impl From<String> for Fact {
    fn from(s: String) -> Fact {
        Fact::Text(s)
    }
}
impl From<&String> for Fact {
    fn from(s: &String) -> Fact {
        Fact::Text(s.clone())
    }
}
impl From<&str> for Fact {
    fn from(s: &str) -> Fact {
        Fact::Text(s.to_owned())
    }
}
impl From<Vec<String>> for Fact {
    fn from(v: Vec<String>) -> Fact {
        Fact::List(v)
    }
}

/// `facts! { "source" => ip, "failed" => n }`
macro_rules! facts {
    ($($k:literal => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut f = $crate::evidence::sentence::Facts::new();
        $(f.insert($k.to_owned(), $crate::evidence::sentence::Fact::from($v));)*
        f
    }};
}
pub(crate) use facts;

/// What the access-log analyser saw, per kind: (English, Japanese).
fn web_attack(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "web_sqli" => ("SQL injection attempts", "SQL インジェクションの試行"),
        "web_path_traversal" => ("path traversal attempts", "パストラバーサルの試行"),
        "web_webshell" => {
            ("requests to a webshell or tunnel script", "Web シェルまたはトンネリング用スクリプトへのリクエスト")
        }
        "web_login_brute_force" => ("POSTs to a login page (brute force)", "ログインページへの POST（総当たり）"),
        "web_scanner" => ("requests from scanning tools", "スキャンツールからのリクエスト"),
        "web_exploit_attempt" => (
            "exploit attempts (remote file inclusion, path-info bypass)",
            "脆弱性を悪用する攻撃の試行（リモートファイルインクルージョン、パス情報による回避）",
        ),
        "web_fake_crawler" => (
            "POSTs from a client posing as a search engine (spam, abuse)",
            "検索エンジンを装ったクライアントからの POST（スパム、不正利用）",
        ),
        _ => ("probes for sensitive files and admin tools", "機微なファイルや管理ツールの探索"),
    }
}

/// The sentence of a finding of `kind` with `facts`, in `lang`; `None` when a fact it needs is
/// missing (a record from another version: show its stored text instead).
pub fn sentence(kind: &str, facts: &Facts, lang: Language) -> Option<String> {
    let n = |k: &str| match facts.get(k) {
        Some(Fact::Number(n)) => Some(*n),
        _ => None,
    };
    let s = |k: &str| match facts.get(k) {
        Some(Fact::Text(s)) => Some(s.as_str()),
        _ => None,
    };
    let flag = |k: &str| matches!(facts.get(k), Some(Fact::Flag(true)));
    // A list of names: ", " in English, "、" in Japanese.
    let list = |k: &str| match facts.get(k) {
        Some(Fact::List(v)) => Some((v.join(", "), v.join("、"), v.is_empty())),
        _ => None,
    };
    let pick = |ja: String, en: String| lang.pick(ja, en);
    Some(match kind {
        // sshd / auth.log
        "ssh_login_after_failures" => {
            let (ip, failed, ok) = (s("source")?, n("failed")?, n("accepted")?);
            pick(
                format!(
                    "{ip} から SSH のログイン失敗 {failed} 回の後、{ok} 回成功（パスワードが推測または窃取された可能性）"
                ),
                format!("{ip}: {failed} failed logins, then {ok} successful — a guessed or stolen password"),
            )
        }
        "ssh_brute_force" => {
            let (ip, failed, names) = (s("source")?, n("failed")?, n("account_names")?);
            pick(
                format!("{ip} から SSH のログイン失敗 {failed} 回（アカウント名 {names} 種類）"),
                format!("{ip}: {failed} failed SSH logins for {names} account names"),
            )
        }
        "ssh_login_new_source" => {
            let (user, ip) = (s("account")?, s("source")?);
            pick(
                format!("{user} が、本ログで初めて現れた接続元 {ip} からログイン"),
                format!("{user} logged in from {ip}, a source not seen before in this log"),
            )
        }
        // mail servers
        "mail_bulk_sending" => {
            let (account, messages, recipients, sources) =
                (s("account")?, n("messages")?, n("recipients")?, n("source_count")?);
            let lateral = flag("lateral");
            let (from_ja, from_en) = if sources == 0 {
                (String::new(), String::new())
            } else {
                (format!("、接続元 {sources} か所"), format!(" from {sources} source(s)"))
            };
            pick(
                format!(
                    "アカウント {account} から {messages} 通のメールを送信（宛先 延べ {recipients} 件{from_ja}）。窃取されたアカウントが{}に悪用された可能性",
                    if lateral {
                        "組織内へのフィッシング"
                    } else {
                        "フィッシングまたはスパムの送信"
                    }
                ),
                format!(
                    "account {account} sent {messages} messages to {recipients} recipients{from_en} — a stolen account used for {}",
                    if lateral { "lateral phishing inside the organisation" } else { "phishing or spam" }
                ),
            )
        }
        "mail_login_new_sources" => {
            let account = s("account")?;
            match list("failed_from") {
                Some((en, ja, false)) => pick(
                    format!("アカウント {account} が、認証失敗のあった接続元 {ja} から認証に成功"),
                    format!("account {account} authenticated from {en} after authentication failures from there"),
                ),
                _ => {
                    let sources = n("source_count")?;
                    pick(
                        format!("アカウント {account} が {sources} か所の異なる接続元から認証"),
                        format!("account {account} authenticated from {sources} different sources"),
                    )
                }
            }
        }
        "mail_auth_brute_force" => {
            let (ip, failures) = (s("source")?, n("failures")?);
            pick(
                format!("{ip} から SMTP/IMAP の認証失敗 {failures} 回"),
                format!("{failures} SMTP/IMAP authentication failures from {ip}"),
            )
        }
        // web access logs
        k if k.starts_with("web_") => {
            let (source, count, success) = (s("source")?, n("count")?, n("success")?);
            let (paths_en, paths_ja, _) = list("paths")?;
            let (what_en, what_ja) = web_attack(k);
            pick(
                format!("{source} から{what_ja} {count} 件（うち 2xx 応答 {success} 件）。対象: {paths_ja}"),
                format!("{source}: {count} {what_en} ({success} answered 2xx) — {paths_en}"),
            )
        }
        // application login logs
        "login_credential_stuffing" | "login_password_spraying" | "login_brute_force" => {
            let (attempts, accounts, median, sources, max, unknown, successes) = (
                n("attempts")?,
                n("accounts")?,
                n("median_per_account")?,
                n("source_count")?,
                n("max_per_source")?,
                n("unknown_percent")?,
                n("successes")?,
            );
            let (what_ja, what_en) = match kind {
                "login_credential_stuffing" => (
                    "リスト型攻撃（漏えいした ID とパスワードの組を多数のアカウントで試行）",
                    "credential stuffing (リスト型攻撃): leaked ID/password pairs tried across many accounts",
                ),
                "login_password_spraying" => (
                    "パスワードスプレー攻撃（少数のパスワードを多数の実在するアカウントで試行）",
                    "password spraying: a few passwords tried against many existing accounts",
                ),
                _ => (
                    "総当たり攻撃（少数のアカウントに多数のパスワードを試行）",
                    "brute force: many passwords tried against few accounts",
                ),
            };
            pick(
                format!(
                    "{what_ja}。試行 {attempts} 回、アカウント {accounts} 件（1 件あたり中央値 {median} 回）、送信元 IP アドレス {sources} 件（1 件からの最多 {max} 回）、存在しないアカウント {unknown} %、成功 {successes} 回"
                ),
                format!(
                    "{what_en} — {attempts} attempts, {accounts} accounts (median {median} tries each), {sources} source IPs (max {max} tries from one), {unknown} % unknown accounts, {successes} successes"
                ),
            )
        }
        "login_success_after_failures" => {
            let accounts = n("accounts")?;
            pick(
                format!("{accounts} 件のアカウントがログイン失敗の後にログインに成功（乗っ取られた可能性が高い）"),
                format!("{accounts} accounts logged in after failed attempts — likely taken over"),
            )
        }
        // Windows event logs
        "windows_logon_brute_force" => {
            let (count, src, accounts) = (n("count")?, s("source")?, n("account_count")?);
            pick(
                format!("{src} から Windows のログオン失敗（4625）{count} 回（対象アカウント {accounts} 件）"),
                format!("{count} failed Windows logons (4625) from {src} against {accounts} account(s)"),
            )
        }
        "windows_logon_failures" => {
            let (count, accounts) = (n("count")?, n("account_count")?);
            pick(
                format!("Windows のログオン失敗（4625）{count} 回（対象アカウント {accounts} 件）"),
                format!("{count} failed Windows logons (4625) against {accounts} account(s)"),
            )
        }
        "windows_logon_after_failures" => {
            let (count, (en, ja, _)) = (n("count")?, list("accounts")?);
            pick(
                format!("以前に失敗したアカウントまたは接続元によるログオン成功（4624）{count} 回: {ja}"),
                format!(
                    "{count} successful logon(s) (4624) by an account or from a source that had failed before: {en}"
                ),
            )
        }
        "rdp_logons" => {
            let (count, (en, ja, none)) = (n("count")?, list("sources")?);
            if none {
                pick(
                    format!("接続元が記録されていない RDP ログオン（4624 タイプ 10 / 1149）{count} 回"),
                    format!("{count} RDP logon(s) (4624 type 10 / 1149) from unrecorded sources"),
                )
            } else {
                pick(
                    format!("{ja} からの RDP ログオン（4624 タイプ 10 / 1149）{count} 回"),
                    format!("{count} RDP logon(s) (4624 type 10 / 1149) from {en}"),
                )
            }
        }
        "rdp_connection_attempts" => {
            let (count, sources) = (n("count")?, n("source_count")?);
            pick(
                format!("接続元 {sources} か所からの RDP 接続の試行（RdpCoreTS 131）{count} 回"),
                format!("{count} RDP connection attempts (RdpCoreTS 131) from {sources} source(s)"),
            )
        }
        "network_logons" => {
            let (count, (en, ja, _)) = (n("count")?, list("sources")?);
            pick(
                format!("{ja} からのネットワークログオン（4624 タイプ 3）{count} 回"),
                format!("{count} network logon(s) (4624 type 3) from {en}"),
            )
        }
        "pass_the_hash" => {
            let count = n("count")?;
            pick(
                format!("新しい資格情報によるログオン（タイプ 9、seclogo）{count} 回: pass-the-hash 攻撃の特徴"),
                format!("{count} logon(s) with new credentials (type 9, seclogo): pass-the-hash pattern"),
            )
        }
        "explicit_credentials" => {
            let count = n("count")?;
            pick(
                format!("明示的な資格情報によるログオン（4648）{count} 回"),
                format!("{count} logon(s) with explicit credentials (4648)"),
            )
        }
        "account_created" => {
            let (count, (en, ja, _)) = (n("count")?, list("accounts")?);
            pick(
                format!("アカウントの作成（4720）{count} 件: {ja}"),
                format!("{count} account(s) created (4720): {en}"),
            )
        }
        "added_to_admin_group" => {
            let count = n("count")?;
            pick(
                format!("管理者グループへのメンバーの追加（4732/4728）{count} 件"),
                format!("{count} member(s) added to an administrators group (4732/4728)"),
            )
        }
        "service_installed" => {
            let count = n("count")?;
            pick(format!("サービスのインストール（7045）{count} 件"), format!("{count} service(s) installed (7045)"))
        }
        "log_cleared" => {
            let count = n("count")?;
            pick(
                format!("イベントログの消去（1102/104）{count} 回"),
                format!("the event log was cleared {count} time(s) (1102/104)"),
            )
        }
        "webshell_process" => {
            let count = n("count")?;
            pick(
                format!("Web サーバのワーカープロセス（w3wp.exe など）が起動したシェル {count} 件: Web シェルの特徴"),
                format!("{count} shell process(es) started by a web server worker (w3wp.exe …): webshell"),
            )
        }
        "suspicious_process" => {
            let count = n("count")?;
            pick(
                format!("認証情報の窃取または痕跡の消去を示すコマンドラインのプロセス {count} 件"),
                format!("{count} process(es) with credential-theft or anti-forensics command lines"),
            )
        }
        "kerberos_failures" => {
            let (count, accounts) = (n("count")?, n("account_count")?);
            pick(
                format!(
                    "Kerberos/NTLM の認証失敗（4771/4776）{count} 回（対象アカウント {accounts} 件）: パスワードスプレー攻撃の特徴"
                ),
                format!(
                    "{count} Kerberos/NTLM authentication failures (4771/4776) for {accounts} account(s): password spraying pattern"
                ),
            )
        }
        // any analyser
        "unreadable_input" => {
            let (count, unit) = (n("count")?, s("unit")?);
            let unit_ja = if unit == "records" { "レコード" } else { "行" };
            let counter = if unit == "records" { "件" } else { "行" };
            let (stop_ja, stop_en) = match s("error") {
                Some(e) => (format!("（読み取りは途中で停止: {e}）"), format!("; reading stopped: {e}")),
                None => (String::new(), String::new()),
            };
            pick(
                format!("読み取れない{unit_ja} {count} {counter}{stop_ja}"),
                format!("{count} unreadable {unit}{stop_en}"),
            )
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh_log() -> String {
        let mut log = String::new();
        for i in 0..40 {
            log.push_str(&format!(
                "Jan  5 10:00:{:02} web sshd[1]: Failed password for root from 203.0.113.5 port 4{i} ssh2\n",
                i % 60
            ));
        }
        log + "Jan  5 10:01:00 web sshd[99]: Accepted password for root from 203.0.113.5 port 5000 ssh2\n"
    }

    /// The brief's example: the same facts, one sentence per language; the English one is the
    /// sentence stored (and printed by `todokede evidence`).
    #[test]
    fn an_ssh_takeover_reads_in_each_language() {
        let (_, f) = super::super::sshd::analyse(ssh_log().as_bytes());
        let takeover = f.iter().find(|x| x.kind == "ssh_login_after_failures").unwrap();
        assert_eq!(
            takeover.summary_in(Language::Ja),
            "203.0.113.5 から SSH のログイン失敗 40 回の後、1 回成功（パスワードが推測または窃取された可能性）"
        );
        assert_eq!(
            takeover.summary(),
            "203.0.113.5: 40 failed logins, then 1 successful — a guessed or stolen password"
        );
        let brute = f.iter().find(|x| x.kind == "ssh_brute_force").unwrap();
        assert_eq!(brute.summary_in(Language::Ja), "203.0.113.5 から SSH のログイン失敗 40 回（アカウント名 1 種類）");
    }

    /// Stored, the facts come back as they were: a number stays a number, a list a list.
    #[test]
    fn facts_survive_the_stored_json() {
        let f = facts! { "source" => "203.0.113.5", "failed" => 40u64, "lateral" => true, "paths" => vec!["/a".to_owned()] };
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, r#"{"failed":40,"lateral":true,"paths":["/a"],"source":"203.0.113.5"}"#);
        assert_eq!(serde_json::from_str::<Facts>(&json).unwrap(), f);
    }

    /// Facts without the ones a sentence needs (another version's): no sentence, so the
    /// reader is shown the stored text.
    #[test]
    fn missing_facts_make_no_sentence() {
        assert_eq!(sentence("ssh_login_after_failures", &facts! { "source" => "203.0.113.5" }, Language::Ja), None);
        assert_eq!(sentence("a_kind_from_the_future", &facts! { "count" => 1u64 }, Language::En), None);
    }
}
