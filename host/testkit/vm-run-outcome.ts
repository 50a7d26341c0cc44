/**
 * What a firmware test run in the VM adds to `npm test`'s tally: the counts
 * of its closing summary, and a failure when it ends without a clean one
 * (compile error, crash, out of heap, timeout). A shared VM group that
 * crashes fails the run even when its files pass one at a time afterwards:
 * on the device they share the heap, so the crash is the finding, and the
 * one-by-one runs only tell which file it comes from.
 */

/** Tests passed and failed, and a line for each failure. */
export interface Tally {
    passed: number
    failed: number
    failures: string[]
}

/** The `tests: N, pass: P, error: E` summary of a VM run. */
export interface VmSummary {
    pass: number
    error: number
}

/** Adds `more` to `tally`. */
export function addTally(tally: Tally, more: Tally) {
    tally.passed += more.passed
    tally.failed += more.failed
    tally.failures.push(...more.failures)
}

/**
 * Whether a run ended with a clean summary: there is one, and the exit code
 * is 0 or comes from the failed tests it counts.
 */
export function ranClean(code: number, summary: VmSummary | undefined) {
    return !!summary && (code === 0 || summary.error > 0)
}

/** The tally of one VM run of the file or group `name`. */
export function vmRunOutcome(
    name: string,
    code: number,
    summary: VmSummary | undefined
): Tally {
    const out: Tally = {
        passed: summary?.pass ?? 0,
        failed: summary?.error ?? 0,
        failures: summary?.error ? [name] : [],
    }
    if (!ranClean(code, summary)) {
        out.failed++
        out.failures.push(`${name} (exit ${code}, no clean summary)`)
    }
    return out
}

/** A file of a crashed group, run again alone, and its tally. */
export interface AloneRun {
    name: string
    outcome: Tally
}

/**
 * The tally of a shared group whose run ended without a clean summary,
 * given its files' runs one at a time afterwards: the group's crash is one
 * failure whatever they show, and their own results count besides (a file
 * that fails alone is named). `diagnosis` says what the one-by-one runs
 * found.
 */
export function crashedGroupOutcome(
    name: string,
    code: number,
    alone: AloneRun[]
): Tally & { diagnosis: string } {
    const failing = alone.filter(a => a.outcome.failed)
    const diagnosis = failing.length
        ? `failing alone too: ${failing.map(a => `${a.name} (${a.outcome.failed} failed)`).join(", ")}`
        : "each file passes alone: the crash comes from running them together (on the device they share the heap)"
    const out: Tally & { diagnosis: string } = {
        passed: 0,
        failed: 1,
        failures: [
            `${name} (exit ${code}, no clean summary; one by one: ${diagnosis})`,
        ],
        diagnosis,
    }
    for (const a of alone) addTally(out, a.outcome)
    return out
}
