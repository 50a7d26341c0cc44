/** Types of chart-fields.js (which fields the page charts), for the host's tests. */
export declare const MAX_CHARTS_PER_DEVICE: number
export declare function chartedFields(
    points: { values: Record<string, number> }[],
    max?: number
): { charted: string[]; left: string[] }
