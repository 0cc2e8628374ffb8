//! Intake: a report payload (the JSON API's body, a line of `todokede import`, the web form's
//! fields) → a [`Submission`]. One path for every channel but mail (todokede-mail parses those).
//! The payloads are serde types parsed into the domain at the boundary. Closed lists travel as
//! their stable keys (`"company"`), and the Japanese/English labels on the paper form are
//! accepted too (`"企業"`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use todokede_domain::submission::{MAX_TEXT_CHARS, line_field, text_field};
use todokede_domain::*;

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReporterPayload {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub organization: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SoftwarePayload {
    pub name: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AffectedPayload {
    #[serde(default)]
    pub assets: Vec<String>,
    #[serde(default)]
    pub deployment: Vec<String>,
    pub os: Option<String>,
    #[serde(default)]
    pub software: Vec<SoftwarePayload>,
    #[serde(default)]
    pub exposed_ports: Vec<u16>,
    pub internet_connected: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct VirusPayload {
    pub virus_name: Option<String>,
    pub symptoms: Option<String>,
    pub detection_count: Option<u32>,
    #[serde(default)]
    pub infection_vectors: Vec<String>,
}

/// An attachment inside a JSON report: name, type and the bytes in base64.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JsonAttachment {
    pub filename: String,
    pub content_type: Option<String>,
    pub content_base64: String,
}

/// `POST /api/v1/reports` body. Only `form` and `description` are required.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportPayload {
    pub form: String,
    pub description: String,
    /// The reporter's own reference for the case (their ticket number).
    pub reporter_reference: Option<String>,
    /// Files inline, for clients that send JSON only (multipart parts are the other way).
    #[serde(default)]
    pub attachments: Vec<JsonAttachment>,
    pub language: Option<String>,
    pub reporter: Option<ReporterPayload>,
    /// 発見日, `YYYY-MM-DD`.
    pub discovered_on: Option<String>,
    pub discovery: Option<String>,
    pub discovery_narrative: Option<String>,
    pub damage_status: Option<String>,
    #[serde(default)]
    pub damages: Vec<String>,
    pub damage_narrative: Option<String>,
    #[serde(default)]
    pub causes: Vec<String>,
    pub cause_narrative: Option<String>,
    pub response_narrative: Option<String>,
    pub affected: Option<AffectedPayload>,
    pub virus: Option<VirusPayload>,
    /// 届出日 of a historical report, `YYYY-MM-DD`. Accepted by `todokede import` only.
    pub received_on: Option<String>,
}

fn one<T: ClosedEnum>(field: &'static str, v: Option<&str>) -> Result<Option<T>, SubmissionError> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| T::parse(s).map_err(|e| SubmissionError::Invalid { field, message: e.to_string() }))
        .transpose()
}

fn list<T: ClosedEnum + PartialEq>(field: &'static str, v: &[String]) -> Result<Vec<T>, SubmissionError> {
    let mut out: Vec<T> = Vec::new();
    for s in v {
        let x = T::parse(s).map_err(|e| SubmissionError::Invalid { field, message: e.to_string() })?;
        if !out.contains(&x) {
            out.push(x);
        }
    }
    Ok(out)
}

pub fn parse_date(field: &'static str, v: Option<&str>) -> Result<Option<time::Date>, SubmissionError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            time::Date::parse(s, fmt).map_err(|_| SubmissionError::Invalid {
                field,
                message: format!("`{}` is not a date (YYYY-MM-DD)", s.chars().take(32).collect::<String>()),
            })
        })
        .transpose()
}

/// Keep the value of a field check, or note its error and go on with the default: a form gets
/// every problem at once.
fn take<T: Default>(errors: &mut Vec<SubmissionError>, r: Result<T, SubmissionError>) -> T {
    r.unwrap_or_else(|e| {
        errors.push(e);
        T::default()
    })
}

