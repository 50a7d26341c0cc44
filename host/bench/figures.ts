/** A benchmark figure as printed by `npm run bench`. */
export interface Figure {
    name: string
    value: number
    unit: string
    /** What the figure means, one short phrase. */
    about: string
}

/** Reads `BENCH <name> <value> <unit>` lines printed by a device program. */
export function parseBenchLines(lines: readonly string[]) {
    const out = new Map<string, { value: number; unit: string }>()
    for (const line of lines) {
        const m = /^BENCH (\S+) (-?[\d.]+) (\S+)$/.exec(line)
        if (m) out.set(m[1], { value: +m[2], unit: m[3] })
    }
    return out
}

/** Prints figures as an aligned table. */
export function printFigures(title: string, figures: Figure[]) {
    console.log(`\n${title}`)
    const w = Math.max(...figures.map(f => f.name.length))
    for (const f of figures)
        console.log(
            `  ${f.name.padEnd(w)}  ${String(f.value).padStart(9)} ${f.unit.padEnd(6)} ${f.about}`
        )
}
