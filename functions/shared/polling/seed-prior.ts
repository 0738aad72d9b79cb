/**
 * The seeds' figure for a model's duration: a log-normal around its typical duration
 * (186 s for kling v1.6, "~3 min 6 s" in the provider's docs). The poll schedule starts
 * from it and the remaining-time estimate falls back on it while the history is thin.
 */

/** Assumed spread of the seeds' duration (log-normal σ): 90 % of jobs within 0.56–1.78 × typical. */
export const SEED_LOG_SIGMA = 0.35;

/** Standard normal CDF (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
