-- liftlab: sufficient statistics of experiment call-script (snowflake)
-- m0 = deal_7d: any row of orders (filtered), days [0, 7)
-- m1 = revenue_14d: sum of orders.amount (filtered), days [0, 14), CUPED over the 30 days before, capped at quantile 0.99
-- m2 = connected_calls_7d: rows of calls (filtered), days [0, 7)
-- m3 = order_value: sum of orders.amount (filtered) / rows of orders (filtered), days [0, 30), CUPED over the 60 days before
-- m4 = wechat_replies_7d: rows of wechat (filtered), days [0, 7)
-- m5 = app_active_days_14d: count_distinct of app.event_date (filtered), days [0, 14), capped at 14
-- m6 = largest_order_30d: max of orders.amount (filtered), days [0, 30)
-- m7 = revenue_per_call: sum of orders.amount / rows of calls (filtered), days [1, 30)
-- m8 = refunded_30d: any row of orders (filtered), days [0, 30)
-- dim0 = channel
-- dim1 = city
WITH
-- exposures of experiment call-script
exposure_rows AS (
  SELECT
    x."phone" AS unit_id,
    CAST(x."variant" AS VARCHAR) AS variant,
    x."exposed_at" AS exposed_at,
    CAST(x."channel" AS VARCHAR) AS dim0,
    CAST(x."city" AS VARCHAR) AS dim1
  FROM "experiments"."exposure_log" AS x
  WHERE (x."experiment" = 'call-script')
    AND (x."phone" IS NOT NULL)
    AND (x."variant" IS NOT NULL)
    AND (x."exposed_at" IS NOT NULL)
),
-- each person's exposures in time order
ranked AS (
  SELECT
    r.unit_id AS unit_id,
    r.variant AS variant,
    r.exposed_at AS exposed_at,
    r.dim0 AS dim0,
    r.dim1 AS dim1,
    ROW_NUMBER() OVER (PARTITION BY r.unit_id ORDER BY r.exposed_at NULLS LAST, r.variant NULLS LAST, r.dim0 NULLS LAST, r.dim1 NULLS LAST) AS exposure_rank,
    MIN(r.variant) OVER (PARTITION BY r.unit_id) AS min_variant,
    MAX(r.variant) OVER (PARTITION BY r.unit_id) AS max_variant
  FROM exposure_rows AS r
),
-- one row per person: first exposure, and whether they saw several variants
persons AS (
  SELECT
    k.unit_id AS unit_id,
    k.variant AS variant,
    k.exposed_at AS exposed_at,
    k.dim0 AS dim0,
    k.dim1 AS dim1,
    CASE WHEN k.min_variant = k.max_variant THEN 0 ELSE 1 END AS mixed
  FROM ranked AS k
  WHERE (k.exposure_rank = 1)
),
-- persons exposed to one variant only
exposed AS (
  SELECT
    p.unit_id AS unit_id,
    p.variant AS variant,
    p.exposed_at AS exposed_at,
    CAST(p.exposed_at AS DATE) AS exposure_day,
    COALESCE(NULLIF(p.dim0, ''), '(missing)') AS dim0,
    COALESCE(NULLIF(p.dim1, ''), '(missing)') AS dim1
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
-- lead_id ids of the persons, through leads
ids_3 AS (
  SELECT DISTINCT
    h0."lead_id" AS id,
    e.unit_id AS unit_id
  FROM "crm"."leads" AS h0
  JOIN exposed AS e ON e.unit_id = h0."phone"
  WHERE (h0."lead_id" IS NOT NULL)
),
-- unionid ids of the persons, through wechat_bindings
ids_1 AS (
  SELECT DISTINCT
    h0."unionid" AS id,
    e.unit_id AS unit_id
  FROM "crm"."wechat_bindings" AS h0
  JOIN exposed AS e ON e.unit_id = h0."phone"
  WHERE (h0."unionid" IS NOT NULL)
),
-- device_id ids of the persons, through wechat_bindings, app_devices
ids_2 AS (
  SELECT DISTINCT
    h1."device_id" AS id,
    e.unit_id AS unit_id
  FROM "app"."devices" AS h1
  JOIN "crm"."wechat_bindings" AS h0 ON h0."unionid" = h1."unionid"
  JOIN exposed AS e ON e.unit_id = h0."phone"
  WHERE (h1."device_id" IS NOT NULL)
),
-- per person, from fact source orders
facts_0 AS (
  SELECT
    e.unit_id AS unit_id,
    MAX(CASE WHEN (f."ordered_at" >= e.exposed_at) AND (f."ordered_at" < DATEADD(SECOND, 604800, e.exposed_at)) AND (f."status" = 'paid') THEN 1 ELSE 0 END) AS m0_x,
    SUM(CASE WHEN (f."ordered_at" >= e.exposed_at) AND (f."ordered_at" < DATEADD(SECOND, 1209600, e.exposed_at)) AND (f."status" IN ('paid', 'shipped')) THEN CAST(f."amount" AS DOUBLE) END) AS m1_x,
    SUM(CASE WHEN (f."ordered_at" >= DATEADD(SECOND, -2592000, e.exposed_at)) AND (f."ordered_at" < e.exposed_at) AND (f."status" IN ('paid', 'shipped')) THEN CAST(f."amount" AS DOUBLE) END) AS m1_c,
    SUM(CASE WHEN (f."ordered_at" >= e.exposed_at) AND (f."status" = 'paid') THEN CAST(f."amount" AS DOUBLE) END) AS m3_x,
    COUNT(CASE WHEN (f."ordered_at" >= e.exposed_at) AND (f."status" = 'paid') THEN 1 END) AS m3_y,
    SUM(CASE WHEN (f."ordered_at" < e.exposed_at) AND (f."status" = 'paid') THEN CAST(f."amount" AS DOUBLE) END) AS m3_c,
    COUNT(CASE WHEN (f."ordered_at" < e.exposed_at) AND (f."status" = 'paid') THEN 1 END) AS m3_d,
    MAX(CASE WHEN (f."ordered_at" >= e.exposed_at) AND (f."status" <> 'it\'s \\ cancelled') THEN CAST(f."amount" AS DOUBLE) END) AS m6_x,
    SUM(CASE WHEN f."ordered_at" >= DATEADD(SECOND, 86400, e.exposed_at) THEN CAST(f."amount" AS DOUBLE) END) AS m7_x,
    MAX(CASE WHEN (f."ordered_at" >= e.exposed_at) AND (f."status" = 'refunded') THEN 1 ELSE 0 END) AS m8_x
  FROM "sales"."orders" AS f
  JOIN exposed AS e ON e.unit_id = f."phone"
  WHERE (f."ordered_at" >= DATEADD(SECOND, -5184000, e.exposed_at))
    AND (f."ordered_at" < DATEADD(SECOND, 2592000, e.exposed_at))
  GROUP BY e.unit_id
),
-- per person, from fact source calls (by lead_id)
facts_1 AS (
  SELECT
    e.unit_id AS unit_id,
    COUNT(CASE WHEN (f."called_at" < DATEADD(SECOND, 604800, e.exposed_at)) AND (f."connected" = TRUE) AND (f."duration_s" >= 20) THEN 1 END) AS m2_x,
    COUNT(CASE WHEN (f."called_at" >= DATEADD(SECOND, 86400, e.exposed_at)) AND (f."connected" IS NOT NULL) THEN 1 END) AS m7_y
  FROM "telephony"."calls" AS f
  JOIN ids_3 AS i ON i.id = f."lead_id"
  JOIN exposed AS e ON e.unit_id = i.unit_id
  WHERE (f."called_at" >= e.exposed_at)
    AND (f."called_at" < DATEADD(SECOND, 2592000, e.exposed_at))
  GROUP BY e.unit_id
),
-- per person, from fact source wechat (by unionid)
facts_2 AS (
  SELECT
    e.unit_id AS unit_id,
    COUNT(CASE WHEN f."direction" = 'in' THEN 1 END) AS m4_x
  FROM "wechat"."messages" AS f
  JOIN ids_1 AS i ON i.id = f."unionid"
  JOIN exposed AS e ON e.unit_id = i.unit_id
  WHERE (f."sent_at" >= e.exposed_at)
    AND (f."sent_at" < DATEADD(SECOND, 604800, e.exposed_at))
  GROUP BY e.unit_id
),
-- per person, from fact source app (by device_id)
facts_3 AS (
  SELECT
    e.unit_id AS unit_id,
    COUNT(DISTINCT CASE WHEN f."event" NOT IN ('background', 'push_received') THEN f."event_date" END) AS m5_x
  FROM "app"."events" AS f
  JOIN ids_2 AS i ON i.id = f."device_id"
  JOIN exposed AS e ON e.unit_id = i.unit_id
  WHERE (f."event_time" >= e.exposed_at)
    AND (f."event_time" < DATEADD(SECOND, 1209600, e.exposed_at))
  GROUP BY e.unit_id
),
-- per person: every metric's components, 0 without a matching fact
unit_values AS (
  SELECT
    e.unit_id AS unit_id,
    e.variant AS variant,
    e.exposure_day AS exposure_day,
    e.dim0 AS dim0,
    e.dim1 AS dim1,
    COALESCE(CAST(t0.m0_x AS DOUBLE), 0.0) AS m0_x,
    COALESCE(CAST(t0.m1_x AS DOUBLE), 0.0) AS m1_x,
    COALESCE(CAST(t0.m1_c AS DOUBLE), 0.0) AS m1_c,
    COALESCE(CAST(t1.m2_x AS DOUBLE), 0.0) AS m2_x,
    COALESCE(CAST(t0.m3_x AS DOUBLE), 0.0) AS m3_x,
    COALESCE(CAST(t0.m3_y AS DOUBLE), 0.0) AS m3_y,
    COALESCE(CAST(t0.m3_c AS DOUBLE), 0.0) AS m3_c,
    COALESCE(CAST(t0.m3_d AS DOUBLE), 0.0) AS m3_d,
    COALESCE(CAST(t2.m4_x AS DOUBLE), 0.0) AS m4_x,
    COALESCE(CAST(t3.m5_x AS DOUBLE), 0.0) AS m5_x,
    COALESCE(CAST(t0.m6_x AS DOUBLE), 0.0) AS m6_x,
    COALESCE(CAST(t0.m7_x AS DOUBLE), 0.0) AS m7_x,
    COALESCE(CAST(t1.m7_y AS DOUBLE), 0.0) AS m7_y,
    COALESCE(CAST(t0.m8_x AS DOUBLE), 0.0) AS m8_x
  FROM exposed AS e
  LEFT JOIN facts_0 AS t0 ON t0.unit_id = e.unit_id
  LEFT JOIN facts_1 AS t1 ON t1.unit_id = e.unit_id
  LEFT JOIN facts_2 AS t2 ON t2.unit_id = e.unit_id
  LEFT JOIN facts_3 AS t3 ON t3.unit_id = e.unit_id
),
-- quantile caps over every kept person (linear interpolation, as numpy)
caps AS (
  SELECT
    PERCENTILE_CONT(0.99) WITHIN GROUP (ORDER BY v.m1_x) AS m1_cap
  FROM unit_values AS v
),
-- values capped (a ratio's numerator)
capped AS (
  SELECT
    v.unit_id AS unit_id,
    v.variant AS variant,
    v.exposure_day AS exposure_day,
    v.dim0 AS dim0,
    v.dim1 AS dim1,
    v.m0_x AS m0_x,
    LEAST(v.m1_x, q.m1_cap) AS m1_x,
    v.m1_c AS m1_c,
    v.m2_x AS m2_x,
    v.m3_x AS m3_x,
    v.m3_y AS m3_y,
    v.m3_c AS m3_c,
    v.m3_d AS m3_d,
    v.m4_x AS m4_x,
    LEAST(v.m5_x, 14.0) AS m5_x,
    v.m6_x AS m6_x,
    v.m7_x AS m7_x,
    v.m7_y AS m7_y,
    v.m8_x AS m8_x
  FROM unit_values AS v
  CROSS JOIN caps AS q
),
-- the shifts: the values of the person with the smallest id, rounded
shifts AS (
  SELECT
    ROUND(v.m1_x) AS m1_shift_x,
    ROUND(v.m1_c) AS m1_shift_c,
    ROUND(v.m2_x) AS m2_shift_x,
    ROUND(v.m3_x) AS m3_shift_x,
    ROUND(v.m3_y) AS m3_shift_y,
    ROUND(v.m3_c) AS m3_shift_c,
    ROUND(v.m3_d) AS m3_shift_d,
    ROUND(v.m4_x) AS m4_shift_x,
    ROUND(v.m5_x) AS m5_shift_x,
    ROUND(v.m6_x) AS m6_shift_x,
    ROUND(v.m7_x) AS m7_shift_x,
    ROUND(v.m7_y) AS m7_shift_y
  FROM capped AS v
  ORDER BY v.unit_id
  LIMIT 1
),
-- values minus their shift
centered AS (
  SELECT
    v.variant AS variant,
    v.exposure_day AS exposure_day,
    v.dim0 AS dim0,
    v.dim1 AS dim1,
    v.m0_x AS m0_x,
    v.m1_x - s.m1_shift_x AS m1_x,
    v.m1_c - s.m1_shift_c AS m1_c,
    v.m2_x - s.m2_shift_x AS m2_x,
    v.m3_x - s.m3_shift_x AS m3_x,
    v.m3_y - s.m3_shift_y AS m3_y,
    v.m3_c - s.m3_shift_c AS m3_c,
    v.m3_d - s.m3_shift_d AS m3_d,
    v.m4_x - s.m4_shift_x AS m4_x,
    v.m5_x - s.m5_shift_x AS m5_x,
    v.m6_x - s.m6_shift_x AS m6_x,
    v.m7_x - s.m7_shift_x AS m7_x,
    v.m7_y - s.m7_shift_y AS m7_y,
    v.m8_x AS m8_x
  FROM capped AS v
  CROSS JOIN shifts AS s
)
SELECT
  c.variant AS variant,
  CAST(c.exposure_day AS VARCHAR) AS exposure_day,
  c.dim0 AS dim0,
  c.dim1 AS dim1,
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
  SUM(c.m3_x) AS m3_sum_x,
  SUM(c.m3_x * c.m3_x) AS m3_sum_x2,
  SUM(c.m3_x * c.m3_y) AS m3_sum_xy,
  SUM(c.m3_x * c.m3_c) AS m3_sum_xc,
  SUM(c.m3_x * c.m3_d) AS m3_sum_xd,
  SUM(c.m3_y) AS m3_sum_y,
  SUM(c.m3_y * c.m3_y) AS m3_sum_y2,
  SUM(c.m3_y * c.m3_c) AS m3_sum_yc,
  SUM(c.m3_y * c.m3_d) AS m3_sum_yd,
  SUM(c.m3_c) AS m3_sum_c,
  SUM(c.m3_c * c.m3_c) AS m3_sum_c2,
  SUM(c.m3_c * c.m3_d) AS m3_sum_cd,
  SUM(c.m3_d) AS m3_sum_d,
  SUM(c.m3_d * c.m3_d) AS m3_sum_d2,
  MAX(s.m3_shift_x) AS m3_shift_x,
  MAX(s.m3_shift_y) AS m3_shift_y,
  MAX(s.m3_shift_c) AS m3_shift_c,
  MAX(s.m3_shift_d) AS m3_shift_d,
  SUM(c.m4_x) AS m4_sum_x,
  SUM(c.m4_x * c.m4_x) AS m4_sum_x2,
  SUM((c.m4_x * c.m4_x) * c.m4_x) AS m4_sum_x3,
  MAX(s.m4_shift_x) AS m4_shift_x,
  SUM(c.m5_x) AS m5_sum_x,
  SUM(c.m5_x * c.m5_x) AS m5_sum_x2,
  SUM((c.m5_x * c.m5_x) * c.m5_x) AS m5_sum_x3,
  MAX(s.m5_shift_x) AS m5_shift_x,
  SUM(c.m6_x) AS m6_sum_x,
  SUM(c.m6_x * c.m6_x) AS m6_sum_x2,
  SUM((c.m6_x * c.m6_x) * c.m6_x) AS m6_sum_x3,
  MAX(s.m6_shift_x) AS m6_shift_x,
  SUM(c.m7_x) AS m7_sum_x,
  SUM(c.m7_x * c.m7_x) AS m7_sum_x2,
  SUM(c.m7_x * c.m7_y) AS m7_sum_xy,
  SUM(c.m7_y) AS m7_sum_y,
  SUM(c.m7_y * c.m7_y) AS m7_sum_y2,
  MAX(s.m7_shift_x) AS m7_shift_x,
  MAX(s.m7_shift_y) AS m7_shift_y,
  SUM(c.m8_x) AS m8_sum_x,
  SUM(c.m8_x * c.m8_x) AS m8_sum_x2,
  MAX(mx.multiple_exposures) AS multiple_exposures
FROM centered AS c
CROSS JOIN shifts AS s
CROSS JOIN caps AS q
CROSS JOIN multiple AS mx
GROUP BY GROUPING SETS ((c.variant, c.exposure_day), (c.variant, c.dim0), (c.variant, c.dim1))
ORDER BY variant, exposure_day, dim0, dim1
