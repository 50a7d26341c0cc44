/**
 * Nearest-rank percentile of `values` (`p` in 0..100): the smallest value
 * that at least p % of the values do not exceed; NaN when there are none.
 */
export function percentile(values: readonly number[], p: number): number {
    if (!values.length) return NaN
    const sorted = [...values].sort((a, b) => a - b)
    const rank = Math.ceil(
        (Math.min(100, Math.max(0, p)) / 100) * sorted.length
    )
    return sorted[Math.max(0, rank - 1)]
}
