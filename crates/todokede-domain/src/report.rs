//! 届出 (Report) and what the two IPA forms ask (DOMAIN.md §1). Every item is optional except
//! the form and a description: the scheme accepts fragmentary and anonymous reports.

use crate::categories::{AttackType, CauseCategory, DamageCategory};
use crate::closed_enum;
use crate::ids::{ReportId, TrackingNumber, UserId};
use crate::lifecycle::ReportState;
use time::{Date, OffsetDateTime};

closed_enum! {
    /// ウイルス届出 / 不正アクセス届出.
    ReportForm {
        Virus => ("virus", "ウイルス届出", "Virus report"),
        UnauthorizedAccess => ("unauthorized_access", "不正アクセス届出", "Unauthorized access report"),
    }
}

closed_enum! {
    /// 届出者種別.
    ReporterKind {
        Individual => ("individual", "個人", "Individual"),
        Company => ("company", "企業", "Company"),
        Educational => ("educational", "教育機関", "Educational institution"),
        Research => ("research", "研究機関", "Research institution"),
        Medical => ("medical", "医療機関", "Medical institution"),
        LocalGovernment => ("local_government", "地方自治体", "Local government"),
        PublicAgency => ("public_agency", "公共機関", "Public agency"),
        IndustryAssociation => ("industry_association", "業界団体", "Industry association"),
        NonProfit => ("non_profit", "非営利団体", "Non-profit organisation"),
        Other => ("other", "その他", "Other"),
    }
}

closed_enum! {
    /// 被害の有無. Virus form: 感染 vs 発見; intrusion form: 被害あり vs 未遂.
    DamageStatus {
        Damage => ("damage", "被害あり", "Damage"),
        AttemptOnly => ("attempt_only", "被害なし（未遂・発見のみ）", "No damage (attempt or detection only)"),
        Unknown => ("unknown", "不明", "Unknown"),
    }
}

closed_enum! {
    /// 発見契機 / 発見方法 (both forms merged; the seeds add monitoring and third-party notices).
    DiscoveryTrigger {
        SelfVisual => ("self_visual", "目視で発見", "Noticed by the reporter"),
        SelfMonitoringAlert => ("self_monitoring_alert", "監視ツール類のアラート", "Monitoring alert"),
        SecuritySoftware => ("security_software", "セキュリティソフトにより発見", "Security software"),
        ExternalCustomerPartner => ("external_customer_partner", "顧客・取引先からの連絡", "Notice from a customer or partner"),
        ExternalServiceProvider => ("external_service_provider", "外部サービスの提供者からの連絡", "Notice from a service provider"),
        ExternalOrganisation => ("external_organisation", "外部組織からの連絡", "Notice from an outside organisation"),
        UserReport => ("user_report", "利用者からの連絡", "Notice from users"),
        Other => ("other", "その他", "Other"),
        Unknown => ("unknown", "不明", "Unknown"),
    }
}

closed_enum! {
    /// 被害を受けた機器等 (intrusion form 2-1) and 発見場所 (virus form 3).
    AffectedAsset {
        Pc => ("pc", "パソコン", "PC"),
        SmartphoneTablet => ("smartphone_tablet", "スマートフォン/タブレット", "Smartphone or tablet"),
        ServerEc => ("server_ec", "サーバ（ECシステム）", "Server: e-commerce"),
        ServerWeb => ("server_web", "サーバ（ウェブシステム）", "Server: web"),
        ServerMail => ("server_mail", "サーバ（メールシステム）", "Server: mail"),
        ServerDomainController => ("server_domain_controller", "サーバ（ドメインコントローラ）", "Server: domain controller"),
        ServerFile => ("server_file", "サーバ（ファイルサーバ）", "Server: file"),
        ServerDatabase => ("server_database", "サーバ（データベースサーバ）", "Server: database"),
        ServerOther => ("server_other", "サーバ（その他）", "Server: other"),
        NetworkDevice => ("network_device", "ネットワーク機器", "Network device"),
        StorageNas => ("storage_nas", "NAS等のストレージ機器", "NAS / storage"),
        InternetServiceAccount => ("internet_service_account", "インターネットサービスのアカウント", "Internet service account"),
        Other => ("other", "その他", "Other"),
        Unknown => ("unknown", "不明", "Unknown"),
    }
}

