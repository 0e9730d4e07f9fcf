//! A small SQL syntax tree and its printer. The compiler builds queries from these nodes, never
//! from strings: a user's name only ever reaches the text through [`Dialect::ident`] and a
//! user's value through [`Dialect::string`] or a number's `Display`. Names the compiler makes
//! itself (`exposed`, `m0_x`, `e`) are fixed ASCII words and are printed bare.

use super::dialect::{Dialect, Ty};
use crate::spec::catalog::Source;

/// An expression.
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    /// A column the compiler named, qualified or not (`e.unit_id`).
    Name(Option<String>, String),
    /// A user's column, quoted (`f."amount"`).
    Col(String, String),
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
    /// A binary operator from a fixed set (`=`, `<`, `+`, `AND`, ...).
    Op(Box<Expr>, &'static str, Box<Expr>),
    /// Conjunction of several conditions.
    And(Vec<Expr>),
    IsNull(Box<Expr>, bool),
    In(Box<Expr>, Vec<Expr>, bool),
    /// `CASE WHEN cond THEN then [ELSE other] END`.
    Case(Box<Expr>, Box<Expr>, Option<Box<Expr>>),
    /// A function from a fixed set (`SUM`, `MAX`, `COALESCE`, `LEAST`, ...).
    Call(&'static str, Vec<Expr>),
    CountDistinct(Box<Expr>),
    CountStar,
    Cast(Box<Expr>, Ty),
    AddSeconds(Box<Expr>, i64),
    /// The calendar date of a time.
    Date(Box<Expr>),
    /// Midnight of a validated `YYYY-MM-DD` date.
    Midnight(String),
    /// The exact quantile aggregate.
    Quantile(Box<Expr>, f64),
    /// BigQuery's window quantile over the whole table.
    QuantileWindow(Box<Expr>, f64),
    /// `f(args) OVER (PARTITION BY .. ORDER BY ..)`; order keys sort NULLs last.
    Window(Box<Expr>, Vec<Expr>, Vec<Expr>),
}

impl Expr {
    pub(crate) fn name(s: impl Into<String>) -> Expr {
        Expr::Name(None, s.into())
    }
    pub(crate) fn at(table: &str, s: impl Into<String>) -> Expr {
        Expr::Name(Some(table.to_string()), s.into())
    }
    pub(crate) fn col(table: &str, s: &str) -> Expr {
        Expr::Col(table.to_string(), s.to_string())
    }
    pub(crate) fn op(self, op: &'static str, other: Expr) -> Expr {
        Expr::Op(Box::new(self), op, Box::new(other))
    }
    pub(crate) fn call(f: &'static str, args: Vec<Expr>) -> Expr {
        Expr::Call(f, args)
    }
    pub(crate) fn cast(self, t: Ty) -> Expr {
        Expr::Cast(Box::new(self), t)
    }
    pub(crate) fn when(cond: Expr, then: Expr, other: Option<Expr>) -> Expr {
        Expr::Case(Box::new(cond), Box::new(then), other.map(Box::new))
    }

    pub(crate) fn render(&self, d: Dialect) -> String {
        match self {
            Expr::Name(None, n) => n.clone(),
            Expr::Name(Some(t), n) => format!("{t}.{n}"),
            Expr::Col(t, n) => format!("{t}.{}", d.ident(n)),
            Expr::Str(s) => d.string(s),
            Expr::Num(x) => {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    format!("{x:.1}")
                } else {
                    format!("{x}")
                }
            }
            Expr::Int(i) => i.to_string(),
            Expr::Bool(b) => (if *b { "TRUE" } else { "FALSE" }).to_string(),
            Expr::Op(a, op, b) => format!("{} {op} {}", a.render_operand(d), b.render_operand(d)),
            Expr::And(xs) => match xs.as_slice() {
                [] => "TRUE".to_string(),
                [one] => one.render(d),
                many => many.iter().map(|x| x.render_operand(d)).collect::<Vec<_>>().join(" AND "),
            },
            Expr::IsNull(x, neg) => format!("{} IS {}NULL", x.render_operand(d), if *neg { "NOT " } else { "" }),
            Expr::In(x, vs, neg) => format!(
                "{} {}IN ({})",
                x.render_operand(d),
                if *neg { "NOT " } else { "" },
                vs.iter().map(|v| v.render(d)).collect::<Vec<_>>().join(", ")
            ),
            Expr::Case(c, t, e) => match e {
                Some(e) => format!("CASE WHEN {} THEN {} ELSE {} END", c.render(d), t.render(d), e.render(d)),
                None => format!("CASE WHEN {} THEN {} END", c.render(d), t.render(d)),
            },
            Expr::Call(f, args) => format!("{f}({})", args.iter().map(|a| a.render(d)).collect::<Vec<_>>().join(", ")),
            Expr::CountDistinct(x) => format!("COUNT(DISTINCT {})", x.render(d)),
            Expr::CountStar => "COUNT(*)".to_string(),
            Expr::Cast(x, t) => format!("CAST({} AS {})", x.render(d), d.ty(*t)),
            Expr::AddSeconds(x, s) => d.add_seconds(&x.render(d), *s),
            Expr::Date(x) => d.date(&x.render(d)),
            Expr::Midnight(date) => d.midnight(date),
            Expr::Quantile(x, q) => d.quantile(&x.render(d), *q).unwrap_or_else(|| d.quantile_window(&x.render(d), *q)),
            Expr::QuantileWindow(x, q) => d.quantile_window(&x.render(d), *q),
            Expr::Window(f, part, order) => {
                let mut over = Vec::new();
                if !part.is_empty() {
                    over.push(format!(
                        "PARTITION BY {}",
                        part.iter().map(|p| p.render(d)).collect::<Vec<_>>().join(", ")
                    ));
                }
                if !order.is_empty() {
                    over.push(format!(
                        "ORDER BY {}",
                        order.iter().map(|o| format!("{} NULLS LAST", o.render(d))).collect::<Vec<_>>().join(", ")
                    ));
                }
                format!("{} OVER ({})", f.render(d), over.join(" "))
            }
        }
    }

    /// Parenthesised when it is itself an operation.
    fn render_operand(&self, d: Dialect) -> String {
        match self {
            Expr::Op(..) | Expr::And(..) | Expr::IsNull(..) | Expr::In(..) => format!("({})", self.render(d)),
            Expr::AddSeconds(_, s) if *s != 0 && !matches!(d, Dialect::Bigquery | Dialect::Snowflake) => {
                format!("({})", self.render(d))
            }
            _ => self.render(d),
        }
    }
}

