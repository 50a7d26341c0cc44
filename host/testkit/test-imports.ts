/**
 * Which test files start the DeviceScript simulator, read from the code:
 * a file does when its static imports (type-only imports aside), followed
 * through the repository's own modules, reach the simulator harness
 * (`host/sim/index.ts`). `npm test -- --fast` leaves those files out.
 */
import { existsSync, readFileSync, statSync } from "node:fs"
import { dirname, join, resolve } from "node:path"

/** The module whose importers start a simulator. */
export const SIMULATOR_ENTRY = join(import.meta.dirname, "../sim/index.ts")

/**
 * `import X, { … } from "./x"`, `import * as X from "./x"`, `export { … }
 * from "./x"`; group 1 is `type` in a type-only import.
 */
const RELATIVE_IMPORT =
    /(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*\{[^}]*\})?)\s+from\s+["'](\.{1,2}\/[^"']+)["']/g

/** The repository modules `file` imports for their values. */
export function localImports(file: string): string[] {
    const text = readFileSync(file, "utf8")
    const out: string[] = []
    for (const m of text.matchAll(RELATIVE_IMPORT)) {
        if (m[1]) continue
        const target = resolve(dirname(file), m[2])
        if (existsSync(target) && statSync(target).isFile()) out.push(target)
    }
    return out
}

/** Whether `file`'s imports, followed transitively, reach `target`. */
export function reaches(
    file: string,
    target: string,
    seen = new Set<string>()
): boolean {
    const abs = resolve(file)
    if (abs === target) return true
    if (seen.has(abs)) return false
    seen.add(abs)
    return localImports(abs).some(f => reaches(f, target, seen))
}

/** Whether the test file starts the simulator (directly or through helpers). */
export function startsSimulator(file: string): boolean {
    return reaches(file, SIMULATOR_ENTRY)
}
