//! The web UI, server-rendered (minijinja, autoescaped): the public report forms, the
//! reporter's page, and the analysts' workspace. Japanese by default, English by `?lang=en`
//! (remembered in a cookie). JavaScript only enhances (static/app.js, our one script: a reply
//! template goes in at the cursor); every form works without it.
//!
//! Security: sessions are server-side (only the token's SHA-256 is stored), issued fresh at
//! every login (no fixation); every state-changing form carries the session's CSRF token and
//! every POST must come from our own origin; CSP allows no script but our own file (nothing
//! inline), no framing and no foreign forms; attachments are served only as downloads.

use crate::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine as _;
use minijinja::{Environment, Value, context};
use rand::RngCore as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use todokede_app::accounts;
use todokede_domain::*;
use todokede_store::{ReportFilter, Role, Session, SessionSubject, WatchlistKind};

const SESSION_COOKIE: &str = "todokede_session";
const ANALYST_SESSION: time::Duration = time::Duration::hours(8);
const REPORTER_SESSION: time::Duration = time::Duration::minutes(30);
const HTML_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, src) in [
        ("base.html", include_str!("../templates/base.html")),
        ("index.html", include_str!("../templates/index.html")),
        ("report_form.html", include_str!("../templates/report_form.html")),
        ("submitted.html", include_str!("../templates/submitted.html")),
        ("reporter_login.html", include_str!("../templates/reporter_login.html")),
        ("reporter.html", include_str!("../templates/reporter.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("queue.html", include_str!("../templates/queue.html")),
        ("report.html", include_str!("../templates/report.html")),
        ("audit.html", include_str!("../templates/audit.html")),
        ("stats.html", include_str!("../templates/stats.html")),
        ("period_error.html", include_str!("../templates/period_error.html")),
        ("search.html", include_str!("../templates/search.html")),
        ("clusters.html", include_str!("../templates/clusters.html")),
        ("publication.html", include_str!("../templates/publication.html")),
        ("error.html", include_str!("../templates/error.html")),
        ("users.html", include_str!("../templates/users.html")),
        ("settings.html", include_str!("../templates/settings.html")),
        ("mail.html", include_str!("../templates/mail.html")),
        ("account.html", include_str!("../templates/account.html")),
        ("password.html", include_str!("../templates/password.html")),
        ("reply_templates.html", include_str!("../templates/reply_templates.html")),
        ("watchlists.html", include_str!("../templates/watchlists.html")),
    ] {
        env.add_template(name, src).expect("template");
    }
    // t("日本語", "English"): the language of the page picks one.
    env.add_function("t", |state: &minijinja::State, ja: String, en: String| -> String {
        if state.lookup("lang").and_then(|l| l.as_str().map(|s| s == "en")).unwrap_or(false) { en } else { ja }
    });
    // An absent value (`none`, e.g. an Option that is None) renders as nothing, never as the
    // text "none" that a form would send back as the reporter's data.
    env.set_formatter(|out, state, value| {
        if value.is_none() || value.is_undefined() { Ok(()) } else { minijinja::escape_formatter(out, state, value) }
    });
    env
}

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/", get(forms::index))
        .route(
            "/static/app.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../static/app.css")) }),
        )
        .route("/report/new", get(forms::report_form).post(forms::submit_form))
        .route("/report/received", post(forms::acknowledgement_in_language))
        .route("/r/{tracking_number}/{secret}", get(reporter::secret_link))
        .route("/reporter/login", get(reporter::reporter_login_page).post(reporter::reporter_login))
        .route("/reporter", get(reporter::reporter_page))
        .route("/reporter/{tracking_number}", get(reporter::reporter_number_link))
        .route("/reporter/follow-up", post(reporter::reporter_follow_up))
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/queue", get(queue::queue))
        .route("/queue.csv", get(queue::queue_csv))
        .route("/queue/bulk", post(queue::bulk))
        .route("/queue/filters", post(queue::save_filter))
        .route("/queue/filters/{id}/delete", post(queue::delete_filter))
        .route("/reports/{tracking_number}", get(report_page::report_page))
        .route("/reports/{tracking_number}/attachments/{sha256}", get(report_page::download))
        .route("/reports/{tracking_number}/state", post(actions::change_state))
        .route("/reports/{tracking_number}/reply", post(actions::reply))
        .route("/reports/{tracking_number}/note", post(actions::note))
        .route("/reports/{tracking_number}/assign", post(actions::assign))
        .route("/reports/{tracking_number}/link", post(actions::link))
        .route("/reports/{tracking_number}/reply-template", get(report_page::reply_template_text))
        .route("/reports/{tracking_number}/classify", post(actions::classify))
        .route("/reports/{tracking_number}/share", post(actions::share))
        .route("/search", get(crossref_pages::search_page))
        .route("/search.csv", get(crossref_pages::search_csv))
        .route("/watchlists", get(watchlists::lists_page).post(watchlists::import_upload))
        .route("/watchlists/{name}", get(watchlists::list_page))
        .route("/watchlists/{name}/delete", post(watchlists::remove))
        .route("/clusters", get(crossref_pages::clusters_page))
        .route("/clusters/{tracking_number}", get(crossref_pages::cluster_page))
        .route("/stats", get(stats_pages::stats_page))
        .route("/stats.csv", get(stats_pages::stats_csv))
        .route("/publication", get(stats_pages::publication_page))
        .route("/publication/{period}/draft", post(publication_pages::publication_draft))
        .route("/publication/{period}/edit", post(publication_pages::publication_edit))
        .route("/publication/{period}/approve", post(publication_pages::publication_approve))
        .route("/publication/{period}/{file}", get(publication_pages::publication_download))
        .route("/admin/audit", get(admin::audit))
        .route("/admin/mail", get(admin::mail_page))
        .route("/admin/mail/{id}/retry", post(admin::mail_retry))
        .route("/admin/users", get(admin::users_page).post(admin::create_user))
        .route("/admin/settings", get(admin::settings_page).post(admin::save_settings))
        .route("/admin/users/{id}/{action}", post(admin::user_action))
        .route("/admin/templates", get(admin::templates_page).post(admin::create_template))
        .route("/admin/templates/{id}", get(admin::template_page).post(admin::update_template))
        .route("/admin/templates/{id}/delete", post(admin::delete_template))
        .route("/account", get(login::account_page))
        .route("/account/totp", post(login::account_totp))
        .route("/account/password", get(login::password_page).post(login::change_password))
        .route("/account/tokens", post(login::account_token_create))
        .route("/account/tokens/{id}/revoke", post(login::account_token_revoke))
        .route(
            "/static/app.js",
            get(|| async {
                ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../static/app.js"))
            }),
        )
        .fallback(context::unknown_path)
        .layer(axum::middleware::from_fn_with_state(state.clone(), context::localize_errors))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .with_state(state)
}

