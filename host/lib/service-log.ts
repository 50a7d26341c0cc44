/**
 * Logging of the long-running tools (`fleet serve`, `npm run platform`).
 * Their output is often a pipe (`| tee`, a supervisor): when its reader goes
 * away, writes fail with EPIPE. The log then drops its lines and the service
 * goes on; without that, the error raised by a write reached the last-resort
 * handler, which logged it, which raised again: a loop at 100 % CPU.
 * Lines carry text from peers (device ids, error strings): each is written
 * terminal-safe, one line per call (see terminal-text.ts).
 */
import { terminalSafe } from "./terminal-text.ts"

/** A log line with a timestamp to `stream`, dropped once the stream has failed. */
export function serviceLog(
    stream: NodeJS.WriteStream = process.stdout
): (line: string) => void {
    let failed = false
    stream.on("error", () => {
        failed = true
    })
    return line => {
        if (failed || stream.destroyed) return
        stream.write(`${new Date().toISOString()} ${terminalSafe(line)}\n`)
    }
}

/**
 * The last resort of a service: an unexpected error or rejection is logged
 * and the service goes on serving. A broken pipe is not logged: logging
 * is what raised it.
 */
export function keepServing(log: (line: string) => void): void {
    process.on("uncaughtException", e => {
        if ((e as NodeJS.ErrnoException).code === "EPIPE") return
        log(`unexpected error (still serving): ${e.stack ?? e}`)
    })
    process.on("unhandledRejection", e =>
        log(`unexpected rejection (still serving): ${(e as Error)?.stack ?? e}`)
    )
}