impl ReportPayload {
    /// Parse into the domain. The first invalid field is reported with its path.
    pub fn into_content(&self) -> Result<ReportContent, SubmissionError> {
        self.into_content_all().map_err(|mut v| v.remove(0))
    }

    /// Parse into the domain, or every invalid field (the description first), each with its path.
    pub fn into_content_all(&self) -> Result<ReportContent, Vec<SubmissionError>> {
        let mut e = Vec::new();
        let description = match text_field("description", Some(&self.description), MAX_TEXT_CHARS) {
            Ok(Some(d)) => d,
            Ok(None) => {
                e.push(SubmissionError::EmptyDescription);
                String::new()
            }
            Err(x) => {
                e.push(x);
                String::new()
            }
        };
        let today = OffsetDateTime::now_utc().date();
        let discovered_on = parse_date("discovered_on", self.discovered_on.as_deref()).and_then(|d| {
            if d.is_some_and(|d| d > today.next_day().unwrap_or(today)) {
                Err(SubmissionError::Invalid { field: "discovered_on", message: "is in the future".into() })
            } else {
                Ok(d)
            }
        });
        let discovered_on = take(&mut e, discovered_on);
        let form = one("form", Some(&self.form)).and_then(|f| {
            f.ok_or(SubmissionError::Invalid {
                field: "form",
                message: "is required (virus or unauthorized_access)".into(),
            })
        });
        let form = take(&mut e, form.map(Some)).unwrap_or(ReportForm::UnauthorizedAccess);
        let language = take(&mut e, one("language", self.language.as_deref())).unwrap_or(Language::Ja);
        let r = self.reporter.clone().unwrap_or_default();
        let a = self.affected.clone().unwrap_or_default();
        let email = line_field("reporter.email", r.email.as_deref()).and_then(|v| {
            v.map(|e| {
                EmailAddress::parse(&e).map_err(|_| SubmissionError::Invalid {
                    field: "reporter.email",
                    message: "is not an e-mail address".into(),
                })
            })
            .transpose()
        });
        let reporter = Reporter {
            kind: take(&mut e, one("reporter.kind", r.kind.as_deref())),
            name: take(&mut e, line_field("reporter.name", r.name.as_deref())),
            organization: take(&mut e, line_field("reporter.organization", r.organization.as_deref())),
            email: take(&mut e, email),
            phone: take(&mut e, line_field("reporter.phone", r.phone.as_deref())),
            address: take(&mut e, line_field("reporter.address", r.address.as_deref())),
        };
        let narrative = |f: &'static str, v: &Option<String>| text_field(f, v.as_deref(), MAX_TEXT_CHARS);
        let discovery = take(&mut e, one("discovery", self.discovery.as_deref()));
        let discovery_narrative = take(&mut e, narrative("discovery_narrative", &self.discovery_narrative));
        let virus = self.virus.as_ref().map(|v| VirusDetails {
            virus_name: take(&mut e, line_field("virus.virus_name", v.virus_name.as_deref())),
            symptoms: take(&mut e, text_field("virus.symptoms", v.symptoms.as_deref(), MAX_TEXT_CHARS)),
            detection_count: v.detection_count,
            infection_vectors: take(&mut e, list("virus.infection_vectors", &v.infection_vectors)),
        });
        let damage_status =
            take(&mut e, one("damage_status", self.damage_status.as_deref())).unwrap_or(DamageStatus::Unknown);
        let damages = take(&mut e, list("damages", &self.damages));
        let damage_narrative = take(&mut e, narrative("damage_narrative", &self.damage_narrative));
        let affected = AffectedSystems {
            assets: take(&mut e, list("affected.assets", &a.assets)),
            deployment: take(&mut e, list("affected.deployment", &a.deployment)),
            os: take(&mut e, line_field("affected.os", a.os.as_deref())),
            software: take(
                &mut e,
                a.software
                    .iter()
                    .map(|s| {
                        Ok(Software {
                            name: line_field("affected.software.name", Some(&s.name))?.ok_or(
                                SubmissionError::Invalid {
                                    field: "affected.software.name",
                                    message: "must not be empty".into(),
                                },
                            )?,
                            version: line_field("affected.software.version", s.version.as_deref())?,
                        })
                    })
                    .collect::<Result<_, SubmissionError>>(),
            ),
            exposed_ports: a.exposed_ports.clone(),
            internet_connected: take(&mut e, one("affected.internet_connected", a.internet_connected.as_deref())),
        };
        let causes = take(&mut e, list("causes", &self.causes));
        let cause_narrative = take(&mut e, narrative("cause_narrative", &self.cause_narrative));
        let response_narrative = take(&mut e, narrative("response_narrative", &self.response_narrative));
        let reporter_reference = take(&mut e, line_field("reporter_reference", self.reporter_reference.as_deref()));
        if !e.is_empty() {
            return Err(e);
        }
        Ok(ReportContent {
            form,
            language,
            reporter,
            discovered_on,
            discovery,
            discovery_narrative,
            damage_status,
            damages,
            damage_narrative,
            causes,
            cause_narrative,
            response_narrative,
            affected,
            virus,
            description,
            reporter_reference,
        })
    }

