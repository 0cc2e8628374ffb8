//! Analysts' statistics page (tables and SVG charts) and the publication workflow: draft,
//! review the anonymiser's replacements, edit every text, approve, download.

use super::*;
use todokede_app::publication::{self, Format};
use todokede_domain::Period;

pub(super) async fn publication_page(
    State(st): State<AppState>,
    Analyst(c, user): Analyst,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    publication_view(&st, &c, &user, &q, DraftTyped::default()).await
}

/// What a refused draft or approval brings back to the publication page: the draft form as
/// typed, and the error beside the form it concerns (never a page with only 「トップへ」).
#[derive(Default)]
struct DraftTyped {
    featured: Option<String>,
    keep: Option<String>,
    /// The notable techniques ticked (None: the page's default choice).
    notable: Option<Vec<String>>,
    draft_error: Option<String>,
    approve_error: Option<String>,
    /// The answer's status (a refused draft 422, a rule's refusal of an approval 403).
    status: Option<StatusCode>,
}

// The body is the handler's as it was (`&st`, `&c` on references): kept so for the merge.
#[allow(clippy::needless_borrow)]
async fn publication_view(
    st: &AppState,
    c: &Ctx,
    user: &todokede_store::User,
    q: &HashMap<String, String>,
    typed: DraftTyped,
) -> Response {
    // The period asked for, else the newest half-year with confirmed reports (the calendar's
    // last half-year opened on an empty page with a store of older reports).
    let period = match q.get("period").and_then(|p| Period::parse(p).ok()) {
        Some(p) => p,
        None => match publication::default_period(&st.store, time::OffsetDateTime::now_utc()).await {
            Ok(p) => p,
            Err(e) => return UiError::from(e).page(&st, &c),
        },
    };
    let counts = match publication::statistics(&st.store, period, todokede_publish::stats::DEFAULT_THRESHOLD).await {
        Ok(s) => (s.reports_confirmed, s.reports_received),
        Err(e) => return UiError::from(e).page(&st, &c),
    };
    // A period with nothing to publish says so, instead of an empty form.
    let no_data = (counts.0 == 0).then(|| {
        let (label, received) = (period.label(c.lang), counts.1);
        c.lang.pick(
            format!("{label}には分類を確定した届出がありません（受付 {received} 件）。草稿を生成するには、先に届出の分類を確定してください。"),
            format!("{label} has no reports with a confirmed classification ({received} received): confirm classifications on the report pages before generating a draft."),
        )
    });
    let versions = st.store.publication_versions(&period.to_string()).await.unwrap_or_default();
    let latest = match publication::latest(&st.store, period).await {
        Ok(l) => l,
        Err(e) => return UiError::from(e).page(&st, &c),
    };
    let surges = publication::surges(&st.store, period).await.unwrap_or_default();
    let people: HashMap<i64, String> =
        st.store.users().await.unwrap_or_default().into_iter().map(|u| (u.id.0, u.email)).collect();
    let who = |u: UserId| people.get(&u.0).cloned().unwrap_or_else(|| format!("#{}", u.0));
    let four_eyes = todokede_app::settings::load(&st.store).await.map(|s| s.four_eyes_publication).unwrap_or(true);
    let texts: Vec<Value> = latest
        .as_ref()
        .map(|(_, d)| {
            d.texts()
                .into_iter()
                .map(|(path, t)| {
                    context! { where_ => describe(&path), path => path, text => t.text, long => t.text.chars().count() > 60,
                        replacements => t.replacements.iter().map(|r| context! { kind => r.kind, original => r.original, replacement => r.replacement }).collect::<Vec<_>>(),
                        risks => t.risks.iter().map(|r| context! { kind => r.kind, label => r.label_ja(), text => r.text }).collect::<Vec<_>>() }
                })
                .collect()
        })
        .unwrap_or_default();
    let mut page = render(
        st,
        c,
        "publication.html",
        context! {
            period => period.to_string(), period_label => period.label_ja(), no_data,
            versions => versions.iter().map(|v| context! { version => v.version, at => jst(v.created_at), by => who(v.created_by), note => change_note(&v.change_note, c.lang),
                approved => v.approved_at.map(jst), approved_by => v.approved_by.map(who) }).collect::<Vec<_>>(),
            done => (q.get("done").map(String::as_str) == Some("approve")).then(|| c.lang.pick("承認しました。この版が公開されます。", "Approved: this version is the one published.")),
            four_eyes, latest_by_me => latest.as_ref().map(|(v, _)| v.created_by == user.id),
            latest_version => latest.as_ref().map(|(v, _)| v.version),
            latest_approved => latest.as_ref().map(|(v, _)| v.approved_at.is_some()),
            has_approved => versions.iter().any(|v| v.approved_at.is_some()),
            texts => texts,
            replacements => latest.as_ref().map(|(_, d)| d.review().len()).unwrap_or(0),
            risks => latest.as_ref().map(|(_, d)| d.risks().len()).unwrap_or(0),
            unset_contacts => latest.as_ref().map(|(_, d)| d.contacts.iter().filter(|c| c.placeholder).map(|c| c.label.clone()).collect::<Vec<_>>()).unwrap_or_default(),
            surges => surges.iter().map(|x| context! { key => x.key, label => x.label, current => x.current, previous => x.previous,
                ticked => typed.notable.as_ref().map(|n| n.contains(&x.key)) }).collect::<Vec<_>>(),
            typed => context! { featured => typed.featured, keep => typed.keep, draft_error => typed.draft_error, approve_error => typed.approve_error },
        },
    );
    if let Some(status) = typed.status {
        *page.status_mut() = status;
    }
    page
}

