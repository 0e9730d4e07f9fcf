-- liftlab: sufficient statistics of experiment sms-reminder (spark)
-- m0 = deal_7d: any row of orders (filtered), days [0, 7)
-- m1 = revenue_14d: sum of orders.amount (filtered), days [0, 14), CUPED over the 30 days before, capped at quantile 0.99
-- m2 = sms_clicks_3d: rows of sms, days [0, 3)
WITH
-- exposures of experiment sms-reminder
exposure_rows AS (
  SELECT
    x.`phone` AS unit_id,
    CAST(x.`variant` AS STRING) AS variant,
    x.`exposed_at` AS exposed_at
  FROM `experiments`.`exposure_log` AS x
  WHERE (x.`experiment` = 'sms-reminder')
    AND (x.`phone` IS NOT NULL)
    AND (x.`variant` IS NOT NULL)
    AND (x.`exposed_at` IS NOT NULL)
    AND (x.`exposed_at` >= TIMESTAMP '2025-03-01 00:00:00')
    AND (x.`exposed_at` < TIMESTAMP '2025-06-01 00:00:00')
),
-- one row per person: first exposure, and whether they saw several variants
persons AS (
  SELECT
    r.unit_id AS unit_id,
    MIN(r.variant) AS variant,
    MIN(r.exposed_at) AS exposed_at,
    CASE WHEN MIN(r.variant) = MAX(r.variant) THEN 0 ELSE 1 END AS mixed
  FROM exposure_rows AS r
  GROUP BY r.unit_id
),
-- persons exposed to one variant only
exposed AS (
  SELECT
    p.unit_id AS unit_id,
    p.variant AS variant,
    p.exposed_at AS exposed_at,
    CAST(p.exposed_at AS DATE) AS exposure_day
  FROM persons AS p
  WHERE (p.mixed = 0)
),
-- persons exposed to more than one variant: counted, then excluded
multiple AS (
  SELECT
    COUNT(*) AS multiple_exposures
  FROM persons AS p
  WHERE (p.mixed = 1)
),
-- per person, from fact source orders
facts_0 AS (
  SELECT
    e.unit_id AS unit_id,
    MAX(CASE WHEN (f.`ordered_at` >= e.exposed_at) AND (f.`ordered_at` < (e.exposed_at + INTERVAL 604800 SECONDS)) AND (f.`status` = 'paid') THEN 1 ELSE 0 END) AS m0_x,
    SUM(CASE WHEN (f.`ordered_at` >= e.exposed_at) AND (f.`status` IN ('paid', 'shipped')) THEN CAST(f.`amount` AS DOUBLE) END) AS m1_x,
    SUM(CASE WHEN (f.`ordered_at` < e.exposed_at) AND (f.`status` IN ('paid', 'shipped')) THEN CAST(f.`amount` AS DOUBLE) END) AS m1_c
  FROM `sales`.`orders` AS f
  JOIN exposed AS e ON e.unit_id = f.`phone`
  WHERE (f.`ordered_at` >= (e.exposed_at - INTERVAL 2592000 SECONDS))
    AND (f.`ordered_at` < (e.exposed_at + INTERVAL 1209600 SECONDS))
    AND (f.`ordered_at` >= (TIMESTAMP '2025-03-01 00:00:00' - INTERVAL 2592000 SECONDS))
    AND (f.`ordered_at` < TIMESTAMP '2025-06-01 00:00:00')
  GROUP BY e.unit_id
),
-- per person, from fact source sms
facts_4 AS (
  SELECT
    e.unit_id AS unit_id,
    COUNT(*) AS m2_x
  FROM (
      SELECT phone, clicked_at, campaign FROM sms.clicks WHERE campaign <> 'test'
    ) AS f
  JOIN exposed AS e ON e.unit_id = f.`phone`
  WHERE (f.`clicked_at` >= e.exposed_at)
    AND (f.`clicked_at` < (e.exposed_at + INTERVAL 259200 SECONDS))
    AND (f.`clicked_at` >= TIMESTAMP '2025-03-01 00:00:00')
    AND (f.`clicked_at` < TIMESTAMP '2025-06-01 00:00:00')
  GROUP BY e.unit_id
),
-- per person: every metric's components, 0 without a matching fact
unit_values AS (
  SELECT
    e.unit_id AS unit_id,
    e.variant AS variant,
    e.exposure_day AS exposure_day,
    COALESCE(CAST(t0.m0_x AS DOUBLE), 0.0) AS m0_x,
    COALESCE(CAST(t0.m1_x AS DOUBLE), 0.0) AS m1_x,
    COALESCE(CAST(t0.m1_c AS DOUBLE), 0.0) AS m1_c,
    COALESCE(CAST(t4.m2_x AS DOUBLE), 0.0) AS m2_x
  FROM exposed AS e
  LEFT JOIN facts_0 AS t0 ON t0.unit_id = e.unit_id
  LEFT JOIN facts_4 AS t4 ON t4.unit_id = e.unit_id
),
-- quantile caps over every kept person (linear interpolation, as numpy)
caps AS (
  SELECT
    PERCENTILE(v.m1_x, 0.99) AS m1_cap
  FROM unit_values AS v
),
-- values capped (a ratio's numerator)
capped AS (
  SELECT
    v.unit_id AS unit_id,
    v.variant AS variant,
    v.exposure_day AS exposure_day,
    v.m0_x AS m0_x,
    LEAST(v.m1_x, q.m1_cap) AS m1_x,
    v.m1_c AS m1_c,
    v.m2_x AS m2_x
  FROM unit_values AS v
  CROSS JOIN caps AS q
),
-- the shifts: the values of the person with the smallest id, rounded
shifts AS (
  SELECT
    ROUND(v.m1_x) AS m1_shift_x,
    ROUND(v.m1_c) AS m1_shift_c,
    ROUND(v.m2_x) AS m2_shift_x
  FROM capped AS v
  ORDER BY v.unit_id
  LIMIT 1
),
-- values minus their shift
centered AS (
  SELECT
    v.variant AS variant,
    v.exposure_day AS exposure_day,
    v.m0_x AS m0_x,
    v.m1_x - s.m1_shift_x AS m1_x,
    v.m1_c - s.m1_shift_c AS m1_c,
    v.m2_x - s.m2_shift_x AS m2_x
  FROM capped AS v
  CROSS JOIN shifts AS s
)
SELECT
  c.variant AS variant,
  CAST(c.exposure_day AS STRING) AS exposure_day,
  COUNT(*) AS n,
  SUM(c.m0_x) AS m0_sum_x,
  SUM(c.m0_x * c.m0_x) AS m0_sum_x2,
  SUM(c.m1_x) AS m1_sum_x,
  SUM(c.m1_x * c.m1_x) AS m1_sum_x2,
  SUM(c.m1_x * c.m1_c) AS m1_sum_xc,
  SUM(c.m1_c) AS m1_sum_c,
  SUM(c.m1_c * c.m1_c) AS m1_sum_c2,
  SUM((c.m1_x * c.m1_x) * c.m1_x) AS m1_sum_x3,
  MAX(s.m1_shift_x) AS m1_shift_x,
  MAX(s.m1_shift_c) AS m1_shift_c,
  MAX(q.m1_cap) AS m1_cap,
  SUM(c.m2_x) AS m2_sum_x,
  SUM(c.m2_x * c.m2_x) AS m2_sum_x2,
  SUM((c.m2_x * c.m2_x) * c.m2_x) AS m2_sum_x3,
  MAX(s.m2_shift_x) AS m2_shift_x,
  MAX(mx.multiple_exposures) AS multiple_exposures
FROM centered AS c
CROSS JOIN shifts AS s
CROSS JOIN caps AS q
CROSS JOIN multiple AS mx
GROUP BY c.variant, c.exposure_day
ORDER BY variant, exposure_day
