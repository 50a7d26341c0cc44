/**
 * Open-file limits for the fleet bench: thousands of fake devices each hold
 * a socket, and so does the service for each of them. Node cannot raise its
 * own limit, so every child the bench starts runs under a shell that raises
 * its soft limit to the hard one first, then `exec`s Node (same pid).
 */
import { execFileSync } from "node:child_process"

/** Used when the hard limit is "unlimited" (the kernel's usual nr_open). */
const UNLIMITED_FALLBACK = 1_048_576

const RAISE = `h=$(ulimit -Hn); [ "$h" = unlimited ] && h=${UNLIMITED_FALLBACK}; ulimit -n "$h" 2>/dev/null; exec "$0" "$@"`

/** This machine's open-file limits, as a shell started now has them. */
export function fdLimits(): { soft: number; hard: number } {
    const [soft, hard] = execFileSync(
        "/bin/sh",
        ["-c", "ulimit -Sn; ulimit -Hn"],
        { encoding: "utf8" }
    )
        .trim()
        .split("\n")
        .map(v => (v === "unlimited" ? UNLIMITED_FALLBACK : Number(v)))
    return { soft, hard }
}

/** `spawn` arguments that run `node ...nodeArgs` with the raised limit. */
export function withRaisedLimit(nodeArgs: string[]): [string, string[]] {
    return ["/bin/sh", ["-c", RAISE, process.execPath, ...nodeArgs]]
}

/** `fork` options that run the module with the raised limit (and tsx). */
export function forkWithRaisedLimit(): {
    execPath: string
    execArgv: string[]
} {
    return {
        execPath: "/bin/sh",
        execArgv: ["-c", RAISE, process.execPath, "--import", "tsx"],
    }
}
