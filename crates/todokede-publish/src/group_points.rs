//! 着目点 of a 2-1-N group (the cases of 表2-1 under one primary cause), written from the
//! group's own cases as the seeds' 2-1-x are: how the cause showed itself this period and in
//! which cases (項番), what the attached logs showed, then what would have stopped it — the
//! countermeasure knowledge of the group's primary cause (and of a cause most of its cases
//! share), each measure a headed paragraph, a fact of the period beside it where a case gives
//! one (a temporary test server, a block that was evaded, a SOC that caught the attack).
//! Nothing is quoted from a report: its text is only searched for what it names.

use crate::document::{Point, Text};
use crate::observations::{EvidenceFact, describe_finding};
use todokede_domain::{CauseCategory, ClosedEnum, DamageCategory};

/// One listed case of the group: its 項番, classification and (never quoted) texts.
pub struct Member<'a> {
    pub no: u32,
    pub causes: &'a [CauseCategory],
    pub damages: &'a [DamageCategory],
    pub techniques: &'a [String],
    /// Description and 届出内容 narratives, searched for what they name.
    pub text: String,
    pub evidence: &'a [EvidenceFact],
}

impl Member<'_> {
    fn mentions(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.text.contains(w))
    }
    fn technique(&self, prefix: &str) -> bool {
        self.techniques.iter().any(|t| t == prefix || t.starts_with(&format!("{prefix}.")))
    }
    fn damage(&self, d: DamageCategory) -> bool {
        self.damages.contains(&d)
    }
}

/// A group as its 着目点 need it.
pub struct GroupFacts<'a> {
    pub cause: CauseCategory,
    pub members: Vec<Member<'a>>,
    /// The earlier periods the system has data for had cases of this primary cause.
    pub seen_before: bool,
    /// The appendix prints the group's count (分類別); false when it withholds it ("<3",
    /// "x"), and the text states no number either.
    pub count_shown: bool,
}

fn point(heading: Option<&str>, paragraphs: &[String]) -> Point {
    Point { heading: heading.map(Text::fixed), body: Text::fixed(paragraphs.join("\n\n")) }
}

/// "項番 1, 2" (the seeds' footnote form).
fn numbers(nos: &[u32]) -> String {
    format!("項番 {}", nos.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))
}

/// What was left reachable, in the words of 2-1-1 (the route of an access-control case).
fn exposure(m: &Member) -> &'static str {
    if m.mentions(&["phpMyAdmin", "phpmyadmin"]) {
        "phpMyAdmin といったデータベース管理ツールが外部からアクセス可能になっていたために不正アクセスを受け"
    } else if m.mentions(&["MySQL", "3306", "MongoDB", "PostgreSQL", "Elasticsearch", "データベースサーバ"]) {
        "データベースサーバが外部から接続可能な状態であったために侵入され"
    } else if m.mentions(&["Samba", "SMB", "ファイル共有", "ファイルサーバ"]) || m.technique("T1021.002") {
        "ファイル共有サービスを外部からアクセス可能な状態のまま放置していたために不正にログインされ"
    } else if m.mentions(&["リモートデスクトップ", "RDP"]) || m.technique("T1021.001") {
        "リモートデスクトップが外部から接続可能な状態であったために不正にログインされ"
    } else if m.mentions(&["SSH"]) || m.technique("T1021.004") {
        "SSH によるログインが外部から行える状態になっていたために不正にログインされ"
    } else if m.mentions(&["メールサーバ", "メールアカウント"]) {
        "メールサーバのアカウントに外部から制限なくログインを試行できたために不正にログインされ"
    } else if m.mentions(&["VPN"]) {
        "VPN 装置が外部から制限なく利用できる状態であったために侵入され"
    } else if m.mentions(&["管理画面"]) {
        "管理画面が外部からアクセス可能になっていたために不正にログインされ"
    } else {
        "外部からアクセス可能なサービスの制限が不十分であったために不正アクセスを受け"
    }
}

