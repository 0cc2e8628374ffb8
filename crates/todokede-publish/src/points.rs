//! 着目点 of a featured case, written from the case's own facts: a few headed paragraphs
//! composed from its confirmed classification (causes, damages, ATT&CK techniques), what its
//! own report says (which service was exposed, how the password fell, whether a login screen
//! was imitated) and the countermeasure knowledge of *its* causes — what was exposed or weak,
//! how the attacker used it, what would have prevented or detected it, what to check now.
//! A countermeasure is written only under a cause (or a damage) the case has; a damage that a
//! 1-N chapter already explains is left to that chapter, as the seeds do.

use crate::document::{Point, Text};
use todokede_domain::{CauseCategory, DamageCategory};

/// A 1-N chapter the case belongs to (its trend key matched one of the case's keys).
#[derive(Debug, Clone)]
pub struct ChapterRef {
    pub number: usize,
    pub label: String,
    pub key: String,
}

/// What a case offers for its 着目点: its classification and its (already anonymised) texts.
pub struct Facts<'a> {
    pub causes: &'a [CauseCategory],
    pub damages: &'a [DamageCategory],
    pub techniques: &'a [String],
    /// Description and 届出内容 narratives, for what they mention (never quoted).
    pub text: String,
    pub chapters: Vec<ChapterRef>,
}

impl Facts<'_> {
    fn mentions(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.text.contains(w))
    }
    fn technique(&self, prefix: &str) -> bool {
        self.techniques.iter().any(|t| t == prefix || t.starts_with(&format!("{prefix}.")))
    }
    fn has_cause(&self, c: CauseCategory) -> bool {
        self.causes.contains(&c)
    }
    fn has_damage(&self, d: DamageCategory) -> bool {
        self.damages.contains(&d)
    }
    fn chapter_for(&self, key: &str) -> Option<&ChapterRef> {
        self.chapters.iter().find(|c| c.key == key)
    }
}

fn point(heading: &str, body: String) -> Point {
    Point { heading: Some(Text::fixed(heading)), body: Text::fixed(body) }
}

/// What was left reachable, as the report names it.
fn exposed_service(f: &Facts) -> (&'static str, bool) {
    if f.mentions(&["phpMyAdmin", "phpmyadmin"]) {
        ("phpMyAdmin", true)
    } else if f.mentions(&["SSH"]) || f.technique("T1021.004") {
        ("SSH サービス", false)
    } else if f.mentions(&["リモートデスクトップ", "RDP"]) || f.technique("T1021.001") {
        ("リモートデスクトップ", false)
    } else if f.mentions(&["MySQL", "3306", "データベース"]) {
        ("データベース", false)
    } else if f.mentions(&["管理画面"]) {
        ("管理画面", false)
    } else if f.mentions(&["VPN"]) {
        ("VPN 装置", false)
    } else {
        ("外部からアクセス可能なサービス", false)
    }
}

fn password_attack(f: &Facts) -> &'static str {
    if f.technique("T1110.001") || f.mentions(&["辞書攻撃"]) {
        "辞書攻撃"
    } else if f.technique("T1110.003") {
        "パスワードスプレー攻撃"
    } else if f.technique("T1110") || f.mentions(&["総当たり"]) {
        "総当たり攻撃"
    } else {
        "推測"
    }
}

/// The heading of a featured case's last 着目点: what to check now.
pub const CHECKS_HEADING: &str = "今、確認していただきたいこと";

/// What to check now, one item per cause or damage of the case, each a clause that ends in
/// the dictionary form of its verb (…を閉じる, …を確認する): [`checks_point`] makes them
/// requests (…を閉じていただきたい).
const CHECK_PORTS: &str = "外部から到達できるサービス（ポート）を洗い出し、不要なものを閉じる";
const CHECK_PASSWORDS: &str = "管理者やデータベースのアカウントのパスワードを見直し、ログイン試行の記録を確認する";
const CHECK_REMOTE_SOURCES: &str =
    "遠隔操作のためのサービスに接続できる接続元が、管理者の拠点など必要なものに限られているかを確認する";
const CHECK_SSH_AUTH: &str = "SSH のパスワード認証や root での直接ログインが許可されたままになっていないか確認する";
const CHECK_PHISHED: &str =
    "窃取された可能性のあるアカウントのパスワードを変更し、メールの転送設定や送信履歴を確認する";
