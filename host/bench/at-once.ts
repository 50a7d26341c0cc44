/**
 * How many of a set of intervals were open at once: the most at any
 * instant, and the mean over a span (the intervals' total length over the
 * span's, Little's law). An interval is `[start, end)`.
 */
export function atOnce(
    intervals: readonly (readonly [number, number])[],
    spanMs: number
): { most: number; mean: number } {
    const edges: [number, number][] = []
    let total = 0
    for (const [start, end] of intervals) {
        edges.push([start, 1], [end, -1])
        total += end - start
    }
    // at one instant an end comes before a start: [a, b) and [b, c) never overlap
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
    let open = 0
    let most = 0
    for (const [, d] of edges) most = Math.max(most, (open += d))
    return { most, mean: spanMs > 0 ? total / spanMs : NaN }
}
