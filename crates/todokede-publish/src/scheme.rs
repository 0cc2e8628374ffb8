//! Chapter 届出のお願い's fixed parts: the contact points (the operator's own, from the
//! settings; until they are set, placeholders that say so on the page) and the box with the
//! scheme's legal basis — the METI 告示 コンピュータウイルス対策基準 and コンピュータ不正アクセス
//! 対策基準 with their dates and numbers, as the seeds print them (DOMAIN.md F1, F2).

use serde::{Deserialize, Serialize};

/// One contact point of the scheme: where a report goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// 「ウイルスの発見・被害に関する届出」.
    pub label: String,
    pub email: String,
    pub url: String,
    /// Not configured yet: the page marks it 【要設定】 and the review lists it.
    #[serde(default)]
    pub placeholder: bool,
}

impl Contact {
    /// The URL as the page prints it: the site's page, without a query or fragment (a reader
    /// types what is printed; `?form=unauthorized_access` is the program's, not the reader's).
    /// The link itself keeps the whole URL.
    pub fn printed_url(&self) -> String {
        let url = self.url.split(['?', '#']).next().unwrap_or(&self.url);
        url.to_owned()
    }
}

/// The settings keys a document's contacts still need: those of its placeholder contacts
/// whose value `get` does not give (all of them when `get` gives nothing).
pub fn unset_contact_keys(contacts: &[Contact], get: impl Fn(&str) -> Option<String>) -> Vec<&'static str> {
    contacts
        .iter()
        .zip(CONTACT_KEYS)
        .filter(|(c, _)| c.placeholder)
        .flat_map(|(_, (e, u))| [*e, *u])
        .filter(|k| get(k).is_none_or(|v| v.trim().is_empty()))
        .collect()
}

/// The settings keys the contacts are read from (`todokede settings set KEY VALUE`).
pub const CONTACT_KEYS: &[(&str, &str)] = &[
    ("publication.contact.virus.email", "publication.contact.virus.url"),
    ("publication.contact.unauthorized_access.email", "publication.contact.unauthorized_access.url"),
];

/// The two contact points as IPA's (virus@ / crack@ and a web page each), with placeholder
/// values in the reserved `.invalid` domain: a document drafted before the operator has set
/// them says 【要設定】 where they go, and cannot mail anyone.
pub fn default_contacts() -> Vec<Contact> {
    vec![
        Contact {
            label: "ウイルスの発見・被害に関する届出".into(),
            email: "virus@todokede.invalid".into(),
            url: "https://todokede.invalid/report/".into(),
            placeholder: true,
        },
        Contact {
            label: "不正アクセスの発見・被害に関する届出".into(),
            email: "crack@todokede.invalid".into(),
            url: "https://todokede.invalid/report/".into(),
            placeholder: true,
        },
    ]
}

/// The contacts with what the settings give (`get` reads a key): a contact whose e-mail and
/// URL are both set is no longer a placeholder.
pub fn contacts_from(get: impl Fn(&str) -> Option<String>) -> Vec<Contact> {
    default_contacts()
        .into_iter()
        .zip(CONTACT_KEYS)
        .map(|(mut c, (email_key, url_key))| {
            let email = get(email_key).filter(|v| !v.trim().is_empty());
            let url = get(url_key).filter(|v| !v.trim().is_empty());
            c.placeholder = email.is_none() || url.is_none();
            if let Some(e) = email {
                c.email = e.trim().to_owned();
            }
            if let Some(u) = url {
                c.url = u.trim().to_owned();
            }
            c
        })
        .collect()
}

/// A box of the scheme's legal basis: its heading, what the scheme is, and the 告示.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasisBox {
    pub title: String,
    pub paragraphs: Vec<String>,
    /// (○ heading, the 告示 lines under it).
    pub notices: Vec<(String, Vec<String>)>,
}