const CHECK_REUSE: &str = "ログイン失敗の急増や、同一の接続元からの多数のアカウントへの試行がないか確認する";
const CHECK_VERSIONS: &str = "使用しているソフトウェアのバージョンと修正プログラムの適用状況を確認する";
const CHECK_DIAGNOSIS: &str = "ウェブアプリケーションの脆弱性診断の実施時期と結果を確認する";
const CHECK_CONTRACTOR: &str = "委託先の接続経路と、そのアカウントの権限を確認する";
const CHECK_OUTBOUND: &str = "自組織のサーバから外部への不審な通信がないか確認する";
#[cfg(test)]
const ALL_CHECKS: &[&str] = &[
    CHECK_PORTS,
    CHECK_PASSWORDS,
    CHECK_REMOTE_SOURCES,
    CHECK_SSH_AUTH,
    CHECK_PHISHED,
    CHECK_REUSE,
    CHECK_VERSIONS,
    CHECK_DIAGNOSIS,
    CHECK_CONTRACTOR,
    CHECK_OUTBOUND,
];

/// A featured case's checks before they are written: who should check, and what.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// 「…を外部に公開している場合は、」
    pub lead: String,
    pub items: Vec<&'static str>,
}

/// A check as a request: 「…を閉じる」→「…を閉じていただきたい」, 「…を確認する」→
/// 「…を確認していただきたい」.
fn request(item: &str) -> String {
    match item.strip_suffix("する") {
        Some(stem) => format!("{stem}していただきたい"),
        None => format!("{}ていただきたい", item.strip_suffix('る').unwrap_or(item)),
    }
}

/// 「今、確認していただきたいこと」 as prose: the lead and the first request in one sentence,
/// each further one its own (また、… / さらに、…). `fresh` are the case's checks no earlier
/// chapter has; `earlier` the chapters (「3 章」) whose 着目点 already asked for the others,
/// referred to instead of repeating them. None when there is nothing to say.
pub fn checks_point(lead: &str, fresh: &[&str], earlier: &[String]) -> Option<Point> {
    let mut sentences = vec![];
    let before = match earlier {
        [] => String::new(),
        [one] => format!("{one}の事例で挙げた確認に加えて、"),
        many => format!("{}の事例で挙げた確認に加えて、", many.join("や")),
    };
    match fresh.split_first() {
        None if earlier.is_empty() => return None,
        None => sentences.push(format!("{lead}{}の事例で挙げた点を確認していただきたい。", earlier.join("や"))),
        Some((first, rest)) => {
            sentences.push(format!("{lead}{before}{}。", request(first)));
            for (i, item) in rest.iter().enumerate() {
                let connective = if i == 0 { "また" } else { "さらに" };
                sentences.push(format!("{connective}、{}。", request(item)));
            }
        }
    }
    Some(point(CHECKS_HEADING, sentences.concat()))
}

/// Who should check (the lead of 今、確認していただきたいこと), from what the case exposed.
fn checks_lead(f: &Facts) -> String {
    match f.causes.first() {
        Some(CauseCategory::Phishing) => "組織のメールアカウントを管理している場合は、".into(),
        Some(CauseCategory::CredentialReuse) => "会員向けのサービスを運営している場合は、".into(),
        Some(CauseCategory::UnpatchedSoftware | CauseCategory::CustomCodeVulnerability) => {
            "ウェブサイトを運営している場合は、".into()
        }
        Some(CauseCategory::ThirdParty) => "保守や運用を委託している場合は、".into(),
        _ => match exposed_service(f).0 {
            // Not 「外部からアクセス可能なサービスを外部に公開している場合は」.
            "外部からアクセス可能なサービス" => "サーバ等をインターネットに公開している場合は、".into(),
            service => format!("{service}を外部に公開している場合は、"),
        },
    }
}

