/**
 * Waiting on a condition in a test: polled until it holds, with a generous
 * bound so that a loaded machine only makes a test slower, never wrong.
 */
import assert from "node:assert/strict"

/** How `waitUntil` polls. */
export interface WaitOptions {
    /** Milliseconds between two looks at the condition (default 100). */
    pollMs?: number
    /** What to add to the failure, such as a device's last log lines. */
    detail?: () => string
}

/**
 * Polls `cond` until it holds; fails with `timed out after N ms waiting
 * for <what>` (and the options' `detail`) after `timeoutMs`.
 */
export async function waitUntil(
    cond: () => boolean | Promise<boolean>,
    timeoutMs: number,
    what: string,
    options: WaitOptions = {}
): Promise<void> {
    const end = Date.now() + timeoutMs
    while (!(await cond())) {
        if (Date.now() > end) {
            const detail = options.detail ? options.detail() : ""
            assert.fail(
                `timed out after ${timeoutMs} ms waiting for ${what}${detail}`
            )
        }
        await new Promise(r => setTimeout(r, options.pollMs ?? 100))
    }
}