/// What a `FROM` or `JOIN` reads.
#[derive(Clone, Debug)]
pub(crate) enum Relation {
    /// A catalogue source (table, user SQL or file).
    Source(Source),
    /// A CTE of this query.
    Cte(&'static str),
    /// A CTE with a computed name (`facts_0`).
    CteNamed(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JoinKind {
    Inner,
    Left,
    Cross,
}

#[derive(Clone, Debug)]
pub(crate) struct Join {
    pub kind: JoinKind,
    pub rel: Relation,
    pub alias: String,
    pub on: Vec<Expr>,
}

#[derive(Clone, Debug, Default)]
pub(crate) enum GroupBy {
    #[default]
    None,
    Keys(Vec<Expr>),
    Sets(Vec<Vec<Expr>>),
}

/// One `SELECT`.
#[derive(Clone, Debug)]
pub(crate) struct Select {
    pub distinct: bool,
    pub items: Vec<(Expr, Option<String>)>,
    pub from: (Relation, String),
    pub joins: Vec<Join>,
    pub filter: Vec<Expr>,
    pub group_by: GroupBy,
    pub order_by: Vec<Expr>,
    pub limit: Option<u64>,
}

impl Select {
    pub(crate) fn from(rel: Relation, alias: &str) -> Self {
        Select {
            distinct: false,
            items: Vec::new(),
            from: (rel, alias.to_string()),
            joins: Vec::new(),
            filter: Vec::new(),
            group_by: GroupBy::None,
            order_by: Vec::new(),
            limit: None,
        }
    }

    pub(crate) fn item(&mut self, e: Expr, alias: impl Into<String>) {
        self.items.push((e, Some(alias.into())));
    }

    /// A column passed through under its own name (aliased: ClickHouse would name a bare `e.x`
    /// `e.x`).
    pub(crate) fn pass(&mut self, e: Expr) {
        let alias = match &e {
            Expr::Name(_, n) | Expr::Col(_, n) => Some(n.clone()),
            _ => None,
        };
        self.items.push((e, alias));
    }

    pub(crate) fn join(&mut self, kind: JoinKind, rel: Relation, alias: &str, on: Vec<Expr>) {
        self.joins.push(Join { kind, rel, alias: alias.to_string(), on });
    }

    fn relation(rel: &Relation, d: Dialect, pad: &str) -> Result<String, String> {
        Ok(match rel {
            Relation::Cte(n) => (*n).to_string(),
            Relation::CteNamed(n) => n.clone(),
            Relation::Source(Source::Table(parts)) => parts.iter().map(|p| d.ident(p)).collect::<Vec<_>>().join("."),
            Relation::Source(Source::Path(p)) => d.file(p)?,
            Relation::Source(Source::Sql(q)) => {
                let body: Vec<String> = q.lines().map(|l| format!("{pad}    {l}")).collect();
                format!("(\n{}\n{pad}  )", body.join("\n"))
            }
        })
    }

    /// The statement, each clause on its own line, indented by `pad`.
    pub(crate) fn render(&self, d: Dialect, pad: &str) -> Result<String, String> {
        let mut out = Vec::new();
        let items: Vec<String> = self
            .items
            .iter()
            .map(|(e, a)| match a {
                Some(a) => format!("{pad}  {} AS {a}", e.render(d)),
                None => format!("{pad}  {}", e.render(d)),
            })
            .collect();
        out.push(format!("{pad}SELECT{}\n{}", if self.distinct { " DISTINCT" } else { "" }, items.join(",\n")));
        out.push(format!("{pad}FROM {} AS {}", Self::relation(&self.from.0, d, pad)?, self.from.1));
        for j in &self.joins {
            let kw = match j.kind {
                JoinKind::Inner => "JOIN",
                JoinKind::Left => "LEFT JOIN",
                JoinKind::Cross => "CROSS JOIN",
            };
            let on = if j.on.is_empty() { String::new() } else { format!(" ON {}", Expr::And(j.on.clone()).render(d)) };
            out.push(format!("{pad}{kw} {} AS {}{on}", Self::relation(&j.rel, d, pad)?, j.alias));
        }
        if !self.filter.is_empty() {
            let conds: Vec<String> = self.filter.iter().map(|c| c.render_operand(d)).collect();
            out.push(format!("{pad}WHERE {}", conds.join(&format!("\n{pad}  AND "))));
        }
        let list = |xs: &[Expr]| xs.iter().map(|x| x.render(d)).collect::<Vec<_>>().join(", ");
        match &self.group_by {
            GroupBy::None => {}
            GroupBy::Keys(k) => out.push(format!("{pad}GROUP BY {}", list(k))),
            GroupBy::Sets(sets) => {
                let sets: Vec<String> = sets.iter().map(|s| format!("({})", list(s))).collect();
                out.push(format!("{pad}GROUP BY GROUPING SETS ({})", sets.join(", ")));
            }
        }
        if !self.order_by.is_empty() {
            out.push(format!("{pad}ORDER BY {}", list(&self.order_by)));
        }
        if let Some(n) = self.limit {
            out.push(format!("{pad}LIMIT {n}"));
        }
        Ok(out.join("\n"))
    }
}

/// `WITH` common table expressions, then the final `SELECT`.
#[derive(Clone, Debug)]
pub(crate) struct Query {
    /// Name, a one-line comment, the statement.
    pub ctes: Vec<(String, String, Select)>,
    pub body: Select,
}

impl Query {
    pub(crate) fn render(&self, d: Dialect) -> Result<String, String> {
        let mut s = String::new();
        if !self.ctes.is_empty() {
            s.push_str("WITH\n");
            let parts = self
                .ctes
                .iter()
                .map(|(name, comment, sel)| Ok(format!("-- {comment}\n{name} AS (\n{}\n)", sel.render(d, "  ")?)))
                .collect::<Result<Vec<_>, String>>()?;
            s.push_str(&parts.join(",\n"));
            s.push('\n');
        }
        s.push_str(&self.body.render(d, "")?);
        if let Some(settings) = d.settings() {
            s.push('\n');
            s.push_str(settings);
        }
        s.push('\n');
        Ok(s)
    }
}
