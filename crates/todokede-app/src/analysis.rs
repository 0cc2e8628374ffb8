//! Running the text analysis over stored reports: the background worker of `serve` (jobs
//! enqueued at intake and on follow-ups) and `todokede reanalyse`.

use crate::AppError;
use std::time::Duration;
use todokede_analyse::record::{EvidenceFile, EvidenceKind};
use todokede_domain::ReportId;
use todokede_store::{JobKind, Store};

/// Attachments larger than this are not analysed as evidence in the background (a CLI run of
/// `todokede evidence` streams files of any size).
const MAX_EVIDENCE_BYTES: u64 = 256 << 20;

/// Analyse one stored report and save the result: its text, and attached logs as evidence.
pub async fn analyse_report(store: &Store, id: ReportId) -> Result<(), AppError> {
    let Some(report) = store.report(id).await? else { return Err(AppError::NotFound) };
    // All the reporter's words: the form's texts, follow-ups, text attachments (a ransom note).
    let texts = crate::crossref::texts_of(store, &report).await?;
    let text = texts.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("\n\n");
    let mut logs: Vec<(String, _, Vec<u8>)> = Vec::new();
    // The same log attached twice (with the report and again with a follow-up, or under two
    // names) is one piece of evidence: analysed once, its other names listed.
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut same_as: Vec<Vec<String>> = Vec::new();
    for a in report.all_attachments() {
        if a.size > MAX_EVIDENCE_BYTES {
            continue;
        }
        if let Some(&i) = seen.get(&a.sha256) {
            if logs[i].0 != a.filename && !same_as[i].contains(&a.filename) {
                same_as[i].push(a.filename.clone());
            }
            continue;
        }
        if let Some(bytes) = store.blob(&a.sha256).await?
            && let Some(kind) = todokede_analyse::evidence::detect(&bytes)
        {
            seen.insert(a.sha256.clone(), logs.len());
            logs.push((a.filename.clone(), kind, bytes));
            same_as.push(Vec::new());
        }
    }
    // The analysis is CPU work: keep it off the async workers.
    let record = tokio::task::spawn_blocking(move || {
        let mut record = todokede_analyse::analyse(&text).record();
        let files = logs
            .iter()
            .zip(same_as)
            .filter_map(|((name, kind, bytes), also)| {
                let (lines, unreadable, findings) = todokede_analyse::evidence::analyse(kind, &bytes[..])?;
                let mut file = EvidenceFile::new(name, EvidenceKind::parse(kind)?, lines, unreadable, &findings);
                file.also_attached_as = also;
                Some(file)
            })
            .collect();
        // What the logs show joins what the text says.
        record.add_evidence(files);
        record
    })
    .await
    .map_err(|e| AppError::Internal(format!("analysis panicked: {e}")))?;
    let primary = record.primary_cause();
    store.save_analysis(id, todokede_analyse::ANALYSER_VERSION, &record.to_json_string(), primary).await?;
    // Then across reports: correlation, clustering, trend facets, search.
    crate::crossref::index_report(store, id, &texts, &record).await?;
    Ok(())
}

/// The worker loop of `serve`: claim jobs for `lease` (a worker that dies leaves them to the
/// others when it ends), run them, record the outcome. Polls when idle. When
/// `stop` turns true it finishes the job it is running, gives the unstarted claimed ones back
/// (`Store::release_jobs`) and returns.
pub async fn run_worker(store: Store, lease: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let lease = time::Duration::try_from(lease).unwrap_or(time::Duration::minutes(5));
    while !*stop.borrow() {
        let jobs = match store.claim_jobs(16, lease).await {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim analysis jobs");
                pause(Duration::from_secs(2), &mut stop).await;
                continue;
            }
        };
        if jobs.is_empty() {
            pause(Duration::from_millis(200), &mut stop).await;
            continue;
        }
        let mut jobs = jobs.into_iter();
        for job in jobs.by_ref() {
            let outcome = match &job.kind {
                JobKind::Analyse => analyse_report(&store, job.report_id).await,
                JobKind::Unknown(other) => Err(AppError::Internal(format!("unknown job kind {other}"))),
            };
            let err = outcome.err().map(|e| e.to_string());
            if let Some(e) = &err {
                tracing::warn!(job = job.id, error = %e, "analysis job failed");
            }
            if let Err(e) = store.finish_job(job.id, err.as_deref()).await {
                tracing::warn!(job = job.id, error = %e, "cannot record job outcome");
            }
            if *stop.borrow() {
                break;
            }
        }
        let rest: Vec<i64> = jobs.map(|j| j.id).collect();
        if !rest.is_empty()
            && let Err(e) = store.release_jobs(&rest).await
        {
            tracing::warn!(error = %e, count = rest.len(), "claimed jobs not given back; they wait for the lease");
        }
    }
    tracing::info!("analysis worker stopped");
}

/// Sleep for `d`, or until `stop` turns true.
pub async fn pause(d: Duration, stop: &mut tokio::sync::watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}
