//! The analyst-facing classification dimensions IPA publishes by (DOMAIN.md §2).

use crate::closed_enum;

closed_enum! {
    /// 被害原因. Multi-valued and ordered: the first is the primary cause that groups a case
    /// in the half-year report's 表2-1.
    CauseCategory {
        WeakCredentials => ("weak_credentials", "ID・パスワード管理の不備", "Weak or default credentials"),
        MissingAccessControl => ("missing_access_control", "設定不備（アクセス制限の不備）", "Missing access control"),
        UnpatchedSoftware => ("unpatched_software", "古いバージョンの使用・修正プログラム未適用", "Unpatched software"),
        CustomCodeVulnerability => ("custom_code_vulnerability", "独自プログラムの脆弱性", "Vulnerability in custom code"),
        CredentialReuse => ("credential_reuse", "他サービスから流出した認証情報の悪用（リスト型攻撃）", "Reuse of credentials leaked elsewhere (credential stuffing)"),
        Phishing => ("phishing", "フィッシング等による認証情報の詐取", "Credentials stolen by phishing"),
        ThirdParty => ("third_party", "委託先・サプライチェーン経由", "Via a contractor or supplier"),
        Unknown => ("unknown", "不明", "Unknown"),
        Other => ("other", "その他", "Other"),
        NotApplicable => ("not_applicable", "該当なし（被害なし）", "Not applicable (no damage)"),
    }
}

/// IPA's 原因別 statistics buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CauseBucket {
    CredentialManagement,
    OldVersionUnpatched,
    Misconfiguration,
    Other,
    Unknown,
}

impl CauseCategory {
    /// The IPA statistics bucket; `None` for causes excluded from the 原因別 table
    /// (`third_party` adds to the underlying cause; `not_applicable` has no damage).
    pub fn ipa_bucket(self) -> Option<CauseBucket> {
        use CauseCategory::*;
        match self {
            WeakCredentials => Some(CauseBucket::CredentialManagement),
            MissingAccessControl => Some(CauseBucket::Misconfiguration),
            UnpatchedSoftware => Some(CauseBucket::OldVersionUnpatched),
            CustomCodeVulnerability | CredentialReuse | Phishing | Other => Some(CauseBucket::Other),
            Unknown => Some(CauseBucket::Unknown),
            ThirdParty | NotApplicable => None,
        }
    }
}

closed_enum! {
    /// 被害内容.
    DamageCategory {
        InformationLeak => ("information_leak", "情報漏えい・窃取", "Information leak"),
        Tampering => ("tampering", "改ざん", "Tampering / defacement"),
        MalwarePlaced => ("malware_placed", "不正プログラムの設置", "Malicious program placed"),
        MalwareInfection => ("malware_infection", "ウイルス感染・拡大", "Malware infection"),
        Ransomware => ("ransomware", "ランサムウェア（暗号化）", "Ransomware (encryption)"),
        DataDestructionExtortion => ("data_destruction_extortion", "データ消去・脅迫", "Data destruction and extortion"),
        SteppingStone => ("stepping_stone", "踏み台（他への攻撃・不正メール送信）", "Used as a stepping stone"),
        AccountTakeover => ("account_takeover", "なりすまし（不正ログイン）", "Account takeover"),
        FraudulentUse => ("fraudulent_use", "不正利用（金銭・ポイント等）", "Fraudulent use"),
        ServiceDisruption => ("service_disruption", "サービス停止・障害", "Service disruption"),
        None => ("none", "被害なし（未遂）", "No damage (attempt)"),
    }
}

closed_enum! {
    /// 攻撃行為 (手口), IPA's statistics dimension. A report may carry several.
    AttackType {
        Intrusion => ("intrusion", "侵入行為", "Intrusion"),
        Impersonation => ("impersonation", "なりすまし", "Impersonation"),
        Dos => ("dos", "サービス妨害", "Denial of service"),
        SpamMail => ("spam_mail", "スパムメール", "Spam mail"),
        SteppingStone => ("stepping_stone", "踏み台", "Stepping stone"),
        AutomatedWorm => ("automated_worm", "ワームなどによる自動攻撃", "Automated attack (worm)"),
        BackdoorCreation => ("backdoor_creation", "バックドアの作成", "Backdoor creation"),
        Other => ("other", "その他", "Other"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClosedEnum;

    #[test]
    fn keys_and_labels_round_trip() {
        for c in CauseCategory::ALL {
            assert_eq!(CauseCategory::parse(c.key()).unwrap(), *c);
            assert_eq!(CauseCategory::parse(c.label_ja()).unwrap(), *c);
        }
        assert_eq!(
            "data_destruction_extortion".parse::<DamageCategory>().unwrap(),
            DamageCategory::DataDestructionExtortion
        );
        // Japanese labels use full-width brackets; the ASCII ones older forms printed still parse.
        for c in CauseCategory::ALL.iter().map(|c| c.label_ja()).chain(DamageCategory::ALL.iter().map(|d| d.label_ja()))
        {
            assert!(!c.contains(['(', ')']), "{c}");
        }
        assert_eq!(CauseCategory::parse("設定不備(アクセス制限の不備)").unwrap(), CauseCategory::MissingAccessControl);
        let e = "nope".parse::<AttackType>().unwrap_err();
        assert!(e.to_string().contains("intrusion"), "{e}");
    }

    #[test]
    fn every_cause_but_two_has_an_ipa_bucket() {
        let without: Vec<_> = CauseCategory::ALL.iter().filter(|c| c.ipa_bucket().is_none()).collect();
        assert_eq!(without, [&CauseCategory::ThirdParty, &CauseCategory::NotApplicable]);
    }
}
