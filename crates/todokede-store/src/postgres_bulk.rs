//! PostgreSQL's bulk path for generated reports (the scale benchmark): each table written
//! with one multi-row statement per batch — `INSERT … SELECT FROM unnest($1::…[], …)`, the
//! columns bound as arrays — instead of a statement (and a round trip) per row. The row-by-row
//! path (`sql/intake.rs`, which SQLite keeps: its statements cost no round trip) loaded about
//! 110,000 reports before it became impractical.

use super::rows::{put_blob, reversed_domain};
use super::{PgStore, dialect::ts};
use crate::{StoreError, codec, model::*};
use sqlx::Row as _;
use todokede_domain::*;

impl PgStore {
    /// As `bulk_load` (one transaction; the ids in order), with a statement per table.
    /// One report takes the row-by-row path (as the analysis job writes it).
    pub(crate) async fn bulk_load_unnest(&self, reports: &[BulkReport]) -> Result<Vec<ReportId>, StoreError> {
        if reports.len() <= 1 {
            return self.bulk_load(reports).await;
        }
        let raw = b"{}";
        let raw_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(raw));
        let mut tx = self.begin_write().await?;
        put_blob(&mut tx, &raw_sha, raw).await?;
        let tracking: Vec<String> =
            reports.iter().map(|_| TrackingNumber::generate().as_compact().to_string()).collect();
        let received: Vec<time::OffsetDateTime> = reports.iter().map(|r| ts(r.received_at)).collect();
        let kinds: Vec<Option<String>> = reports.iter().map(|r| r.reporter_kind.map(|k| k.key().to_owned())).collect();
        let descriptions: Vec<&str> = reports.iter().map(|r| r.description.as_str()).collect();
        let contents: Vec<String> = reports
            .iter()
            .map(|r| {
                codec::encode_content(&ReportContent::new(
                    ReportForm::UnauthorizedAccess,
                    Language::Ja,
                    r.description.clone(),
                ))
            })
            .collect();
        let rows = sqlx::query(
            "INSERT INTO reports (tracking_number, secret_hash, form, channel, language, state, received_at, reporter_kind, discovered_on, damage_status, description, content_json, raw_sha256, raw_content_type, intake_notes)
             SELECT t.tn, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea, 'unauthorized_access', 'import', 'ja', 'received', t.at, t.kind, NULL, 'unknown', t.description, t.content, $6, 'application/json', '[]'
             FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS t(tn, at, kind, description, content, n)
             ORDER BY t.n
             RETURNING id, tracking_number",
        )
        .bind(&tracking)
        .bind(&received)
        .bind(&kinds)
        .bind(&descriptions)
        .bind(&contents)
        .bind(&raw_sha)
        .fetch_all(&mut *tx)
        .await?;
        let by_number: std::collections::HashMap<String, i64> = rows
            .iter()
            .map(|r| Ok((r.try_get::<String, _>(1)?, r.try_get::<i64, _>(0)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let ids: Vec<i64> = tracking.iter().map(|t| by_number[t]).collect();

        // Indicators (the primary key drops a value repeated in one report, as row by row).
        let (mut ind_report, mut ind_kind, mut ind_value, mut ind_common, mut ind_ipv4, mut ind_rev) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        // Signatures and their LSH band keys.
        let (mut sig_report, mut sig_part, mut sig_bytes) = (vec![], vec![], vec![]);
        let (mut band_key, mut band_report, mut band_part) = (vec![], vec![], vec![]);
        let (mut cl_report, mut cl_cluster, mut cl_similarity) = (vec![], vec![], vec![]);
        let (mut facet_report, mut facet) = (vec![], vec![]);
        let (mut doc_report, mut doc_body) = (vec![], vec![]);
        for (r, &id) in reports.iter().zip(&ids) {
            let ix = &r.index;
            for i in &ix.indicators {
                ind_report.push(id);
                ind_kind.push(i.kind.as_str());
                ind_value.push(i.value.as_str());
                ind_common.push(i.common as i64);
                ind_ipv4.push(if i.kind == "ipv4" {
                    i.value.parse::<std::net::Ipv4Addr>().ok().map(|a| u32::from(a) as i64)
                } else {
                    None
                });
                ind_rev.push((i.kind == "domain").then(|| reversed_domain(&i.value)));
            }
            for (part, sig, bands) in &ix.signatures {
                sig_report.push(id);
                sig_part.push(*part);
                sig_bytes.push(sig.clone());
                let mut seen = std::collections::HashSet::new();
                for b in bands.iter().filter(|b| seen.insert(**b)) {
                    band_key.push(*b);
                    band_report.push(id);
                    band_part.push(*part);
                }
            }
            let (cluster, similarity) = ix.cluster.filter(|(c, _)| c.0 != 0).unwrap_or((ReportId(id), 1.0));
            cl_report.push(id);
            cl_cluster.push(cluster.0);
            cl_similarity.push(similarity);
            for f in &ix.facets {
                facet_report.push(id);
                facet.push(f.as_str());
            }
            doc_report.push(id);
            doc_body.push(ix.search_body.as_str());
        }
        sqlx::query(
            "INSERT INTO report_indicators (report_id, kind, value, common, ipv4, rev_domain)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])
             ON CONFLICT (report_id, kind, value) DO NOTHING",
        )
        .bind(&ind_report)
        .bind(&ind_kind)
        .bind(&ind_value)
        .bind(&ind_common)
        .bind(&ind_ipv4)
        .bind(&ind_rev)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO text_signatures (report_id, part, signature) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])",
        )
        .bind(&sig_report)
        .bind(&sig_part)
        .bind(&sig_bytes)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO lsh_bands (band_key, report_id, part) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) ON CONFLICT DO NOTHING",
        )
        .bind(&band_key)
        .bind(&band_report)
        .bind(&band_part)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO report_clusters (report_id, cluster_id, similarity) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[])",
        )
        .bind(&cl_report)
        .bind(&cl_cluster)
        .bind(&cl_similarity)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO report_facets (report_id, facet) SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(&facet_report)
        .bind(&facet)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO search_docs (report_id, body) SELECT * FROM unnest($1::bigint[], $2::text[])")
            .bind(&doc_report)
            .bind(&doc_body)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ids.into_iter().map(ReportId).collect())
    }
}
