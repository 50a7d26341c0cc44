/** Messages between `npm run bench -- fleet` and its device processes. */

/** One fake device as the parent hands it to a device process. */
export interface BenchDevice {
    id: string
    connectionString: string
    /** The loopback address it connects from (one per device, as in a real fleet). */
    localAddress: string
}

/** Parent to device process. */
export type ParentCommand =
    | { type: "init"; devices: BenchDevice[]; program: string }
    /** First connections spread evenly over `spreadMs` (0: all at once). */
    | { type: "start"; spreadMs: number }
    /** Every device drops its connection and connects again now. */
    | { type: "reconnect-all" }
    | { type: "stop" }

/**
 * A check-in: from the device opening its TCP connection to the service's
 * answer to the PingCloud the device sends right after its hash answer
 * (the service answers in order, so after it has decided on the hash; a
 * wait for a deploy slot, and the deploy, come after). Reported when the
 * connection ends.
 */
export interface CheckIn {
    /** When the device started connecting (ms since the epoch). */
    start: number
    ms: number
    /** Of `ms`, until the service had proved the device's key (TCP, upgrade, hello, auth). */
    authMs: number
    /** Whether the service started a deploy on this connection. */
    deployed: boolean
}

/** Device process to parent, every 500 ms: what happened since the last one. */
export interface ChildReport {
    type: "report"
    checkIns: CheckIn[]
    /** Times devices proved their key (ms since the epoch). */
    auths: number[]
    /** Times devices answered the verification after a complete deploy. */
    updated: number[]
    /** How long each of those deploys took, DeployStart to the verification (ms). */
    deployMs: number[]
    /** Connections that ended before authentication. */
    failedConnects: number
    /** Those, by reason. */
    failures: Record<string, number>
    /** The process's own event loop delay over the window, 99th percentile (ms). */
    loopDelayMs: number
}
