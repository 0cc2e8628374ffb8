//! Analysts' actions on a report (POST, same-origin, CSRF-checked): state, reply, note, classification, assignment, links, sharing.

use super::*;

pub(super) async fn change_state(
    State(st): State<AppState>,
    Path(tn): Path<String>,
    CsrfForm { c, user, form: f }: CsrfForm<ActionForm>,
) -> Response {
    let Some(r) = load_for_analyst(&st, &tn).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    let Ok(to) = ReportState::parse(&f.to) else {
        return error_page(&st, &c, StatusCode::BAD_REQUEST, "不正な状態です。", "Unknown state.");
    };
    match st.store.transition(r.id, to, user.id, None).await {
        Ok(_) => Redirect::to(&format!("/reports/{}?done=state", r.tracking_number)).into_response(),
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    /// Required (a form without it is refused as malformed); checked by [`CsrfForm`].
    #[allow(dead_code)]
    csrf: String,
    #[serde(default)]
    body: String,
    /// The template chosen in the reply form's list.
    #[serde(default)]
    template: String,
    /// Present when the 返信欄に挿入 button sent the form (no JavaScript): insert, do not send.
    #[serde(default)]
    insert: Option<String>,
}

pub(super) async fn reply(
    State(st): State<AppState>,
    Path(tn): Path<String>,
    CsrfForm { c, user, form: f }: CsrfForm<ReplyForm>,
) -> Response {
    let Some(r) = load_for_analyst(&st, &tn).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    if f.insert.is_some() {
        // The page again, the draft as typed and the template after it (nothing is sent).
        let typed =
            report_page::Typed { reply: Some(f.body), template: f.template.trim().parse().ok(), ..Default::default() };
        return report_page::report_view(&st, &c, &user, &tn, &HashMap::new(), typed).await;
    }
    if f.body.trim().is_empty() {
        return Redirect::to(&format!("/reports/{}", r.tracking_number)).into_response();
    }
    match todokede_app::replies::reply_to_reporter(&st.store, &st.mail, r.id, user.id, f.body.trim(), None).await {
        Ok(_) => Redirect::to(&format!("/reports/{}?done=reply", r.tracking_number)).into_response(),
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

pub(super) async fn note(
    State(st): State<AppState>,
    Path(tn): Path<String>,
    CsrfForm { c, user, form: f }: CsrfForm<ActionForm>,
) -> Response {
    let Some(r) = load_for_analyst(&st, &tn).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    if !f.body.trim().is_empty()
        && let Err(e) = st.store.add_note(r.id, user.id, f.body.trim(), None).await
    {
        return UiError::from(e).page(&st, &c);
    }
    Redirect::to(&format!("/reports/{}?done=note", r.tracking_number)).into_response()
}

/// The analyst confirms the classification (primary cause, other causes, damages, attack types,
/// techniques, damage flag) from the report page.
pub(super) async fn classify(
    State(st): State<AppState>,
    Path(tn): Path<String>,
    CsrfForm { c, user, form: pairs }: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let one = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let all = |k: &str| pairs.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let Some(r) = load_for_analyst(&st, &tn).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    let parse_all = |k: &str| all(k).iter().map(|v| v.as_str()).collect::<Vec<_>>().join(",");
    let primary = one("primary_cause");
    // No primary cause chosen (the analysis decided none): never confirm one by default.
    if primary.trim().is_empty() {
        return error_page(
            &st,
            &c,
            StatusCode::UNPROCESSABLE_ENTITY,
            "主たる原因を選んでください（分からない場合は「不明」）。分類は確定されていません。",
            "Choose the primary cause (\"Unknown\" if it is not known). Nothing was confirmed.",
        );
    }
    let mut causes = vec![primary.clone()];
    causes.extend(all("causes").into_iter().filter(|c| *c != primary));
    let parsed = (|| -> Result<todokede_app::classification::Overrides, todokede_domain::UnknownKey> {
        Ok(todokede_app::classification::Overrides {
            causes: Some(todokede_app::classification::keys(&causes.join(","))?),
            damages: Some(todokede_app::classification::keys(&parse_all("damages"))?),
            attack_types: Some(todokede_app::classification::keys(&parse_all("attack_types"))?),
            techniques: Some(
                one("techniques").split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect(),
            ),
            has_damage: Some(match one("has_damage").as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            }),
        })
    })();
    let o = match parsed {
        Ok(o) => o,
        Err(e) => return UiError::from(e).page(&st, &c),
    };
    match todokede_app::classification::confirm(&st.store, r.id, user.id, &o, None).await {
        Ok(_) => Redirect::to(&format!("/reports/{}?done=classify", r.tracking_number)).into_response(),
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

pub(super) async fn assign(
    State(st): State<AppState>,
    Path(tn): Path<String>,
    CsrfForm { c, user, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
    let Some(r) = load_for_analyst(&st, &tn).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    let to = f.get("to").and_then(|v| v.parse::<i64>().ok()).map(UserId);
    match st.store.assign(r.id, to, user.id, None).await {
        Ok(()) => Redirect::to(&format!("/reports/{}?done=assign", r.tracking_number)).into_response(),
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

pub(super) async fn link(
    State(st): State<AppState>,
    Path(tn): Path<String>,
    CsrfForm { c, user, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
    let Some(r) = load_for_analyst(&st, &tn).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    let typed = f.get("other").map(|s| s.trim()).unwrap_or("");
    let other = load_for_analyst(&st, typed).await;
    let refused = match &other {
        None => Some(c.lang.pick(
            format!("受付番号「{typed}」の届出はありません。番号を確認してください。"),
            format!("There is no report with the number “{typed}”: check the number."),
        )),
        Some(o) if o.id == r.id => Some(c.lang.pick(
            "この届出自身とは関連付けられません。".to_owned(),
            "A report cannot be linked with itself.".to_owned(),
        )),
        Some(_) => None,
    };
    let (Some(other), None) = (other, refused.clone()) else {
        // The page again, the number as typed and why beside the field.
        let typed =
            report_page::Typed { link_other: Some(typed.to_owned()), link_error: refused, ..Default::default() };
        return report_page::report_view(&st, &c, &user, &tn, &HashMap::new(), typed).await;
    };
    match st.store.link_reports(r.id, other.id, user.id, None).await {
        Ok(()) => Redirect::to(&format!("/reports/{}?done=link", r.tracking_number)).into_response(),
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

/// Approve the report for sharing under a TLP 2.0 level, or (an empty level) withdraw it.
pub(super) async fn share(
    State(st): State<AppState>,
    Path(tn): Path<String>,
    CsrfForm { c, user, form: f }: CsrfForm<HashMap<String, String>>,
) -> Response {
    let Some(r) = load_for_analyst(&st, &tn).await else {
        return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found.");
    };
    let chosen = f.get("tlp").map(String::as_str).unwrap_or("");
    let result = if chosen.is_empty() {
        st.store.withdraw_sharing(r.id, user.id).await.map(|_| ()).map_err(todokede_app::AppError::from)
    } else {
        let Some(tlp) = todokede_publish::stix::Tlp::parse(chosen) else {
            return error_page(&st, &c, StatusCode::BAD_REQUEST, "不正な TLP 区分です。", "Unknown TLP level.");
        };
        todokede_app::exchange::approve_sharing(&st.store, r.id, tlp, user.id).await
    };
    match result {
        Ok(()) => Redirect::to(&format!("/reports/{}?done=share", r.tracking_number)).into_response(),
        Err(e) => UiError::from(e).page(&st, &c),
    }
}
