import * as ds from "@devicescript/core"

/** What an operation bounded by {@link within} gave: its value, or what it threw. */
export interface Outcome<T> {
    value?: T
    error?: Error
}

/**
 * Runs `operation` in its own fiber and waits at most `timeoutMs` for it:
 * its outcome, or undefined when it did not finish in time (it may still
 * finish later; its result is then dropped).
 */
export async function within<T>(
    operation: () => Promise<T>,
    timeoutMs: number
): Promise<Outcome<T>> {
    const done = ds.emitter<Outcome<T>>()
    setTimeout(async () => {
        try {
            done.emit({ value: await operation() })
        } catch (e) {
            done.emit({ error: e as Error })
        }
    }, 0)
    return await ds.wait(done, timeoutMs)
}