/// The two boxes, in the seeds' words (2019H1/H2, last page).
pub fn legal_basis() -> Vec<BasisBox> {
    vec![
        BasisBox {
            title: "【コンピュータウイルスに関する届出制度】".into(),
            paragraphs: vec![
                "コンピュータウイルスに関する届出制度は、経済産業省のコンピュータウイルス対策基準に基づき、1990 年 4 月にスタートした制度であり、コンピュータウイルスを発見したものは被害の拡大と再発を防ぐために必要な情報を IPA に届け出ることとされている。".into(),
                "IPA では、個別に届出者への対応を行っているが、同時に受理した届出等を基に、コンピュータウイルス対策を検討している。また、受理した届出は、届出者のプライバシーを侵害することがないように配慮した上で、被害等の状況を分析し、検討結果を定期的に公表している。".into(),
            ],
            notices: vec![
                (
                    "コンピュータウイルス対策基準".into(),
                    vec![
                        "平成 7 年 7 月 7 日（通商産業省告示 第 429 号）（制定）".into(),
                        "平成 9 年 9 月 24 日（通商産業省告示 第 535 号）（改定）".into(),
                        "平成 12 年 12 月 28 日（通商産業省告示 第 952 号）（最終改定）".into(),
                    ],
                ),
                ("経済産業大臣が別に指定する者".into(), vec!["平成 16 年 1 月 5 日（経済産業省告示 第 2 号）".into()]),
            ],
        },
        BasisBox {
            title: "【コンピュータ不正アクセス被害の届出制度】".into(),
            paragraphs: vec![
                "コンピュータ不正アクセス被害の届出制度は、経済産業省のコンピュータ不正アクセス対策基準に基づき、1996 年 8 月にスタートした制度であり、同基準において、コンピュータ不正アクセスの被害を受けた者は、被害の拡大と再発を防ぐために必要な情報を IPA に届け出ることとされている。".into(),
                "IPA では、個別に届出者への対応を行っているが、同時に受理した届出等を基に、コンピュータ不正アクセス対策を検討している。また受理した届出は、届出者のプライバシーを侵害することがないように配慮した上で、被害等の状況を分析し、検討結果を定期的に公表している。".into(),
            ],
            notices: vec![
                (
                    "コンピュータ不正アクセス対策基準".into(),
                    vec![
                        "平成 8 年 8 月 8 日（通商産業省告示 第 362 号）（制定）".into(),
                        "平成 9 年 9 月 24 日（通商産業省告示 第 534 号）（改定）".into(),
                        "平成 12 年 12 月 28 日（通商産業省告示 第 950 号）（最終改定）".into(),
                    ],
                ),
                ("経済産業大臣が別に指定する者".into(), vec!["平成 16 年 1 月 5 日（経済産業省告示 第 3 号）".into()]),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_placeholders_until_both_values_are_set() {
        let all = contacts_from(|_| None);
        assert!(all.iter().all(|c| c.placeholder && c.email.ends_with(".invalid")));
        let set = contacts_from(|k| match k {
            "publication.contact.virus.email" => Some("virus@cert.example.jp".into()),
            "publication.contact.virus.url" => Some("https://cert.example.jp/virus".into()),
            "publication.contact.unauthorized_access.email" => Some("crack@cert.example.jp".into()),
            _ => None,
        });
        assert_eq!((set[0].email.as_str(), set[0].placeholder), ("virus@cert.example.jp", false));
        // Half configured is still to be configured.
        assert!(set[1].placeholder);
    }

    #[test]
    fn printed_urls_carry_no_query_and_the_placeholders_none_of_the_programs_words() {
        for c in default_contacts() {
            assert!(!c.url.contains('?') && !c.url.contains("unauthorized_access"), "{}", c.url);
        }
        let c = Contact {
            label: "x".into(),
            email: "crack@cert.example.jp".into(),
            url: "https://cert.example.jp/report/new?form=unauthorized_access#top".into(),
            placeholder: false,
        };
        assert_eq!(c.printed_url(), "https://cert.example.jp/report/new");
        let keys = unset_contact_keys(&contacts_from(|_| None), |_| None);
        assert_eq!(keys.len(), 4, "{keys:?}");
    }
}