closed_enum! {
    /// 被害を受けた機器の設置環境 (intrusion form 2-2).
    Deployment {
        OnPremises => ("on_premises", "自組織内に設置（オンプレミス）", "On premises"),
        CloudIaas => ("cloud_iaas", "クラウド環境に設置", "Cloud (IaaS)"),
        CloudSaas => ("cloud_saas", "クラウドサービス（SaaS等）", "Cloud service (SaaS)"),
        Hosting => ("hosting", "ホスティングサービスの利用", "Hosting service"),
        InternetService => ("internet_service", "インターネットサービスの利用", "Internet service"),
        ClosedNetwork => ("closed_network", "クローズド環境", "Closed network"),
        Other => ("other", "その他", "Other"),
        Unknown => ("unknown", "不明", "Unknown"),
    }
}

closed_enum! {
    /// 推定される感染経路 (virus form 6).
    InfectionVector {
        Email => ("email", "電子メール", "E-mail"),
        WebBrowsing => ("web_browsing", "Web閲覧", "Web browsing"),
        DownloadedFile => ("downloaded_file", "ダウンロードファイル", "Downloaded file"),
        Other => ("other", "その他", "Other"),
        Unknown => ("unknown", "不明", "Unknown"),
    }
}

closed_enum! {
    /// Three-valued answers (インターネット接続: あり / なし / 不明).
    TriState {
        Yes => ("yes", "あり", "Yes"),
        No => ("no", "なし", "No"),
        Unknown => ("unknown", "不明", "Unknown"),
    }
}

closed_enum! {
    /// Language of the report and of the replies the reporter gets.
    Language {
        Ja => ("ja", "日本語", "Japanese"),
        En => ("en", "英語", "English"),
    }
}

impl Language {
    /// This language's text out of a Japanese/English pair.
    pub fn pick<T>(self, ja: T, en: T) -> T {
        match self {
            Language::Ja => ja,
            Language::En => en,
        }
    }
}

closed_enum! {
    /// How a submission reached us.
    Channel {
        Api => ("api", "API", "API"),
        WebForm => ("web_form", "Webフォーム", "Web form"),
        Email => ("email", "電子メール", "E-mail"),
        Import => ("import", "取込み", "Import"),
    }
}

/// An e-mail address as given by a reporter: one `@`, non-empty local part and domain,
/// no whitespace or control characters (which would allow header injection in replies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, InvalidEmail> {
        let s = s.trim();
        let (local, domain) = s.split_once('@').ok_or(InvalidEmail)?;
        let ok = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'));
        if ok { Ok(EmailAddress(s.to_owned())) } else { Err(InvalidEmail) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an e-mail address")]
pub struct InvalidEmail;

/// 届出者. Every field optional: a report may be anonymous.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reporter {
    pub kind: Option<ReporterKind>,
    pub name: Option<String>,
    pub organization: Option<String>,
    pub email: Option<EmailAddress>,
    pub phone: Option<String>,
    /// 住所 — the forms ask for the prefecture only.
    pub address: Option<String>,
}

/// Software seen on the affected system, with its version when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Software {
    pub name: String,
    pub version: Option<String>,
}

/// The affected systems: what, where, which OS and software, which services were reachable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AffectedSystems {
    pub assets: Vec<AffectedAsset>,
    pub deployment: Vec<Deployment>,
    pub os: Option<String>,
    pub software: Vec<Software>,
    /// Services reachable from the Internet (3306, 3389, 22, …).
    pub exposed_ports: Vec<u16>,
    pub internet_connected: Option<TriState>,
}

/// Items only the virus form asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VirusDetails {
    /// ウイルス名称 (or the symptoms when unknown).
    pub virus_name: Option<String>,
    pub symptoms: Option<String>,
    /// 件(個): one report may cover several detections.
    pub detection_count: Option<u32>,
    pub infection_vectors: Vec<InfectionVector>,
}

