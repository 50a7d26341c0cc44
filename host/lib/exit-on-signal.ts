/**
 * How the long-running command-line tools end: on Ctrl-C (SIGINT) or
 * SIGTERM they close what they opened, once, and exit with 0.
 */

/**
 * On SIGINT or SIGTERM: runs `close` (only for the first signal), then
 * exits with 0. Call it before the tool says it is up: a signal that
 * arrives before the handler is installed ends the process outright.
 */
export function exitOnSignal(close: () => Promise<void> | void): void {
    let closing = false
    const quit = async () => {
        if (closing) return
        closing = true
        await close()
        process.exit(0)
    }
    process.on("SIGINT", quit)
    process.on("SIGTERM", quit)
}