mod actions;
mod admin;
mod context;
mod crossref_pages;
mod forms;
mod login;
mod publication_pages;
mod queue;
mod report_page;
mod reporter;
mod stats_pages;
mod watchlists;

use context::*;
pub use report_page::{infected_zip, suspected_malware};

#[cfg(test)]
mod tests {
    /// A page's title is words: the account page's once held the API-token card, CSRF token and
    /// all, so the tab, the bookmarks and the history showed raw HTML and a secret.
    #[test]
    fn every_page_title_is_plain_words() {
        let env = super::templates();
        for (name, _) in env.templates() {
            if name == "base.html" {
                continue;
            }
            for lang in ["ja", "en"] {
                let source = env.get_template(name).unwrap().source().to_owned();
                let Some((_, block)) = source.split_once("{% block title %}") else { continue };
                let block = block.split("{% endblock %}").next().unwrap();
                let title = env
                    .render_str(
                        block,
                        minijinja::context! {
                            lang, csrf => "SECRET", title => "T", form_label => "F", period => "2019H2",
                            r => minijinja::context! { tracking_number => "N" },
                            report => minijinja::context! { tracking_number => "N" },
                        },
                    )
                    .unwrap();
                assert!(!title.contains('<') && !title.contains("SECRET"), "{name} ({lang}): title {title:?}");
                assert!(title.chars().count() < 60, "{name} ({lang}): title {title:?}");
            }
        }
    }
}