/// What the reporter told us: the content of a 届出, independent of how it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportContent {
    pub form: ReportForm,
    pub language: Language,
    pub reporter: Reporter,
    /// 発見日.
    pub discovered_on: Option<Date>,
    /// 発見経緯.
    pub discovery: Option<DiscoveryTrigger>,
    pub discovery_narrative: Option<String>,
    /// 被害の有無.
    pub damage_status: DamageStatus,
    /// 被害内容, as the reporter saw it.
    pub damages: Vec<DamageCategory>,
    pub damage_narrative: Option<String>,
    /// 被害原因 if known.
    pub causes: Vec<CauseCategory>,
    pub cause_narrative: Option<String>,
    /// 被害対応 / 事後対策.
    pub response_narrative: Option<String>,
    pub affected: AffectedSystems,
    pub virus: Option<VirusDetails>,
    /// The reporter's own words. Never empty.
    pub description: String,
    /// The reporter's own reference for the case (their ticket number), if they gave one.
    pub reporter_reference: Option<String>,
}

impl ReportContent {
    /// The report's own texts, each with its part number (0 the description, 1–4 the
    /// narratives, 5 the virus name, 6 its symptoms): what is searched from the moment the
    /// report is accepted and what the analysis compares for near-duplicates.
    pub fn texts(&self) -> Vec<(i64, &str)> {
        let mut texts = vec![(0, self.description.as_str())];
        let narratives =
            [&self.discovery_narrative, &self.damage_narrative, &self.cause_narrative, &self.response_narrative];
        for (i, t) in narratives.into_iter().enumerate() {
            if let Some(t) = t {
                texts.push((1 + i as i64, t.as_str()));
            }
        }
        if let Some(v) = &self.virus {
            texts
                .extend(v.virus_name.iter().map(|t| (5, t.as_str())).chain(v.symptoms.iter().map(|t| (6, t.as_str()))));
        }
        texts
    }

    /// A report of `form` that says only `description`: everything else unknown, as the
    /// scheme allows.
    pub fn new(form: ReportForm, language: Language, description: String) -> Self {
        ReportContent {
            form,
            language,
            reporter: Reporter::default(),
            discovered_on: None,
            discovery: None,
            discovery_narrative: None,
            damage_status: DamageStatus::Unknown,
            damages: vec![],
            damage_narrative: None,
            causes: vec![],
            cause_narrative: None,
            response_narrative: None,
            affected: AffectedSystems::default(),
            virus: None,
            description,
            reporter_reference: None,
        }
    }
}

/// Metadata of a stored attachment; the bytes live under their SHA-256 in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    pub sha256: String,
    /// The name the submitter gave, for display only — never used as a path.
    pub filename: String,
    pub content_type: String,
    pub size: u64,
}

/// The analyst-confirmed classification of a report (the values statistics are built from).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classification {
    /// Ordered: the first is the primary cause.
    pub causes: Vec<CauseCategory>,
    pub damages: Vec<DamageCategory>,
    pub attack_types: Vec<AttackType>,
    /// ATT&CK technique IDs.
    pub techniques: Vec<String>,
    /// 被害の有無: `None` when not known.
    pub has_damage: Option<bool>,
}

impl Classification {
    /// The trend facets it contributes: the primary cause, each damage, each technique
    /// (`cause.missing_access_control`, `damage.data_destruction_extortion`, `technique.T1485`).
    pub fn facets(&self) -> Vec<String> {
        use crate::ClosedEnum as _;
        self.causes
            .first()
            .map(|p| format!("cause.{}", p.key()))
            .into_iter()
            .chain(self.damages.iter().filter(|d| **d != DamageCategory::None).map(|d| format!("damage.{}", d.key())))
            .chain(self.techniques.iter().map(|t| format!("technique.{t}")))
            .collect()
    }

    /// The dimensions in which `self` differs from `other`, by name.
    pub fn differences(&self, other: &Classification) -> Vec<&'static str> {
        let mut d = Vec::new();
        if self.causes != other.causes {
            d.push("causes");
        }
        let set = |v: &[DamageCategory]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        if set(&self.damages) != set(&other.damages) {
            d.push("damages");
        }
        let set = |v: &[AttackType]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        if set(&self.attack_types) != set(&other.attack_types) {
            d.push("attack_types");
        }
        let set = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        if set(&self.techniques) != set(&other.techniques) {
            d.push("techniques");
        }
        if self.has_damage != other.has_damage {
            d.push("has_damage");
        }
        d
    }
}