/// How a case of the group's cause came about (the first half of its 今期では… fragment).
fn how(cause: CauseCategory, m: &Member) -> &'static str {
    match cause {
        CauseCategory::MissingAccessControl => exposure(m),
        CauseCategory::WeakCredentials => {
            if m.mentions(&["パスワードなし", "パスワードが設定されていない", "空のパスワード"])
            {
                "パスワードのないアカウントを悪用されて不正にログインされ"
            } else if m.technique("T1078.001") || m.mentions(&["初期設定", "初期パスワード", "デフォルト"])
            {
                "初期設定のままのアカウントを悪用されて不正にログインされ"
            } else {
                "推測されやすいパスワードを突破されて不正にログインされ"
            }
        }
        CauseCategory::CredentialReuse => "他のサービス等から流出したと見られる ID・パスワードを使われ",
        CauseCategory::UnpatchedSoftware => {
            if m.mentions(&["CMS", "WordPress", "プラグイン", "Joomla", "Drupal", "EC-CUBE", "Movable Type"]) {
                "CMS やそのプラグインの脆弱性を悪用され"
            } else {
                "ソフトウェアの既知の脆弱性を悪用され"
            }
        }
        CauseCategory::CustomCodeVulnerability => {
            if m.mentions(&["SQLインジェクション", "SQL インジェクション"]) {
                "独自に作成したプログラムの脆弱性を突く SQL インジェクション攻撃を受け"
            } else {
                "独自に作成したプログラムの脆弱性を悪用され"
            }
        }
        CauseCategory::Phishing => "フィッシングサイトに誘導されてアカウント情報を窃取され",
        CauseCategory::ThirdParty => "委託先の端末や接続経路を経由して侵入され",
        _ => "",
    }
}

/// What the case suffered, as 2-1 writes it (its first damage).
fn suffered(m: &Member) -> String {
    let Some(d) = m.damages.iter().find(|d| **d != DamageCategory::None) else {
        return "攻撃を受けた".into();
    };
    match d {
        DamageCategory::DataDestructionExtortion if m.mentions(&["データベース", "テーブル"]) => {
            "データベースを消去され身代金を要求された".into()
        }
        DamageCategory::DataDestructionExtortion => "脅迫文が書かれたファイルを置かれた".into(),
        DamageCategory::SteppingStone if m.mentions(&["メール"]) && !m.mentions(&["SSH 通信", "SSH の総当たり"]) => {
            "不審なメールの送信元にされた".into()
        }
        DamageCategory::SteppingStone => "他組織への攻撃の踏み台にされた".into(),
        DamageCategory::AccountTakeover if m.mentions(&["メールアカウント", "メールサーバ"]) => {
            "メールアカウントを不正に使用された".into()
        }
        DamageCategory::AccountTakeover if m.damage(DamageCategory::FraudulentUse) && m.mentions(&["ポイント"]) => {
            "アカウントに不正にログインされ、ポイントを不正に引き換えられた".into()
        }
        DamageCategory::AccountTakeover if m.damage(DamageCategory::FraudulentUse) && m.mentions(&["注文"]) => {
            "アカウントに不正にログインされ、身に覚えのない注文をされた".into()
        }
        DamageCategory::AccountTakeover => "アカウントに不正にログインされた".into(),
        DamageCategory::InformationLeak if m.mentions(&["個人情報", "メールアドレス"]) => {
            "個人情報等が漏えいした".into()
        }
        DamageCategory::InformationLeak => "情報が漏えいした".into(),
        DamageCategory::Tampering if m.mentions(&["リダイレクト"]) => {
            "ウェブサイトを改ざんされ、閲覧者が別のサイトへ誘導された".into()
        }
        DamageCategory::Tampering => "ウェブサイトを改ざんされた".into(),
        DamageCategory::MalwarePlaced => "不正なプログラムを設置された".into(),
        DamageCategory::Ransomware => "ファイルを暗号化され身代金を要求された".into(),
        DamageCategory::FraudulentUse => "サービスを不正に利用された".into(),
        DamageCategory::ServiceDisruption => "サービスが停止した".into(),
        DamageCategory::MalwareInfection => "ウイルスに感染した".into(),
        other => format!("{}の被害を受けた", other.label_ja()),
    }
}

