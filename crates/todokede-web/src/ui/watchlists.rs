//! The analysts' watch and warning lists: every analyst reads them (the lists, their entries,
//! where each came from); admins import STIX 2.1 / MISP files by upload and remove lists, as
//! with the other shared desk data (reply templates). The import is
//! `todokede_app::watchlists`, the same as `todokede watchlist import`.

use super::*;
use todokede_app::watchlists::{self, Format, ImportRequest};

fn list_row(w: &todokede_store::Watchlist, l: Language) -> Value {
    context! {
        name => w.name, href => format!("/watchlists/{}", urlencode(&w.name)), kind => label(w.kind, l),
        watch => w.kind == WatchlistKind::Watch, description => w.description, tlp => w.tlp, entries => w.entries,
        sources => w.sources, reports_hit => w.reports_hit, updated_at => jst(w.updated_at),
        updated_by => w.updated_by.clone().unwrap_or_else(|| l.pick("（コマンドライン）", "(command line)").to_owned()),
    }
}

/// The lists page, with the import form for admins (and what an import just did); `typed`
/// refills the import form after a refused upload (`name`, `kind`, `format`, `description`,
/// `tlp` as sent).
async fn lists_view(
    st: &AppState,
    c: &Ctx,
    user: &todokede_store::User,
    outcome: Option<Value>,
    typed: Option<Value>,
) -> Response {
    let lists = match st.store.watchlists().await {
        Ok(l) => l,
        Err(e) => return UiError::from(e).page(st, c),
    };
    let l = c.lang;
    let failed = outcome.as_ref().is_some_and(|o| o.get_attr("error").is_ok_and(|e| !e.is_none() && !e.is_undefined()));
    let mut r = render(
        st,
        c,
        "watchlists.html",
        context! {
            lists => lists.iter().map(|w| list_row(w, l)).collect::<Vec<_>>(),
            kinds => options::<WatchlistKind>(l),
            can_import => user.role == Role::Admin,
            outcome, typed,
        },
    );
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub(super) async fn lists_page(
    State(st): State<AppState>,
    Analyst(c, user): Analyst,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let outcome = q.get("removed").map(|name| {
        context! { done => format!("{}{name}{}", c.lang.pick("リスト「", "The list “"), c.lang.pick("」を削除しました。", "” was removed.")) }
    });
    lists_view(&st, &c, &user, outcome, None).await
}

pub(super) async fn list_page(
    State(st): State<AppState>,
    Analyst(c, user): Analyst,
    Path(name): Path<String>,
) -> Response {
    let list = match st.store.watchlist(&name).await {
        Ok(Some(w)) => w,
        Ok(None) => return error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found."),
        Err(e) => return UiError::from(e).page(&st, &c),
    };
    let entries = match st.store.watchlist_entries(list.id, 1000).await {
        Ok(e) => e,
        Err(e) => return UiError::from(e).page(&st, &c),
    };
    let l = c.lang;
    render(
        &st,
        &c,
        "watchlists.html",
        context! {
            list => list_row(&list, l),
            entries => entries.iter().map(|e| context! {
                kind => e.kind, value => e.value, source_file => e.source_file, source_id => e.source_id,
                imported_at => jst(e.imported_at), imported_by => e.imported_by, valid_until => e.valid_until.map(jst),
                search => format!("/search?q={}", urlencode(e.value.split('/').next().unwrap_or(&e.value))),
            }).collect::<Vec<_>>(),
            shown_all => (entries.len() as i64) >= list.entries,
            can_import => user.role == Role::Admin,
        },
    )
}

/// An upload (multipart: the CSRF token is one of its fields, so `CsrfForm` cannot read it):
/// the same checks as `CsrfForm` — our own origin, the session's token — then admins only.
pub(super) async fn import_upload(State(st): State<AppState>, headers: HeaderMap, req: Request) -> Response {
    let c = ctx(&st, &headers, &HashMap::new()).await;
    let Some(user) = c.analyst.clone() else { return Redirect::to("/login").into_response() };
    if user.one_time_until.is_some() {
        return Redirect::to(PASSWORD_PAGE).into_response();
    }
    let FormUpload { fields, files, too_large, too_many } = match read_multipart(req, st.limits).await {
        Ok(x) => x,
        Err(e) => return e.page(&st, &c),
    };
    let field = |k: &str| fields.get(k).and_then(|v| v.first()).map(|s| s.trim().to_owned()).unwrap_or_default();
    if !same_origin(&headers) || !csrf_ok(&c, Some(&field("csrf"))) {
        return error_page(
            &st,
            &c,
            StatusCode::FORBIDDEN,
            "フォームの有効期限が切れたか、他のサイトからの送信です。",
            "The form has expired or came from another site.",
        );
    }
    if user.role != Role::Admin {
        return error_page(&st, &c, StatusCode::FORBIDDEN, "管理者のみが利用できます。", "Admins only.");
    }
    let l = c.lang;
    // A refused upload brings the form back as it was filled in (the files to be chosen again).
    let typed = Some(context! {
        name => field("name"), kind => field("kind"), format => field("format"), description => field("description"), tlp => field("tlp"),
    });
    let refused = |ja: String, en: String| Some(context! { error => l.pick(ja, en) });
    if !too_large.is_empty() || !too_many.is_empty() {
        let e = if too_large.is_empty() {
            too_many_error(&too_many, st.limits)
        } else {
            too_large_error(&too_large, st.limits)
        };
        let outcome =
            refused(format!("{}（何も取り込んでいません）", e.ja), format!("{} (nothing was imported)", e.en));
        let mut r = lists_view(&st, &c, &user, outcome, typed).await;
        *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return r;
    }
    let Ok(kind) = WatchlistKind::parse(&field("kind")) else {
        let outcome = refused("種類を選んでください。".into(), "Choose the kind of list.".into());
        return lists_view(&st, &c, &user, outcome, typed).await;
    };
    let format = match field("format").as_str() {
        "" | "auto" => None,
        f => Format::parse(f),
    };
    if files.is_empty() {
        let outcome = refused("ファイルを選んでください。".into(), "Choose a file.".into());
        return lists_view(&st, &c, &user, outcome, typed).await;
    }
    // Every file is read before anything is stored: one bad file refuses the whole upload.
    let mut sources = vec![];
    for a in &files {
        match watchlists::parse(format, &a.bytes) {
            Ok(p) => sources.push((a.filename.clone(), p)),
            Err(todokede_app::AppError::Refused { ja, en }) => {
                let outcome = refused(
                    format!("{}: {ja}（何も取り込んでいません）", a.filename),
                    format!("{}: {en} (nothing was imported)", a.filename),
                );
                return lists_view(&st, &c, &user, outcome, typed).await;
            }
            Err(e) => return UiError::from(e).page(&st, &c),
        }
    }
    let unusable: Vec<Value> = sources
        .iter()
        .flat_map(|(file, p)| {
            p.unusable
                .iter()
                .map(move |u| context! { file => file, id => u.id, what => u.what, why => l.pick(&u.ja, &u.en) })
        })
        .collect();
    let per_file: Vec<Value> = sources
        .iter()
        .map(|(file, p)| context! { file => file, entries => p.entries.len(), unusable => p.unusable.len() })
        .collect();
    let name = field("name");
    let req = ImportRequest {
        name: name.clone(),
        kind,
        description: Some(field("description")).filter(|d| !d.is_empty()),
        tlp: Some(field("tlp")).filter(|t| !t.is_empty()),
        sources,
    };
    match watchlists::import(&st.store, req, Some(user.id)).await {
        Ok(done) => {
            let outcome = context! {
                done => l.pick(
                    format!("リスト「{name}」に取り込みました: {} 件（うち今回 {} 件、置き換え {} 件）、該当する届出 {} 件。", done.entries, done.inserted, done.replaced, done.reports_hit),
                    format!("Imported into “{name}”: {} entries ({} from these files, {} replaced); {} reports hit.", done.entries, done.inserted, done.replaced, done.reports_hit),
                ),
                per_file, unusable,
            };
            lists_view(&st, &c, &user, Some(outcome), None).await
        }
        Err(todokede_app::AppError::Refused { ja, en }) => lists_view(&st, &c, &user, refused(ja, en), typed).await,
        Err(e) => UiError::from(e).page(&st, &c),
    }
}

pub(super) async fn remove(
    State(st): State<AppState>,
    Path(name): Path<String>,
    CsrfForm { c, user, form: _ }: CsrfForm<HashMap<String, String>>,
) -> Response {
    if user.role != Role::Admin {
        return error_page(&st, &c, StatusCode::FORBIDDEN, "管理者のみが利用できます。", "Admins only.");
    }
    match st.store.remove_watchlist(&name, Some(user.id)).await {
        Ok(true) => Redirect::to(&format!("/watchlists?removed={}", urlencode(&name))).into_response(),
        Ok(false) => error_page(&st, &c, StatusCode::NOT_FOUND, "見つかりません。", "Not found."),
        Err(e) => UiError::from(e).page(&st, &c),
    }
}
