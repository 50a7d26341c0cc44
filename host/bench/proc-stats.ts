/** CPU time and peak memory of a process, read from Linux's /proc. */
import { readFileSync } from "node:fs"

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100

/** User + system CPU seconds `pid` has used so far. */
export function cpuSeconds(pid: number): number {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // fields after "pid (comm) ": state is field 3, utime 14, stime 15
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_SECOND
}

/** Peak resident memory of `pid` so far (VmHWM), bytes. */
export function peakRssBytes(pid: number): number {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(
        readFileSync(`/proc/${pid}/status`, "utf8")
    )
    return m ? Number(m[1]) * 1024 : NaN
}

/**
 * Connection attempts this machine's kernel dropped so far because a
 * listening socket's accept queue was full (TcpExt ListenOverflows in
 * /proc/net/netstat; machine-wide). Undefined where it cannot be read.
 */
export function listenOverflows(): number | undefined {
    try {
        const lines = readFileSync("/proc/net/netstat", "utf8")
            .split("\n")
            .filter(l => l.startsWith("TcpExt:"))
        const names = lines[0].split(/\s+/)
        const values = lines[1].split(/\s+/)
        const v = Number(values[names.indexOf("ListenOverflows")])
        return Number.isFinite(v) ? v : undefined
    } catch {
        return undefined
    }
}