/// The group's first paragraph: how the cause showed itself, then this period's cases by kind.
fn situation(g: &GroupFacts) -> Vec<String> {
    let lead = match g.cause {
        CauseCategory::MissingAccessControl => {
            "アクセス制限などの基本的な対策が行われずに通信サービスを公開してしまったために不正アクセス被害を受けた事例"
        }
        CauseCategory::WeakCredentials => "推測されやすいパスワードや初期設定のままのアカウントを悪用された事例",
        CauseCategory::CredentialReuse => "リスト型攻撃によるアカウントの不正ログインの被害",
        CauseCategory::UnpatchedSoftware => "公開済みの修正プログラムが適用されていない脆弱性を悪用された被害",
        CauseCategory::CustomCodeVulnerability => {
            "ウェブアプリケーションにおいて独自に作成したプログラムの脆弱性を悪用された被害"
        }
        CauseCategory::Phishing => "フィッシング攻撃によるアカウント情報の窃取の被害",
        CauseCategory::ThirdParty => "委託先を経由して侵入された事例",
        CauseCategory::Unknown => "被害の原因を特定できなかった事例",
        CauseCategory::NotApplicable => "攻撃を受けたものの被害に至る前に防ぐことができた事例",
        _ => "これらに分類されない被害",
    };
    let n = if g.count_shown { format!(" {} 件", g.members.len()) } else { String::new() };
    let first = if g.seen_before {
        format!("今期も、{lead}が{n}届け出られており、依然として同様の被害が続いている。")
    } else {
        format!("今期は、{lead}が{n}届け出られた。")
    };
    // 今期では、A被害（項番 1, 2）や、B被害（項番 5）…が届出られている — one kind per route.
    let mut kinds: Vec<(String, Vec<u32>)> = vec![];
    for m in &g.members {
        let h = how(g.cause, m);
        // An access-control case is its exposure; the others, how and what.
        let key =
            if g.cause == CauseCategory::MissingAccessControl { h.to_owned() } else { format!("{h}{}", suffered(m)) };
        match kinds.iter_mut().find(|(k, _)| *k == key) {
            Some((_, nos)) => nos.push(m.no),
            None => kinds.push((key, vec![m.no])),
        }
    }
    // How it came about is said once for the kinds that share it.
    let mut said_how = "";
    let fragments: Vec<String> = kinds
        .iter()
        .take(6)
        .map(|(_, nos)| {
            let m = g.members.iter().find(|m| m.no == nos[0]).expect("member");
            let h = how(g.cause, m);
            let body = if h.is_empty() || h == said_how { suffered(m) } else { format!("{h}、{}", suffered(m)) };
            said_how = h;
            format!("{body}被害（{}）", numbers(nos))
        })
        .collect();
    let list = |fs: &[String]| match fs.split_first() {
        Some((head, [])) => head.clone(),
        Some((head, rest)) => format!("{head}や、{}", rest.join("、")),
        None => String::new(),
    };
    let mut out = vec![first];
    // Three kinds to a sentence, as the seeds' 2-1-1; the rest in a second one.
    let (main, rest) = fragments.split_at(fragments.len().min(3));
    if !main.is_empty() {
        out.push(format!("具体的には、{}が届出られている。", list(main)));
    }
    if !rest.is_empty() {
        let more = if kinds.len() > 6 { "など" } else { "" };
        out.push(format!("このほか、{}{more}もあった。", list(rest)));
    }
    // What the logs attached to the group's reports showed, by kind (counted in 1-N, named here).
    let mut seen: Vec<(&str, Vec<u32>)> = vec![];
    for m in &g.members {
        for f in m.evidence {
            let Some(what) = describe_finding(&f.kind) else { continue };
            match seen.iter_mut().find(|(w, _)| *w == what) {
                Some((_, nos)) if !nos.contains(&m.no) => nos.push(m.no),
                Some(_) => {}
                None => seen.push((what, vec![m.no])),
            }
        }
    }
    if !seen.is_empty() {
        let list: Vec<String> = seen.iter().take(3).map(|(w, nos)| format!("{} では{w}", numbers(nos))).collect();
        out.push(format!("届出に添付されたログからも、{}が確認されている。", list.join("、")));
    }
    vec![out.join("")]
}