/// Where a text sits in the printed report, for the edit form ("表2-1 項番 3 概要").
fn describe(path: &str) -> String {
    let p: Vec<&str> = path.split('.').collect();
    let n = |i: usize| p.get(i).and_then(|x| x.parse::<usize>().ok()).map(|x| x + 1).unwrap_or(0);
    match p.as_slice() {
        ["title"] => "表題".into(),
        ["introduction", _] => format!("1. はじめに 第{}段落", n(1)),
        ["notable", _] => format!("1. はじめに 留意すべき事例 {}", n(1)),
        ["technique_chapters", _, "title"] => format!("1-{} 見出し", n(1)),
        ["technique_chapters", _, "paragraphs", _] => format!("1-{} 第{}段落", n(1), n(3)),
        ["technique_chapters", _, "subsections", _, "paragraphs", _] => format!("1-{}-{} 第{}段落", n(1), n(3), n(5)),
        ["technique_chapters", _, "subsections", _, "bullets", _] => format!("1-{}-{} 項目 {}", n(1), n(3), n(5)),
        ["technique_chapters", _, "subsections", _, "more", _, "paragraphs", _] => {
            format!("1-{}-{} 続き {} 第{}段落", n(1), n(3), n(5), n(7))
        }
        ["technique_chapters", _, "subsections", _, "more", _, "bullets", _] => {
            format!("1-{}-{} 続き {} 項目 {}", n(1), n(3), n(5), n(7))
        }
        ["points_intro", _] => format!("2-1 はじめ 第{}段落", n(1)),
        ["groups", _, "heading"] => format!("表2-1 分類 {} 見出し", n(1)),
        ["groups", _, "rows", _, "summary"] => format!("表2-1 分類 {} の {} 件目 概要", n(1), n(3)),
        ["groups", _, "points", _] => format!("2-1-{} 着目点 {}", n(1), n(3)),
        ["groups", _, "points", _, "heading"] => format!("2-1-{} 着目点 {} 見出し", n(1), n(3)),
        ["featured", _, "title"] => format!("事例 {} 題名", n(1)),
        ["featured", _, "sections", _] => format!("事例 {} 届出内容 {}", n(1), n(3)),
        ["featured", _, "points", _] => format!("事例 {} 着目点 {}", n(1), n(3)),
        ["featured", _, "points", _, "heading"] => format!("事例 {} 着目点 {} 見出し", n(1), n(3)),
        ["featured", _, "figure", "caption"] => format!("事例 {} 図の題名", n(1)),
        ["featured", _, "figure", "reference"] => format!("事例 {} 図の参照文", n(1)),
        ["featured", _, "figure", "steps", _] => format!("事例 {} 図の手順 {}", n(1), n(4)),
        ["how_to_report", _] => format!("届出のお願い 第{}段落", n(1)),
        ["closing", _] => format!("結び 第{}段落", n(1)),
        _ => path.to_owned(),
    }
}