    /// 届出日 of an imported report (noon JST, so the date is the same in UTC and JST), if given.
    pub fn received_at(&self) -> Result<Option<OffsetDateTime>, SubmissionError> {
        Ok(parse_date("received_on", self.received_on.as_deref())?
            .map(|d| d.with_time(time::macros::time!(12:00)).assume_offset(time::macros::offset!(+9))))
    }
}

/// Why a payload is not a submission.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Not JSON at all (syntax error, truncated).
    #[error("{0}")]
    Malformed(String),
    /// JSON, but not the payload's shape (unknown field, wrong type).
    #[error("{0}")]
    InvalidBody(String),
    /// A field's value is not acceptable.
    #[error(transparent)]
    Invalid(#[from] SubmissionError),
}

/// Parse a JSON body into a payload.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, IntakeError> {
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            IntakeError::Malformed(e.to_string())
        } else {
            IntakeError::InvalidBody(e.to_string())
        }
    })
}

/// Build a submission from a JSON body (the API's, and `todokede import`'s, which sets the
/// channel and may keep `received_on`). The body is kept as the raw input.
pub fn submission_from_json(
    json: &[u8],
    attachments: Vec<Attachment>,
    channel: Channel,
    dedup: Option<DedupKey>,
) -> Result<Submission, IntakeError> {
    let payload: ReportPayload = parse_json(json)?;
    let raw = RawInput { content_type: "application/json".into(), bytes: json.to_vec() };
    submission_from_payload(&payload, raw, attachments, channel, dedup)
}

/// Build a submission from a payload already in hand (the web form's fields); `raw` is what is
/// archived as received.
pub fn submission_from_payload(
    payload: &ReportPayload,
    raw: RawInput,
    attachments: Vec<Attachment>,
    channel: Channel,
    dedup: Option<DedupKey>,
) -> Result<Submission, IntakeError> {
    let content = payload.into_content()?;
    let mut attachments = attachments;
    for a in &payload.attachments {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(a.content_base64.trim()).map_err(|_| {
            SubmissionError::Invalid {
                field: "attachments",
                message: format!(
                    "{}: content_base64 is not base64",
                    todokede_domain::submission::display_filename(&a.filename)
                ),
            }
        })?;
        attachments.push(Attachment::new(&a.filename, a.content_type.as_deref().unwrap_or(""), bytes));
    }
    let received_at = payload.received_at()?;
    if received_at.is_some() && channel != Channel::Import {
        return Err(SubmissionError::Invalid {
            field: "received_on",
            message: "is set by the system; only imports of historical reports may give it".into(),
        }
        .into());
    }
    Ok(Submission { content, channel, attachments, raw, dedup, received_at, intake_notes: vec![] })
}