/// Cases whose text names one of `words`, as 項番.
fn cases_naming(g: &GroupFacts, words: &[&str]) -> Vec<u32> {
    g.members.iter().filter(|m| m.mentions(words)).map(|m| m.no).collect()
}

/// The measures of one cause, as headed paragraphs with the period's facts beside them.
fn measures(cause: CauseCategory, g: &GroupFacts, out: &mut Vec<Point>) {
    match cause {
        CauseCategory::MissingAccessControl => {
            let mut functions = vec![];
            if !cases_naming(g, &["phpMyAdmin", "phpmyadmin", "管理画面"]).is_empty() {
                functions.push("ブラウザを使った管理機能");
            }
            functions.push("SSH や RDP といったリモートアクセス機能");
            if !cases_naming(g, &["MySQL", "3306", "MongoDB", "データベースサーバ"]).is_empty() {
                functions.push("データベースへの接続");
            }
            if !cases_naming(g, &["Samba", "SMB", "ファイル共有"]).is_empty() {
                functions.push("ファイル共有");
            }
            out.push(point(
                Some("必要最小限の通信に限った許可"),
                &[
                    "インターネットに接続する機器は、通信のアクセス制限が必要であるか否かを漏れなく確認し、必要な場合には最小限の通信に限ってアクセスを許可することを心掛けていただきたい（すべての通信を許可しない状態を土台とした上で、可能な限り条件を絞って許可する通信を設定していく）。".to_owned(),
                    format!(
                        "特に、ネットワーク経由で機器を操作する管理機能（{}など）の制限については確実に実施していただきたい。",
                        functions.join("、")
                    ),
                ],
            ));
            let temporary =
                cases_naming(g, &["一時的", "検証用", "テスト環境", "保守作業", "作業用", "構築中", "管理用に設置"]);
            let mut paragraphs = vec![
                "また、システム構築やメンテナンス作業で一時的に使用していたサービスや管理機能が本番稼働時に残存するといったことが起きないよう、不要なサービスや管理機能が稼働していないかの確認も行っていただきたい。".to_owned(),
            ];
            if !temporary.is_empty() {
                paragraphs.push(format!(
                    "今期の{} も、検証や保守、管理のために設置したサーバやサービスが外部から利用できる状態で残されていたものである。",
                    numbers(&temporary)
                ));
            }
            out.push(point(Some("不要なサービスや管理機能の確認"), &paragraphs));
        }
        CauseCategory::WeakCredentials => {
            let mut weak = vec![];
            for (words, what) in [
                (&["パスワードなし", "パスワードが設定されていない"][..], "パスワードなしでログインできるユーザ"),
                (&["ユーザ名とパスワードが同一", "ユーザ名から推測"][..], "ユーザ名と同じか推測可能なパスワード"),
                (&["root"][..], "容易にログインできる root ユーザ"),
                (&["安易なパスワード", "脆弱なパスワード", "パスワードが脆弱"][..], "安易なパスワード"),
            ] {
                let nos = cases_naming(g, words);
                if !nos.is_empty() {
                    weak.push(format!("{what}（{}）", numbers(&nos)));
                }
            }
            let mut paragraphs = vec![];
            if !weak.is_empty() {
                paragraphs.push(format!("今期の届出では、{}が侵入の糸口となっている。", weak.join("、")));
            }
            paragraphs.push(
                "外部から到達できるアカウントには、管理者用に限らず、データベースやメールのアカウントも含めて推測されにくいパスワードを設定し、初期設定のアカウントやパスワードのないアカウントが残っていないかを確認していただきたい。あわせて、ログイン試行の回数を制限し、試行の記録を定期的に確認することも有効である。".to_owned(),
            );
            out.push(point(Some("アカウントごとのパスワードの見直し"), &paragraphs));
        }
        CauseCategory::CredentialReuse => {
            let mut paragraphs = vec![
                "これらの攻撃に対しては、利用者とサービス提供者の双方で対策を進めるべきであり、そもそも、利用者がパスワードを使い回さないことが重要である。".to_owned(),
                "サービス提供者側のシステム的な施策としては、パスワードを用いない認証方法や多要素認証の導入、不審なログインの試行を検知する仕組み、ログインが行われた時に利用者へ通知する仕組みの導入といったことが考えられる。".to_owned(),
            ];
            let evaded: Vec<u32> = g
                .members
                .iter()
                .filter(|m| m.mentions(&["ブロック", "回数制限"]) && m.mentions(&["回避", "少な"]))
                .map(|m| m.no)
                .collect();
            if !evaded.is_empty() {
                paragraphs.push(format!(
                    "今期の{} では、ログイン試行の回数に基づくブロック措置を講じていたものの、多数の接続元から少数ずつ試行されたために回避されていた。接続元ごとの回数制限だけに頼らず、ログイン失敗の急増や未登録のアカウントへの試行といった兆候も監視していただきたい。",
                    numbers(&evaded)
                ));
            }
            out.push(point(Some("利用者とサービス提供者の双方での対策"), &paragraphs));
        }
        CauseCategory::UnpatchedSoftware => {
            let mut paragraphs = vec![];
            let regular: Vec<u32> = g
                .members
                .iter()
                .filter(|m| m.mentions(&["定期的"]) && m.mentions(&["更新", "適用"]))
                .map(|m| m.no)
                .collect();
            if !regular.is_empty() {
                paragraphs.push(format!(
                    "特に今期の{} では、普段から修正プログラムを定期的に適用していたにも関わらず、修正プログラムの公開から攻撃までの期間が短かったため、対応が間に合わず被害を受けている。",
                    numbers(&regular)
                ));
            }
            paragraphs.push(
                "脆弱性の公開（修正プログラムの公開）から実際に攻撃が行われるまでの期間が短いケースがあることをふまえ、脆弱性対策では、修正プログラムの公開を速やかに把握できるよう日頃の情報収集が大切になる。また、速やかに修正プログラムを適用するための手順や体制を前もって整えておくことも重要である。".to_owned(),
            );
            out.push(point(Some("修正プログラムの公開を速やかに把握し適用する"), &paragraphs));
            let planted: Vec<u32> = g
                .members
                .iter()
                .filter(|m| m.technique("T1505.003") || m.mentions(&["webshell", "ウェブシェル"]))
                .map(|m| m.no)
                .collect();
            if !planted.is_empty() {
                out.push(point(
                    Some("侵入後に残された不正なファイル"),
                    &[format!(
                        "{} では、ウェブシェル（第三者による遠隔操作を可能とする不正なプログラム）が設置されていた。修正プログラムを適用しただけでは設置されたファイルは残るため、被害を受けた場合はサーバ内に不審なファイルや設定の変更がないかを確認し、必要に応じて再構築していただきたい。",
                        numbers(&planted)
                    )],
                ));
            }
        }
        CauseCategory::CustomCodeVulnerability => {
            let mut paragraphs = vec![
                "独自に作成するプログラムに関しては、まず開発段階でセキュアな設計を行い脆弱性を作りこまないようにし、システムリリース前にも脆弱性点検を行っておく必要がある。また、新たな攻撃手法にも随時対応していくために、定期的に脆弱性点検を行い、新たに発見される脆弱性を修正していく必要もある。".to_owned(),
            ];
            let watched = cases_naming(g, &["SOC", "監視サービス", "WAF", "IDS"]);
            if !watched.is_empty() {
                paragraphs.push(format!(
                    "{} は、外部の監視サービスが攻撃の通信を検知したことで発覚しており、攻撃を検知する仕組みが被害の早期発見に役立つことを示している。",
                    numbers(&watched)
                ));
            }
            out.push(point(Some("開発から運用までの脆弱性点検"), &paragraphs));
        }
        CauseCategory::Phishing => {
            let mut risk = vec![];
            if g.members.iter().any(|m| m.damage(DamageCategory::SteppingStone) || m.technique("T1534")) {
                risk.push("メールアカウントが攻撃者に窃取されると、そのメールアドレスからフィッシングメールやウイルスメールを送るなどの攻撃の踏み台にされてしまい、周囲に被害を拡散しかねない。".to_owned());
            }
            risk.push(
                "また、窃取されたアカウントは、メールの盗み見やビジネスメール詐欺の被害に繋がる可能性もある。"
                    .to_owned(),
            );
            if risk.len() == 1 {
                risk[0] = risk[0].trim_start_matches("また、").to_owned();
            }
            out.push(point(Some("窃取されたアカウントが招く被害"), &[risk.join("")]));
            out.push(point(
                Some("手口を知り、偽のサイトで入力しない"),
                &[
                    "フィッシング攻撃に対しては、まずメール利用者自身がフィッシング攻撃の手口を認識して、不審なメールの添付ファイルや URL リンクを開かないこと、また、本物ではないウェブサイトで ID やパスワードを入力しないことが重要である。".to_owned(),
                    "企業・組織等においては、システム管理部門が定期的にフィッシング攻撃の手口について情報収集し、利用者に注意を促すといったことも有効である。".to_owned(),
                ],
            ));
        }
        CauseCategory::ThirdParty => {
            out.push(point(
                Some("委託先とのセキュリティ上の取り決め"),
                &["委託先の作業用端末や接続経路も攻撃経路になり得る。委託先とセキュリティ上の責任範囲を取り決め、作業のために設置したサービスやアカウントが作業後に残っていないか、対策の状況を定期的に確認していただきたい。".to_owned()],
            ));
        }
        CauseCategory::Unknown => {
            out.push(point(
                Some("原因調査に備えたログの保存"),
                &["原因が分からなければ、再発を防ぐ対策も定まらない。アクセスログや認証ログを十分な期間保存し、復旧作業の前に退避しておくことで、被害を受けた場合にも原因を調査できるようにしていただきたい。".to_owned()],
            ));
        }
        CauseCategory::NotApplicable => {
            out.push(point(
                Some("未然に防げた要因"),
                &["これらの事例では、監視や検知の仕組みが働き、被害に至る前に攻撃に気付くことができた。不審な通信やログイン試行を検知する仕組みと、検知した際に速やかに対応できる体制を維持していただきたい。".to_owned()],
            ));
        }
        _ => {}
    }
}

