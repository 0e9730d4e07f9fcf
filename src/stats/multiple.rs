//! Multiple-comparison corrections across variants × metrics (× segments).
//!
//! - Holm (1979) step-down, controlling the family-wise error rate: with ascending p-values
//!   `p₍₁₎ ≤ … ≤ p₍ₘ₎`, `p̃₍ᵢ₎ = max_{j ≤ i} min(1, (m − j + 1) p₍ⱼ₎)`.
//! - Benjamini & Hochberg (1995) step-up, controlling the false-discovery rate:
//!   `p̃₍ᵢ₎ = min_{j ≥ i} min(1, m p₍ⱼ₎ / j)`.
//!
//! A hypothesis is rejected when its adjusted p-value is `<= alpha`. These are the adjusted
//! p-values of statsmodels' `multipletests(method="holm" | "fdr_bh")`. Tied p-values get equal
//! adjusted values whatever their order.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which correction to apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// No correction.
    None,
    /// Holm–Bonferroni (family-wise error rate).
    #[default]
    Holm,
    /// Benjamini–Hochberg (false-discovery rate).
    #[serde(alias = "bh", alias = "fdr_bh")]
    BenjaminiHochberg,
}

/// Adjusted p-values, in the input's order.
pub fn adjust_p_values(p_values: &[f64], method: Correction) -> Result<Vec<f64>> {
    if let Some(i) = p_values.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(Error::invalid(format!("p_values[{i}]"), format!("{} is not a probability", p_values[i])));
    }
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    // total order: by p, then by index (deterministic; ties are equalised below anyway)
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]).then(a.cmp(&b)));
    let mut adj = vec![0.0; m];
    match method {
        Correction::None => return Ok(p_values.to_vec()),
        Correction::Holm => {
            let mut running: f64 = 0.0;
            for (rank, &i) in order.iter().enumerate() {
                running = running.max(((m - rank) as f64 * p_values[i]).min(1.0));
                adj[i] = running;
            }
        }
        Correction::BenjaminiHochberg => {
            let mut running: f64 = 1.0;
            for (rank, &i) in order.iter().enumerate().rev() {
                running = running.min((m as f64 * p_values[i] / (rank + 1) as f64).min(1.0));
                adj[i] = running;
            }
        }
    }
    Ok(adj)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Holm's worked example (Holm 1979 as retold in Wikipedia, "Holm–Bonferroni method",
    /// example): p = 0.01, 0.04, 0.03, 0.005 at alpha 0.05 → rejects H1 and H4 only.
    #[test]
    fn holm_worked_example() {
        let adj = adjust_p_values(&[0.01, 0.04, 0.03, 0.005], Correction::Holm).unwrap();
        let reject: Vec<bool> = adj.iter().map(|p| *p <= 0.05).collect();
        assert_eq!(reject, [true, false, false, true]);
        // by hand: sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, max(0.06, 0.04) = 0.06
        let expect = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adj.iter().zip(expect) {
            assert!((a - e).abs() < 1e-15);
        }
    }

    #[test]
    fn ties_and_errors() {
        let adj = adjust_p_values(&[0.02, 0.01, 0.02], Correction::BenjaminiHochberg).unwrap();
        assert_eq!(adj[0], adj[2]);
        assert_eq!(adjust_p_values(&[0.1, f64::NAN], Correction::Holm).unwrap_err().field(), Some("p_values[1]"));
        assert_eq!(adjust_p_values(&[], Correction::Holm).unwrap(), Vec::<f64>::new());
    }
}
