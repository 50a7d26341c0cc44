// Which of a device's fields get a chart: at most MAX_CHARTS_PER_DEVICE, the
// ones seen first (so a chart, once drawn, keeps its place); the page
// names the rest. A device that sends hundreds of fields cannot stall the
// page with hundreds of charts.

/** Charts drawn per device at most. */
export const MAX_CHARTS_PER_DEVICE = 16

/**
 * The fields of `points` (sorted by time) to chart and those left out, each
 * in the order they first appear.
 * @param {{values: Record<string, number>}[]} points
 * @param {number} [max]
 * @returns {{charted: string[], left: string[]}}
 */
export function chartedFields(points, max = MAX_CHARTS_PER_DEVICE) {
    const all = new Set()
    for (const p of points) for (const k of Object.keys(p.values)) all.add(k)
    const fields = /** @type {string[]} */ ([...all])
    return { charted: fields.slice(0, max), left: fields.slice(max) }
}