/// The group's 着目点: the situation (no heading: 2-1-N is its heading), the measures of its
/// primary cause, those of a cause most of its cases share, and nothing of a cause none has.
pub fn group_points(g: &GroupFacts) -> Vec<Point> {
    let mut out = vec![point(None, &situation(g))];
    measures(g.cause, g, &mut out);
    let mut shared: Vec<CauseCategory> = vec![];
    for m in &g.members {
        for c in m.causes.iter().skip(1) {
            if *c != g.cause && !shared.contains(c) {
                shared.push(*c);
            }
        }
    }
    shared.sort_by_key(|c| c.key());
    for c in shared {
        let n = g.members.iter().filter(|m| m.causes.contains(&c)).count();
        if n * 2 > g.members.len() {
            measures(c, g, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_names_its_cases_and_says_nothing_of_a_cause_none_has() {
        let causes = [CauseCategory::CredentialReuse];
        let damages = [DamageCategory::AccountTakeover];
        let m = |no: u32, text: &str| Member {
            no,
            causes: &causes,
            damages: &damages,
            techniques: &[],
            text: text.into(),
            evidence: &[],
        };
        let g = GroupFacts {
            cause: CauseCategory::CredentialReuse,
            members: vec![m(3, "リスト型攻撃"), m(4, "ブロック措置が回避されていた")],
            seen_before: false,
            count_shown: true,
        };
        let text: String = group_points(&g).iter().map(|p| p.body.text.clone()).collect();
        assert!(text.contains("（項番 3, 4）"), "{text}");
        assert!(text.contains("今期の項番 4 では"), "{text}");
        for foreign in ["アクセス制限", "修正プログラム", "フィッシング", "依然として"] {
            assert!(!text.contains(foreign), "{foreign}: {text}");
        }
    }
}