/// The case's 着目点, in the order the seeds write them: the 1-N chapter it illustrates, its
/// causes (primary first), the damages no chapter covers; and what to check now, written by
/// [`checks_point`] once the report knows which checks an earlier chapter already asked for.
pub fn featured_points(f: &Facts) -> (Vec<Point>, Checks) {
    let mut out = vec![];
    for ch in &f.chapters {
        out.push(point(
            &ch.label,
            format!("この事例は「{}」による攻撃が行われたものである（詳しくは 1-{} 章を参照）。", ch.label, ch.number),
        ));
    }
    let mut checks: Vec<&str> = vec![];
    for cause in f.causes {
        match cause {
            CauseCategory::MissingAccessControl => {
                let (service, tool) = exposed_service(f);
                let heading =
                    if tool { format!("{service}の利用") } else { format!("{service}のアクセス制限") };
                // What was exposed decides what is said: a management tool, a remote-login
                // service, anything else — never one text for all (an SSH case is not told
                // the phpMyAdmin case's sentences).
                let remote = match service {
                    "SSH サービス" => Some("SSH"),
                    "リモートデスクトップ" => Some("リモートデスクトップ"),
                    _ => None,
                };
                let mut body = match remote {
                    Some(what) => format!(
                        "本事例では、{service}が、接続元の IP アドレス等で制限されないままインターネットに公開されていた。\n\n{what}のようにサーバを遠隔から操作するためのサービスは、誰もがログインを試みられる状態で公開してはならない。接続できる相手を管理者の拠点など必要なものに限り、通信経路のルータやファイアウォールでもそれ以外からの接続を通過させないようにする。"
                    ),
                    None if tool => format!(
                        "本事例では、{service}が、アクセス制限が不十分なまま外部から利用できる状態であった。\n\nインターネットに公開するサーバでは、管理機能やデータベース、SSH 等へのアクセスを必要最小限に制限し（原則拒否とし、必要な通信のみ許可する）、不要なポートを閉じる。\n\n{service}のような管理ツールの利用は慎重に検討し、利用する場合は適切なアクセス制限が必須である。構築作業等で一時的に利用した場合は、システム公開前に削除したことを必ず確認する。"
                    ),
                    None => format!(
                        "本事例では、{service}が、アクセス制限が不十分なまま外部から利用できる状態であった。\n\nインターネットに公開するサーバでは、{service}へのアクセスを必要最小限に制限し（原則拒否とし、必要な通信のみ許可する）、不要なポートを閉じる。"
                    ),
                };
                if tool || f.mentions(&["一時的", "テスト", "検証用", "構築中", "作業用", "保守作業"])
                {
                    body.push_str(
                        "システム構築中やテスト環境であっても、インターネットに接続する場合は本番環境と同等のアクセス制限が必要である。",
                    );
                }
                out.push(point(&heading, body));
                checks.push(if remote.is_some() { CHECK_REMOTE_SOURCES } else { CHECK_PORTS });
            }
            CauseCategory::WeakCredentials => {
                let attack = password_attack(f);
                let ssh = f.mentions(&["SSH"]) || f.technique("T1021.004");
                let (heading, body, check) = if f.mentions(&["データベース", "MySQL", "phpMyAdmin"]) {
                    (
                        "データベースのパスワード設定",
                        format!(
                            "本事例では、データベースのパスワードが{attack}により突破され、データベースに不正にログインされた。OS 等のアカウントのパスワードと同様に、データベースのパスワードも推測されにくい十分に複雑なものに設定し、初期設定のアカウントや汎用的なアカウント名（admin、test 等）は使用しない。\n\n不正なログイン試行を検知し、試行回数を制限する仕組みがなければ、長時間に渡り攻撃が試みられ、多少複雑な程度のパスワードでは危険である。"
                        ),
                        CHECK_PASSWORDS,
                    )
                } else if ssh {
                    (
                        "SSH の認証方式",
                        format!(
                            "本事例では、SSH のログインパスワードが{attack}により突破された。インターネットから到達できる SSH サーバでは、パスワード認証を無効にして公開鍵認証とし、root での直接ログインを禁止することで、パスワードを推測する攻撃そのものを成り立たなくすることができる。\n\nやむを得ずパスワード認証を残す場合は、一定回数ログインに失敗した接続元を遮断する仕組みを導入し、ログイン試行の記録を定期的に確認する。"
                        ),
                        CHECK_SSH_AUTH,
                    )
                } else {
                    (
                        "パスワード設定",
                        format!(
                            "本事例では、{attack}によりパスワードが突破され、不正にログインされた。外部から到達できるアカウントのパスワードは、推測されにくい十分に複雑なものに設定し、初期設定のアカウントや汎用的なアカウント名（admin、test 等）は使用しない。\n\n不正なログイン試行を検知し、試行回数を制限する仕組みがなければ、長時間に渡り攻撃が試みられ、多少複雑な程度のパスワードでは危険である。"
                        ),
                        CHECK_PASSWORDS,
                    )
                };
                out.push(point(heading, body));
                checks.push(check);
            }
            CauseCategory::Phishing => {
                let lateral = f.technique("T1534")
                    || (f.has_damage(DamageCategory::AccountTakeover) && f.mentions(&["組織内", "社内"]));
                let targeted = f.mentions(&["模造", "独自のウェブメー", "ログイン画面を模"]);
                if targeted || lateral {
                    let mut body = String::new();
                    if targeted {
                        body.push_str("本事例のフィッシングサイトは、届出者の組織独自のログイン画面を模造したものであり、届出者組織を明確に狙った攻撃であったと考えられる。フィッシング攻撃には、不特定多数にばらまかれる金銭目的のものとは別に、特定の組織を狙い機密情報の窃取を目的とするものも存在することに留意する必要がある。");
                    }
                    if lateral {
                        if targeted {
                            body.push_str("\n\n");
                        }
                        body.push_str("また、最初に窃取したアカウント情報を用いて、組織の正規のメールサーバから組織内の別の利用者へ更に攻撃が行われた。信用されやすい組織内のアカウントやサーバを悪用し、組織内へ攻撃範囲を拡大していく手口は「ラテラルフィッシング」と呼ばれる。");
                    }
                    let heading = match (targeted, lateral) {
                        (true, true) => "特定の組織を狙うフィッシング攻撃＋ラテラルフィッシング",
                        (true, false) => "特定の組織を狙うフィッシング攻撃",
                        _ => "ラテラルフィッシング",
                    };
                    out.push(point(heading, body.trim_start_matches("また、").to_owned()));
                }
                out.push(point(
                    "巧妙化するフィッシング攻撃への対策",
                    "利用者には、メールの内容やリンク先の見た目だけでなく、送信元アドレスやウェブサイトの URL が正規のものであるかに注意するよう求め、正規のポータルサイトやブックマークからログイン画面を開くことを徹底する。\n\n一方で、利用者の注意には限界もある。アカウント情報が窃取された場合に備えて、不審なログインを検知する仕組みやログイン時に利用者へ通知する仕組み、多要素認証を導入し、通報窓口の周知とインシデント対応の体制を整えておくことも重要である。".to_owned(),
                ));
                checks.push(CHECK_PHISHED);
            }
            CauseCategory::CredentialReuse => {
                out.push(point(
                    "リスト型攻撃への備え",
                    "本事例では、他のサービスから流出したと見られる ID・パスワードの組み合わせでログインされた。サービス提供者は多要素認証の導入、不審なログインの検知、ログイン時の利用者への通知を検討する。利用者は、サービスごとに異なるパスワードを設定し、使い回さない。".to_owned(),
                ));
                checks.push(CHECK_REUSE);
            }
            CauseCategory::UnpatchedSoftware => {
                let cms =
                    f.mentions(&["CMS", "WordPress", "プラグイン", "Joomla", "Drupal", "EC-CUBE", "Movable Type"]);
                let (heading, subject) = if cms {
                    ("CMS の脆弱性", "CMS やプラグイン")
                } else {
                    ("ソフトウェアの脆弱性", "ソフトウェア")
                };
                out.push(point(
                    heading,
                    format!("本事例では、{subject}の既知の脆弱性が悪用された。修正プログラムは速やかに適用し、脆弱性情報を継続的に収集して、短期間で適用できる手順と体制を整えておく。使用していない機能やプラグインは削除する。"),
                ));
                checks.push(CHECK_VERSIONS);
            }
            CauseCategory::CustomCodeVulnerability => {
                out.push(point(
                    "独自プログラムの脆弱性",
                    "本事例では、独自に開発したプログラムの脆弱性が悪用された。開発時のセキュアな設計と実装、公開前の脆弱性診断に加え、公開後も新たな攻撃手法に対する定期的な診断を行う。公開範囲を変えるときは脆弱性対策をやり直す。".to_owned(),
                ));
                checks.push(CHECK_DIAGNOSIS);
            }
            CauseCategory::ThirdParty => {
                out.push(point(
                    "委託先を経由した攻撃",
                    "本事例では、委託先の端末や接続経路が攻撃経路となった。委託先とセキュリティ上の責任範囲を取り決め、対策状況を定期的に確認する。".to_owned(),
                ));
                checks.push(CHECK_CONTRACTOR);
            }
            CauseCategory::Unknown => {
                out.push(point(
                    "原因の特定",
                    "本事例では、被害の原因を特定できなかった。原因調査のため、アクセスログ等を十分な期間保存し、復旧作業で消失しないよう退避しておく。".to_owned(),
                ));
            }
            _ => {}
        }
    }
    // Damages no 1-N chapter explains.
    let server_taken = f.has_cause(CauseCategory::MissingAccessControl)
        || f.has_cause(CauseCategory::WeakCredentials)
        || f.has_cause(CauseCategory::UnpatchedSoftware);
    if f.has_damage(DamageCategory::SteppingStone) && server_taken && f.chapter_for("damage.stepping_stone").is_none() {
        let relentless = f.technique("T1110");
        let mut body = "本事例では、侵入されたサーバが他者への攻撃の踏み台として悪用された。".to_owned();
        if relentless {
            body.push_str("外部からアクセス可能な経路に対してはログイン試行が際限なく行われており、攻撃が成功した場合、そのサーバを悪用して更なる攻撃が行われるという連鎖的な状況が見て取れる。");
        }
        body.push_str("\n\n現在のインターネット環境ではこのような攻撃が常態化しており、適切なアクセス制限を施していない機器をインターネットに接続すると、すぐに攻撃の対象となり、他者への攻撃に加担してしまう恐れもある。たとえ試作環境やテスト環境で、攻撃を受けても自身の損害は小さいといった場合でも、他者への攻撃に悪用される危険性を考慮し、アクセス制限は適切に行っていただきたい。");
        out.push(point(if relentless { "執拗かつ連鎖的な攻撃" } else { "踏み台としての悪用" }, body));
        checks.push(CHECK_OUTBOUND);
    }
    if f.has_damage(DamageCategory::DataDestructionExtortion)
        && f.chapter_for("damage.data_destruction_extortion").is_none()
    {
        out.push(point(
            "データの消去と脅迫への備え",
            "本事例では、データが消去され、復旧と引き換えに金銭を要求する脅迫文が残されていた。攻撃者がデータを保持している保証はなく、身代金を支払ってもデータが戻るとは限らない。データの消去や改ざんに備え、ネットワークから切り離したバックアップを定期的に取得し、復元手順を確認しておく。".to_owned(),
        ));
    }
    if f.has_damage(DamageCategory::Ransomware) && f.chapter_for("damage.ransomware").is_none() {
        out.push(point(
            "ランサムウェアへの備え",
            "本事例では、ファイルが暗号化され、復号と引き換えに金銭を要求された。身代金を支払っても復号される保証はない。ネットワークから切り離したバックアップを定期的に取得し、端末間の不要な通信を遮断して被害の拡大を防ぐ。".to_owned(),
        ));
    }
    checks.dedup();
    (out, Checks { lead: checks_lead(f), items: checks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_reads_as_a_request() {
        for item in ALL_CHECKS {
            let r = request(item);
            assert!(item.ends_with("する") || item.ends_with("じる"), "{item}: write it in the dictionary form");
            assert!(r.ends_with("していただきたい") || r.ends_with("じていただきたい"), "{r}");
            assert!(!r.contains("するして") && !r.contains("るて"), "{r}");
        }
        assert_eq!(
            request(CHECK_PORTS),
            "外部から到達できるサービス（ポート）を洗い出し、不要なものを閉じていただきたい"
        );
    }

    #[test]
    fn checks_are_prose_and_refer_to_the_chapters_that_asked_for_the_rest() {
        let lead = "SSH サービスを外部に公開している場合は、";
        let all = checks_point(lead, &[CHECK_PORTS, CHECK_PASSWORDS], &[]).unwrap();
        assert_eq!(all.body.text, format!("{lead}{}。また、{}。", request(CHECK_PORTS), request(CHECK_PASSWORDS)));
        let some = checks_point(lead, &[CHECK_OUTBOUND], &["3 章".into()]).unwrap();
        assert_eq!(some.body.text, format!("{lead}3 章の事例で挙げた確認に加えて、{}。", request(CHECK_OUTBOUND)));
        let none = checks_point(lead, &[], &["3 章".into()]).unwrap();
        assert_eq!(none.body.text, format!("{lead}3 章の事例で挙げた点を確認していただきたい。"));
        assert!(checks_point(lead, &[], &[]).is_none());
    }
}