/// A period that does not parse (not `2026H2`) names no page: the localized 404.
fn no_such_period(st: &AppState, c: &Ctx) -> Response {
    error_page(st, c, StatusCode::NOT_FOUND, "その期間はありません（例: 2026H2）。", "No such period (e.g. 2026H2).")
}

fn lines(v: Option<&String>) -> Vec<String> {
    v.map(|s| s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()).unwrap_or_default()
}

pub(super) async fn publication_draft(
    State(st): State<AppState>,
    Path(period): Path<String>,
    CsrfForm { c, user, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
    let Ok(period) = Period::parse(&period) else { return no_such_period(&st, &c) };
    let notable: Vec<String> = f
        .iter()
        .filter(|(k, v)| k.starts_with("notable.") && v.as_str() == "on")
        .map(|(k, _)| k["notable.".len()..].to_owned())
        .collect();
    // A refusal brings the publication page back with the form as typed and the reason beside it.
    let again = |error: UiError, notable: Vec<String>| {
        let q = HashMap::from([("period".to_owned(), period.to_string())]);
        let typed = DraftTyped {
            featured: f.get("featured").cloned(),
            keep: f.get("keep").cloned(),
            notable: Some(notable),
            draft_error: Some(c.lang.pick(&error.ja, &error.en).to_owned()),
            approve_error: None,
            status: Some(StatusCode::UNPROCESSABLE_ENTITY),
        };
        (q, typed)
    };
    let featured =
        match lines(f.get("featured")).iter().map(|l| publication::parse_feature(l)).collect::<Result<Vec<_>, _>>() {
            Ok(v) => v,
            Err(e) => {
                let (q, typed) = again(UiError::from(e), notable);
                return publication_view(&st, &c, &user, &q, typed).await;
            }
        };
    let choices = todokede_publish::DraftChoices {
        featured,
        notable,
        keep: publication::keep_set(&lines(f.get("keep"))),
        listed: vec![],
    };
    match publication::draft(&st.store, period, &choices, todokede_publish::stats::DEFAULT_THRESHOLD, user.id).await {
        Ok(_) => Redirect::to(&format!("/publication?period={period}")).into_response(),
        Err(e @ (publication::PublicationError::Invalid(_) | publication::PublicationError::Refused { .. })) => {
            let (q, typed) = again(UiError::from(e), choices.notable);
            publication_view(&st, &c, &user, &q, typed).await
        }
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

pub(super) async fn publication_edit(
    State(st): State<AppState>,
    Path(period): Path<String>,
    CsrfForm { c, user, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
    let Ok(period) = Period::parse(&period) else { return no_such_period(&st, &c) };
    let edits: std::collections::BTreeMap<String, String> =
        f.iter().filter_map(|(k, v)| k.strip_prefix("text:").map(|p| (p.to_owned(), v.clone()))).collect();
    match publication::edit(&st.store, period, &edits, user.id).await {
        Ok(_) => Redirect::to(&format!("/publication?period={period}")).into_response(),
        Err(publication::PublicationError::Invalid(m)) if m == "nothing changed" => {
            Redirect::to(&format!("/publication?period={period}")).into_response()
        }
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

pub(super) async fn publication_approve(
    State(st): State<AppState>,
    Path(period): Path<String>,
    CsrfForm { c, user, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
    let Ok(period) = Period::parse(&period) else { return no_such_period(&st, &c) };
    let Some(version) = f.get("version").and_then(|v| v.parse::<i64>().ok()) else {
        return error_page(
            &st,
            &c,
            StatusCode::BAD_REQUEST,
            "承認する版が指定されていません。",
            "No version to approve was given.",
        );
    };
    match publication::approve(&st.store, period, version, user.id).await {
        Ok(()) => Redirect::to(&format!("/publication?period={period}&done=approve")).into_response(),
        // A rule's refusal (four eyes, approved already): the page, the reason beside the button.
        Err(publication::PublicationError::Refused { ja, en }) => {
            let q = HashMap::from([("period".to_owned(), period.to_string())]);
            let typed = DraftTyped {
                approve_error: Some(c.lang.pick(ja, en)),
                status: Some(StatusCode::FORBIDDEN),
                ..Default::default()
            };
            publication_view(&st, &c, &user, &q, typed).await
        }
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

/// What the HTML report may do when shown in the browser: it is generated from reporters'
/// text, so it runs in a sandbox (a unique origin: no cookies, no forms, no scripts), with its
/// own inline styles and inline SVG and nothing fetched from anywhere.
const REPORT_HTML_CSP: &str = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                               form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The report: the HTML shown in the browser (sandboxed, [`REPORT_HTML_CSP`]) so a draft can be
/// read as it will be published; the PDF and the Markdown as downloads (a PDF viewer is not
/// ours to trust).
pub(super) async fn publication_download(
    State(st): State<AppState>,
    Analyst(c, user): Analyst,
    Path((period, file)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(period) = Period::parse(&period) else { return no_such_period(&st, &c) };
    let Some(format) = file.strip_prefix("report.").and_then(Format::parse) else {
        return error_page(
            &st,
            &c,
            StatusCode::NOT_FOUND,
            "その形式の報告書はありません。",
            "No report in that format.",
        );
    };
    let draft = q.contains_key("draft");
    match publication::render(&st.store, period, format, draft).await {
        Ok(bytes) => {
            let _ = st
                .store
                .audit(
                    Some(user.id),
                    "publication.download",
                    Some(&period.to_string()),
                    Some(&format!("{}{}", format.extension(), if draft { " draft" } else { "" })),
                )
                .await;
            let name = format!("todokede-{period}{}.{}", if draft { "-draft" } else { "" }, format.extension());
            let inline = format == Format::Html;
            let mut res = bytes.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
            let disposition = if inline { "inline" } else { "attachment" };
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\""))
                    .unwrap_or(HeaderValue::from_static("attachment")),
            );
            if inline {
                h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(REPORT_HTML_CSP));
            }
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(publication::PublicationError::Invalid(m)) => error_page(&st, &c, StatusCode::NOT_FOUND, &m, &m),
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

/// A version's change note as stored ("generated", "edited: title, case 2 …"), in the page's
/// language.
fn change_note(note: &str, lang: Language) -> String {
    match note.strip_prefix("edited: ") {
        _ if note == "generated" => lang.pick("自動生成", "generated").to_owned(),
        Some(fields) => format!("{}{fields}", lang.pick("編集：", "edited: ")),
        None => note.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    /// Every text of a generated document is named as the printed report places it: the edit
    /// form once showed 2-1's introduction, the closing lines and a subsection's later blocks
    /// by their JSON paths ("technique_chapters.0.subsections.1.more.0.paragraphs.0").
    #[test]
    fn every_editable_text_has_a_place_name_not_its_path() {
        for path in [
            "technique_chapters.0.subsections.1.more.0.paragraphs.0",
            "technique_chapters.0.subsections.1.more.2.bullets.3",
            "points_intro.0",
            "closing.1",
            "featured.0.figure.caption",
            "featured.1.figure.reference",
            "featured.1.figure.steps.2",
        ] {
            let name = super::describe(path);
            assert!(!name.contains('.') && !name.contains('_'), "{path} → {name}");
        }
        assert_eq!(super::describe("technique_chapters.0.subsections.1.more.0.paragraphs.1"), "1-1-2 続き 1 第2段落");
        assert_eq!(super::describe("featured.1.figure.steps.2"), "事例 2 図の手順 3");
    }
}
