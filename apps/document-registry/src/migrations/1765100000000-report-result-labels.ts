import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A DiagnosticReport carries the security labels of the Observations it lists in `result`: a
 * plain panel holding an HIV result is as sensitive as the result (it names it in `result`, and its
 * conclusion or presented form may repeat it).
 *
 * `result_ids` holds the Observation ids of a report's `result` (empty for observations), so an
 * observation indexed or relabelled later finds the reports that list it (GIN: `result_ids @> {id}`).
 * Backfilled from the stored resources; then every report's labels are unioned with the labels of
 * its indexed observations of the same institution (its own labels first, then each result's in
 * `result` order, one per system|code), as the indexer does from now on.
 */
export class ReportResultLabels1765100000000 implements MigrationInterface {
  name = 'ReportResultLabels1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE results ADD COLUMN result_ids text[] NOT NULL DEFAULT '{}'`);
    await q.query(`
      UPDATE results SET result_ids = ARRAY(
        SELECT substring(r.ref->>'reference' FROM '(?:^|/)Observation/([^/]+)$')
        FROM jsonb_array_elements(resource->'result') WITH ORDINALITY AS r(ref, n)
        WHERE r.ref->>'reference' ~ '(^|/)Observation/[^/]+$'
        ORDER BY r.n)
      WHERE resource_type = 'DiagnosticReport' AND jsonb_typeof(resource->'result') = 'array'`);
    await q.query(`CREATE INDEX results_result_ids ON results USING gin (result_ids)`);
    await q.query(`
      WITH candidates AS (
        SELECT c.report_id, c.label, min(c.pos) AS pos
        FROM (
          SELECT t.id AS report_id, e.label, e.n AS pos
          FROM results t CROSS JOIN LATERAL jsonb_array_elements(t.security_labels) WITH ORDINALITY AS e(label, n)
          WHERE t.resource_type = 'DiagnosticReport' AND cardinality(t.result_ids) > 0
          UNION ALL
          SELECT t.id, e.label, 1000000 * u.k + e.n
          FROM results t
          CROSS JOIN LATERAL unnest(t.result_ids) WITH ORDINALITY AS u(observation_id, k)
          JOIN results o ON o.id = u.observation_id AND o.resource_type = 'Observation'
            AND o.institution_id = t.institution_id
          CROSS JOIN LATERAL jsonb_array_elements(o.security_labels) WITH ORDINALITY AS e(label, n)
          WHERE t.resource_type = 'DiagnosticReport'
        ) c
        WHERE jsonb_typeof(c.label) = 'object'
        GROUP BY c.report_id, c.label
      ),
      firsts AS (
        SELECT DISTINCT ON (report_id, coalesce(label->>'system', ''), coalesce(label->>'code', ''))
          report_id, label, pos
        FROM candidates
        ORDER BY report_id, coalesce(label->>'system', ''), coalesce(label->>'code', ''), pos
      ),
      merged AS (
        SELECT report_id, jsonb_agg(label ORDER BY pos) AS labels FROM firsts GROUP BY report_id
      )
      UPDATE results t SET
        security_labels = m.labels,
        label_codes = ARRAY(
          SELECT DISTINCT btrim(l->>'code') COLLATE "C" FROM jsonb_array_elements(m.labels) l
          WHERE coalesce(btrim(l->>'code'), '') <> '' ORDER BY 1)
      FROM merged m
      WHERE t.id = m.report_id AND t.security_labels IS DISTINCT FROM m.labels`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Labels unioned in stay (a relabel with the rules recomputes them); the column goes.
    await q.query(`DROP INDEX IF EXISTS results_result_ids`);
    await q.query(`ALTER TABLE results DROP COLUMN IF EXISTS result_ids`);
  }
}