/// Who did something on a report: an analyst, the reporter (a 続報), or the system itself
/// (a state the reporter's answer moved the report to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Analyst(UserId),
    Reporter,
    System,
}

/// One entry on a report's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimelineEntry {
    StateChanged {
        from: ReportState,
        to: ReportState,
        by: Actor,
        at: OffsetDateTime,
    },
    /// 続報 from the reporter.
    FollowUp {
        body: String,
        attachments: Vec<AttachmentMeta>,
        at: OffsetDateTime,
    },
    /// Internal analyst note, never shown to the reporter.
    Note {
        body: String,
        by: UserId,
        at: OffsetDateTime,
    },
    /// A message from an analyst to the reporter.
    Reply {
        body: String,
        by: UserId,
        at: OffsetDateTime,
    },
    /// The report was given to an analyst (or to nobody).
    Assigned {
        to: Option<UserId>,
        by: UserId,
        at: OffsetDateTime,
    },
    /// An analyst confirmed the classification (its primary cause, if any).
    Classified {
        primary_cause: Option<CauseCategory>,
        by: UserId,
        at: OffsetDateTime,
    },
    /// An analyst linked the report to another one (one incident).
    Linked {
        other: TrackingNumber,
        by: UserId,
        at: OffsetDateTime,
    },
}

impl TimelineEntry {
    pub fn at(&self) -> OffsetDateTime {
        match self {
            TimelineEntry::StateChanged { at, .. }
            | TimelineEntry::FollowUp { at, .. }
            | TimelineEntry::Note { at, .. }
            | TimelineEntry::Reply { at, .. }
            | TimelineEntry::Assigned { at, .. }
            | TimelineEntry::Classified { at, .. }
            | TimelineEntry::Linked { at, .. } => *at,
        }
    }
    /// Who made the entry.
    pub fn actor(&self) -> Actor {
        match self {
            TimelineEntry::StateChanged { by, .. } => *by,
            TimelineEntry::FollowUp { .. } => Actor::Reporter,
            TimelineEntry::Note { by, .. }
            | TimelineEntry::Reply { by, .. }
            | TimelineEntry::Assigned { by, .. }
            | TimelineEntry::Classified { by, .. }
            | TimelineEntry::Linked { by, .. } => Actor::Analyst(*by),
        }
    }
    /// Whether the reporter may see this entry on their page (their messages, the analysts'
    /// replies and the state; never notes or the analysts' handling).
    pub fn visible_to_reporter(&self) -> bool {
        matches!(
            self,
            TimelineEntry::StateChanged { .. } | TimelineEntry::FollowUp { .. } | TimelineEntry::Reply { .. }
        )
    }
}

/// A stored 届出.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: ReportId,
    pub tracking_number: TrackingNumber,
    pub state: ReportState,
    pub channel: Channel,
    /// 届出日.
    pub received_at: OffsetDateTime,
    pub content: ReportContent,
    pub attachments: Vec<AttachmentMeta>,
    pub assignee: Option<UserId>,
    pub timeline: Vec<TimelineEntry>,
    /// See `Submission::intake_notes`.
    pub intake_notes: Vec<String>,
    /// Raised by every change (state, assignment, classification, links, timeline): the
    /// analysts' API's ETag.
    pub version: i64,
}

impl Report {
    /// Every attachment: those sent with the report, then those of each follow-up.
    pub fn all_attachments(&self) -> Vec<&AttachmentMeta> {
        let mut all: Vec<&AttachmentMeta> = self.attachments.iter().collect();
        for e in &self.timeline {
            if let TimelineEntry::FollowUp { attachments, .. } = e {
                all.extend(attachments.iter());
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rejects_header_injection_and_garbage() {
        assert!(EmailAddress::parse("taro@example.jp").is_ok());
        assert!(EmailAddress::parse("a@b.c\r\nBcc: x@y.z").is_err());
        assert!(EmailAddress::parse("no-at-sign").is_err());
        assert!(EmailAddress::parse("a@nodot").is_err());
        assert!(EmailAddress::parse("x <a@b.c>").is_err());
    }
}
